"""The one mapping of every error to RFC 9457 ``application/problem+json``.

:func:`problem_handler` is the application's exception handler: the domain errors of
:mod:`service.errors`, Litestar's own HTTP errors, validation failures and database faults
each become a problem document. A client never sees a stack trace or a raw database message:
unexpected errors become a generic 500 that names the request id, and the details go to the log.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)

from service.errors import (
    HTTP_TITLES,
    PROBLEM_MEDIA_TYPE,
    FieldError,
    Problem,
    ProblemError,
    is_connection_lost,
    problem_type,
)

log = logging.getLogger("spread.errors")


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
        title, slug = HTTP_TITLES.get(status, ("Error", "error"))
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
        # service.middleware.RequestPath tries a GET once more on a fresh connection
        request.scope.setdefault("state", {})["connection_lost"] = True
    problem, headers, extra = to_problem(request, exc)
    body: dict[str, Any] = msgspec.to_builtins(problem)
    body.update(extra)
    if problem.status == 503 and "Retry-After" not in headers:
        headers["Retry-After"] = "2"
    return Response(content=body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)
