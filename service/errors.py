"""Domain errors and their one mapping to RFC 9457 ``application/problem+json``.

Services raise the errors defined here; :func:`problem_handler` turns those, Litestar's own
HTTP errors, validation failures and database faults into a problem document. A client never
sees a stack trace or a raw database message: unexpected errors become a generic 500 that
names the request id, and the details go to the log.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)

log = logging.getLogger("spread.errors")

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


_HTTP_TITLES = {
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


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    return request.scope.get("state", {}).get("request_id")


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _validation_errors(exc: ValidationException) -> tuple[str, list[FieldError]]:
    """Turn Litestar's validation ``extra`` into field errors, naming the deepest field we can."""
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        field = str(item.get("key") or item.get("source") or "body")
        source = item.get("source")
        if source == "query" and "_" in field:
            head, *rest = field.split("_")
            field = head + "".join(w.title() for w in rest)  # the wire name, e.g. evidenceLevel
        elif source == "header":
            field = "-".join(w.title() for w in field.split("_"))  # e.g. If-Match
        at = _AT_PATH.search(message)
        if at:
            message = message[: at.start()]
            if at.group(1):
                field = at.group(1)
        unknown = _UNKNOWN_FIELD.search(message)
        if unknown:
            prefix = f"{field}." if at and at.group(1) else ""
            field = prefix + unknown.group(1)
        errors.append(FieldError(field=field, detail=message))
    detail = "; ".join(f"{e.field}: {e.detail}" for e in errors) if errors else str(exc.detail)
    return detail, errors


def _malformed(exc: Exception) -> bool:
    return "malformed" in str(getattr(exc, "detail", "")).lower()


# What asyncpg raises when the connection under a request is lost (backend terminated,
# server restart or shutdown, network failure), or cannot be made. None of them is a bug in the
# request or in the service: they answer 503 with Retry-After, and the connection is dropped
# rather than returned to the pool (see service.db.acquire).
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


def to_problem(request: Request[Any, Any, Any], exc: Exception) -> tuple[Problem, dict[str, str], dict[str, Any]]:
    """Map any exception to a problem, its headers and extra members. The one mapping."""
    request_id = _request_id(request)
    instance = request.url.path
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}

    if isinstance(exc, ProblemError):
        problem = Problem(
            type=problem_type(exc.slug),
            title=exc.title,
            status=exc.status,
            detail=exc.detail,
            errors=exc.errors,
        )
        headers.update(exc.headers)
        extra.update(exc.extra)
        if exc.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="spread"')
    elif isinstance(exc, HTTPException) and exc.status_code == 400 and _malformed(exc):
        problem = Problem(
            type=problem_type("malformed-body"),
            title="Malformed request body",
            status=400,
            detail=f"The request body is not valid JSON ({exc.detail}). Check quoting, commas and brackets.",
        )
    elif isinstance(exc, ValidationException):
        if _malformed(exc):
            problem = Problem(
                type=problem_type("malformed-body"),
                title="Malformed request body",
                status=400,
                detail="The request body is not valid JSON. Check quoting, commas and brackets, "
                "and send it with Content-Type: application/json.",
            )
        else:
            detail, errors = _validation_errors(exc)
            problem = Problem(
                type=problem_type("invalid-input"),
                title="Invalid input",
                status=422,
                detail=detail or "The request did not validate.",
                errors=errors or None,
            )
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        title, slug = _HTTP_TITLES.get(status, ("Error", "error"))
        detail = str(exc.detail) if exc.detail else title
        if isinstance(exc, NotAuthorizedException):
            headers["WWW-Authenticate"] = 'Bearer realm="spread"'
        if isinstance(exc, PermissionDeniedException):
            status, title, slug = 403, "Forbidden", "forbidden"
        if status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        elif status == 404 and detail in ("Not Found", title):
            detail = f"Nothing is served at {request.url.path}. See /schema for the API reference."
        elif status == 413:
            detail = (
                "The request body is larger than this server accepts. Split it into smaller "
                "requests (see the limits in the API reference)."
            )
        if exc.headers:
            headers.update(exc.headers)
        problem = Problem(type=problem_type(slug), title=title, status=status, detail=detail)
    elif isinstance(exc, RecursionError):
        # msgspec (like json) refuses nesting past the interpreter's recursion limit; the
        # request is at fault, not the service. Nothing of ours recurses over request data.
        log.warning("nesting too deep: %r", exc, extra={"request_id": request_id})
        problem = Problem(
            type=problem_type("malformed-body"),
            title="Malformed request body",
            status=400,
            detail="The request body is nested too deeply. Flatten it: no field here needs more than a few levels.",
        )
    elif is_connection_lost(exc) or isinstance(exc, asyncpg.TooManyConnectionsError | TimeoutError):
        log.warning("database unavailable: %r", exc, extra={"request_id": request_id})
        headers["Retry-After"] = "2"
        problem = Problem(
            type=problem_type("service-unavailable"),
            title="Service unavailable",
            status=503,
            detail="The database is unavailable or busy. Retry shortly.",
        )
    elif isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError | asyncpg.LockNotAvailableError):
        # Deadlock or serialization failure between concurrent writers: nothing was written,
        # and the same request sent again succeeds (or meets the winner's result).
        log.warning("concurrent write lost: %r", exc, extra={"request_id": request_id})
        headers["Retry-After"] = "1"
        problem = Problem(
            type=problem_type("service-unavailable"),
            title="Service unavailable",
            status=503,
            detail="The request collided with a concurrent write and was rolled back; nothing was written. Retry it.",
        )
    elif isinstance(exc, asyncpg.QueryCanceledError):
        log.warning("statement timeout: %r", exc, extra={"request_id": request_id})
        headers["Retry-After"] = "5"
        problem = Problem(
            type=problem_type("service-unavailable"),
            title="Service unavailable",
            status=503,
            detail="The request took longer than the server allows. Narrow it (filters, smaller limit) and retry.",
        )
    else:
        log.exception("unhandled error", exc_info=exc, extra={"request_id": request_id})
        problem = Problem(
            type=problem_type("internal-error"),
            title="Internal server error",
            status=500,
            detail="Something went wrong on our side. Quote the request id if you report it.",
        )
    problem.instance = instance
    problem.request_id = request_id
    return problem, headers, extra


def _drop_request_connection(request: Request[Any, Any, Any]) -> None:
    """Terminate the request's pooled connection after it failed as lost.

    The handler's exception is answered here, inside the middleware that releases the
    connection, so the pool would otherwise try to reset and reuse a connection whose protocol
    state is unknown. Terminating it makes the pool open a fresh one for the next request.
    """
    conn = request.scope.get("state", {}).get("conn")
    if conn is not None:
        with contextlib.suppress(asyncpg.InterfaceError):  # already dropped by asyncpg
            conn.terminate()


def problem_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler: every error leaves here as problem+json."""
    if is_connection_lost(exc):
        _drop_request_connection(request)
    problem, headers, extra = to_problem(request, exc)
    body: dict[str, Any] = msgspec.to_builtins(problem)
    body.update(extra)
    if problem.status == 503 and "Retry-After" not in headers:
        headers["Retry-After"] = "2"
    return Response(content=body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_response_spec(status: int, description: str) -> Any:
    """An OpenAPI ``ResponseSpec`` for a declared error status, with the problem schema."""
    from litestar.openapi.datastructures import ResponseSpec
    from litestar.openapi.spec import Example

    title, slug = _HTTP_TITLES.get(status, ("Error", "error"))
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
