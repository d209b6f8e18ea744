"""Domain errors and their one mapping to RFC 9457 ``application/problem+json``.

Services raise the errors defined here; :func:`service.problems.problem_handler` turns those,
Litestar's own HTTP errors, validation failures and database faults into a problem document.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One field at fault: where it is and what is wrong with it."""

    field: str
    detail: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """RFC 9457 problem details, as every error response carries them."""

    type: str
    title: str
    status: Annotated[int, msgspec.Meta(ge=100, le=599)]
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Base of every domain error; carries what the problem document needs."""

    status: int = 500
    title: str = "Internal server error"
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequestError(ProblemError):
    status, title, slug = 400, "Bad request", "bad-request"


class UnauthorizedError(ProblemError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class ForbiddenError(ProblemError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFoundError(ProblemError):
    status, title, slug = 404, "Not found", "not-found"


class ConflictError(ProblemError):
    status, title, slug = 409, "Conflict", "conflict"


class NotAcceptableError(ProblemError):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


class PreconditionFailedError(ProblemError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


def stale(what: str, version: int | None = None) -> PreconditionFailedError:
    """412 for a write whose If-Match no longer matches: the one wording, with the current ETag when known."""
    seen = f' (ETag "{version}")' if version is not None else ""
    return PreconditionFailedError(f"{what} has changed since you read it{seen}; GET it again and retry")


class PayloadTooLargeError(ProblemError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaTypeError(ProblemError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class InvalidInputError(ProblemError):
    """422: the request is well formed but its content breaks a rule."""

    status, title, slug = 422, "Invalid input", "invalid-input"

    def __init__(self, detail: str, *, field: str | None = None, **kwargs: Any) -> None:
        if field is not None and "errors" not in kwargs:
            kwargs["errors"] = [FieldError(field=field, detail=detail)]
        super().__init__(detail, **kwargs)


class RateLimitedError(ProblemError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailableError(ProblemError):
    status, title, slug = 503, "Service unavailable", "service-unavailable"


HTTP_TITLES = {
    400: ("Bad request", "bad-request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found", "not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    406: ("Not acceptable", "not-acceptable"),
    409: ("Conflict", "conflict"),
    412: ("Precondition failed", "precondition-failed"),
    413: ("Payload too large", "payload-too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
    422: ("Invalid input", "invalid-input"),
    429: ("Too many requests", "rate-limited"),
    500: ("Internal server error", "internal-error"),
    503: ("Service unavailable", "service-unavailable"),
}


def problem_type(slug: str) -> str:
    """The problem ``type`` URI: a relative reference, documented in the README."""
    return f"/problems/{slug}"


_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,  # 08xxx: ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: pg_terminate_backend, fast shutdown
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.InternalClientError,  # "cannot switch to state ...; another operation is in progress"
    OSError,  # ConnectionError and refused/reset/unreachable sockets while connecting
)
# InterfaceError is also raised for client-side mistakes (DataError: an argument does not fit
# its parameter); only these messages mean the connection is gone. When the server closes a
# connection a request holds, asyncpg returns it to the pool at once, so the request's next
# statement says "released back to the pool".
_LOST_INTERFACE = (
    "connection is closed",
    "connection was closed",
    "another operation is in progress",
    "released back to the pool",
)


def is_connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` means the database connection is gone or cannot be made."""
    if isinstance(exc, _CONNECTION_LOST):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, asyncpg.DataError):
        message = str(exc)
        return any(m in message for m in _LOST_INTERFACE)
    return False


def problem_response_spec(status: int, description: str) -> Any:
    """An OpenAPI ``ResponseSpec`` for a declared error status, with the problem schema."""
    from litestar.openapi.datastructures import ResponseSpec
    from litestar.openapi.spec import Example

    title, slug = HTTP_TITLES.get(status, ("Error", "error"))
    example: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": description,
        "instance": "/v1/...",
        "requestId": "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f",
    }
    if status == 422:
        example["errors"] = [{"field": "siteCode", "detail": "no site has code 'XYZ'"}]
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
        examples=[Example(summary=title, value=example)],
    )


_DESCRIPTIONS = {
    400: "Malformed request (for example a body that is not JSON).",
    401: "No API key, or the key is unknown, expired or revoked.",
    403: "The key lacks the scope, or the partner is not authorised for this record.",
    404: "No such record.",
    406: "The Accept header names no media type this operation answers in.",
    409: "The write conflicts with the current state.",
    412: "If-Match did not match the current ETag.",
    413: "The request body is too large.",
    415: "Unsupported Content-Type.",
    422: "The input did not validate; `errors` lists the fields at fault.",
    429: "Too many requests for this key; retry after the Retry-After seconds.",
    503: "The database is unavailable or the request timed out; retry.",
}


def responses(*statuses: int) -> dict[int, Any]:
    """Declare error responses for a handler, so they appear in the spec."""
    return {s: problem_response_spec(s, _DESCRIPTIONS[s]) for s in statuses}
