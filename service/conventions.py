"""NHS API conventions on every response: correlation ids, caching headers, deprecation.

Kept apart from the request path (service.middleware.RequestPath) so a fast path can call them
too: every response carries X-Correlation-ID when the request did, and every GET/HEAD its
Cache-Control and Vary. docs/nhs-conventions.md and docs/deprecation.md describe them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
from litestar.types import Scope, Send

from service.errors import PROBLEM_MEDIA_TYPE, FieldError, Problem, problem_type

_CORRELATION_OK = re.compile(r"^[\x20-\x7e]{1,128}\Z")
CACHED_METHODS = frozenset({"GET", "HEAD"})
# Every /v1 read needs a key, so no shared cache may keep one (private), and a client revalidates
# with the ETag before reusing what it kept (no-cache). Public documents (the spec, the docs
# pages) may be kept by shared caches but revalidated too; health answers are never stored.
CACHE_PRIVATE = b"private, no-cache"
CACHE_PUBLIC = b"public, no-cache"
CACHE_NEVER = b"no-store"
VARY_PRIVATE: tuple[bytes, ...] = (b"Authorization", b"Accept", b"Accept-Encoding")
VARY_PUBLIC: tuple[bytes, ...] = (b"Accept", b"Accept-Encoding")


def correlation_id(scope: Scope) -> str | None:
    """The request's ``X-Correlation-ID``: None when absent, ``""`` when it is not acceptable.

    NHS APIs let a caller name the business transaction a request belongs to: any 1 to 128
    printable ASCII characters. It is echoed, logged, recorded on the changes it causes and
    sent on the webhook deliveries of those changes.
    """
    for name, value in scope["headers"]:
        if name == b"x-correlation-id":
            text = value.decode("latin-1")
            return text if _CORRELATION_OK.match(text) else ""
    return None


def correlation_problem(scope: Scope, request_id: str) -> Problem:
    detail = "X-Correlation-ID must be 1 to 128 printable ASCII characters (space to '~')."
    return Problem(
        type=problem_type("invalid-input"),
        title="Invalid input",
        status=422,
        detail=detail,
        instance=scope["path"],
        request_id=request_id,
        errors=[FieldError(field="X-Correlation-ID", detail=detail)],
    )


async def send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    """Answer with a problem document without reaching the application."""
    body = msgspec.json.encode(problem)
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def cache_headers(path: str, headers: list[tuple[bytes, bytes]]) -> None:
    """``Cache-Control`` (unless the handler chose one) and ``Vary`` for a GET or HEAD answer."""
    vary: tuple[bytes, ...]
    if path.startswith("/v1/"):
        control, vary = CACHE_PRIVATE, VARY_PRIVATE
    elif path.startswith("/health"):
        control, vary = CACHE_NEVER, VARY_PUBLIC
    else:
        control, vary = CACHE_PUBLIC, VARY_PUBLIC
    names = [name.decode("latin-1").strip().lower() for name in vary]
    kept: list[tuple[bytes, bytes]] = []
    has_control = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"vary":
            for item in value.decode("latin-1").split(","):
                if item.strip() and item.strip().lower() not in names:
                    names.append(item.strip().lower())
                    vary = (*vary, item.strip().encode("latin-1"))
            continue
        if lower == b"cache-control":
            has_control = True
        kept.append((name, value))
    if not has_control:
        kept.append((b"cache-control", control))
    kept.append((b"vary", b", ".join(vary)))
    headers[:] = kept


def deprecation_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
    """``Deprecation`` and ``Sunset`` for an operation declared with :func:`deprecated`."""
    handler = scope.get("route_handler")
    opt = getattr(handler, "opt", None)
    if not opt or "sunset" not in opt:
        return
    since: dt.date = opt["deprecated_on"]
    sunset: dt.date = opt["sunset"]
    since_ts = int(dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC).timestamp())
    headers.append((b"deprecation", f"@{since_ts}".encode()))  # RFC 9745
    sunset_at = dt.datetime(sunset.year, sunset.month, sunset.day, tzinfo=dt.UTC)
    headers.append((b"sunset", sunset_at.strftime("%a, %d %b %Y %H:%M:%S GMT").encode()))  # RFC 8594
    headers.append((b"link", f'<{DEPRECATION_POLICY}>; rel="deprecation"; type="text/html"'.encode()))


# The API reference, where the operation shows as deprecated; docs/deprecation.md has the policy.
DEPRECATION_POLICY = "/schema/"
SUNSET_NOTICE = dt.timedelta(days=365)


def deprecated(on: dt.date, sunset: dt.date) -> dict[str, Any]:
    """Route keyword arguments retiring an operation: ``@get(..., **deprecated(on=..., sunset=...))``.

    The spec marks it ``deprecated: true`` and every answer carries ``Deprecation`` and
    ``Sunset``. The policy (docs/deprecation.md) gives 12 months' notice: ``sunset`` is at
    least a year after ``on``.
    """
    if sunset - on < SUNSET_NOTICE:
        raise ValueError(f"a sunset needs 12 months' notice: {on} to {sunset} is less")
    return {"deprecated": True, "deprecated_on": on, "sunset": sunset}  # Litestar puts extra kwargs in opt
