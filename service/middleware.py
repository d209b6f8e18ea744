"""ASGI middleware: request ids and access logs (outermost), authentication (per /v1 route).

``RequestContext`` wraps the whole application, so every response (404s and CORS preflights
included) carries ``X-Request-ID`` and leaves one JSON log line. ``AuthMiddleware`` runs for
``/v1`` routes: it acquires the request's connection, authenticates the bearer key on it, and
releases the connection once the response is sent.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service import metrics
from service.auth.keys import KEY_PREFIX, hash_secret
from service.auth.queries import lookup_key
from service.auth.schemas import Principal
from service.db import acquire
from service.errors import ForbiddenError, RateLimitedError, UnauthorizedError, UnsupportedMediaTypeError

access_log = logging.getLogger("spread.access")

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestContext:
    """Outermost middleware: request id in and out, one access-log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
        state["request_id"] = request_id
        started = time.perf_counter()
        status_holder = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers  # type: ignore[typeddict-unknown-key]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status_holder[0],
                    "duration_ms": round(duration_ms, 2),
                    "request_id": request_id,
                    "key_id": str(state["key_id"]) if state.get("key_id") else None,
                },
            )


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthorizedError(
                    "The Authorization header must be 'Bearer <key>'. Create a key with `spread keys create`."
                )
            return token.strip()
    return None


class AuthMiddleware(ASGIMiddleware):
    """Authenticate ``/v1`` requests by bearer key and lend them one pooled connection."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        app = scope["litestar_app"]
        settings = app.state.settings
        token = _bearer(scope)
        if token is None:
            raise UnauthorizedError(
                "This endpoint needs an API key: send 'Authorization: Bearer <key>'. "
                "`spread serve` prints a development key; `spread keys create` makes others."
            )
        if not token.startswith(KEY_PREFIX) or len(token) > 200:
            raise UnauthorizedError("That is not a Spread API key (they start with 'spr_').")
        method = scope.get("method", "GET")
        pool = app.state.read_pool if method in _READ_METHODS else app.state.pool
        rate_limit = settings.rate_limit_per_minute
        async with acquire(pool, settings.pool_acquire_timeout) as conn:
            if rate_limit and pool is not app.state.pool:
                async with acquire(app.state.pool, settings.pool_acquire_timeout) as primary:
                    found = await lookup_key(primary, hash_secret(token), rate_limit)
            else:
                found = await lookup_key(conn, hash_secret(token), rate_limit)
            principal = _check(found, rate_limit)
            state = scope["state"]  # type: ignore[typeddict-item]
            state["conn"] = conn
            state["key_id"] = principal.key_id
            scope["user"] = principal
            scope["auth"] = principal.key_id
            _require_scope(scope, principal)
            _require_content_type(scope)
            await next_app(scope, receive, send)


def _check(found: Any, rate_limit: int) -> Principal:
    if found is None:
        raise UnauthorizedError("Unknown API key. Check it was copied whole, or create one with `spread keys create`.")
    if found.revoked_at is not None:
        raise UnauthorizedError(f"This API key was revoked on {found.revoked_at:%Y-%m-%d}. Ask for a new one.")
    if found.expired:
        raise UnauthorizedError(f"This API key expired on {found.principal.expires_at:%Y-%m-%d}. Ask for a new one.")
    if rate_limit and found.hits is not None and found.hits > rate_limit:
        metrics.RATE_LIMITED.inc()
        retry = 60 - int(time.time()) % 60
        raise RateLimitedError(
            f"This key has made more than {rate_limit} requests this minute. Retry in {retry} s.",
            headers={"Retry-After": str(retry)},
        )
    return found.principal


def required_scope(scope: Scope) -> str:
    handler = scope.get("route_handler")
    opt = getattr(handler, "opt", None) or {}
    if "scope" in opt:
        return str(opt["scope"])
    return "read" if scope.get("method", "GET") in _READ_METHODS else "write"


def _require_scope(scope: Scope, principal: Principal) -> None:
    needed = required_scope(scope)
    if not principal.has(needed):
        raise ForbiddenError(
            f"This needs a key with the '{needed}' scope; yours has {', '.join(principal.scopes)}. "
            f"Ask an administrator for a key with '{needed}'."
        )


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _require_content_type(scope: Scope) -> None:
    """Bodies must come as a media type the operation accepts (JSON unless it says otherwise)."""
    if scope.get("method") not in _BODY_METHODS:
        return
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length")
    if length is not None and length.strip() == b"0":
        return
    raw = headers.get(b"content-type", b"").decode("latin-1")
    media = raw.split(";")[0].strip().lower()
    handler = scope.get("route_handler")
    accepted = tuple((getattr(handler, "opt", None) or {}).get("content_types", ("application/json",)))
    if media not in accepted and not (media.endswith("+json") and "application/json" in accepted):
        shown = media or "none"
        raise UnsupportedMediaTypeError(
            f"Content-Type {shown} is not accepted here; send {' or '.join(accepted)}.",
        )
