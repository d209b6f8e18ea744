"""The request path: one ASGI layer for every request, one hook that authenticates ``/v1``.

:class:`RequestPath` wraps the whole application (404s, 405s and CORS preflights included):
it takes or makes the request id, adds ``X-Request-ID`` (and the rate-limit headers the hook
chose) to the response, gives the request's connection (``service.db.provide_conn``) back
to the pool as soon as the response starts, counts the request in the Prometheus metrics and
writes one JSON access-log line. It replaces three layers measured in ``bench/README.md`` (request context,
Litestar's Prometheus middleware, the auth middleware) with one.

:func:`authenticate` is the ``before_request`` hook of the ``/v1`` router, so it runs after
routing (it knows the handler's scope and media types) and before the body is read. It
checks the bearer key on every request: in the per-process cache of
:mod:`service.auth.cache` (invalidated by ``NOTIFY`` from the primary), else by one lookup
on the primary, never the read replica, on a connection held for that query only. Handlers
get their own connection from the ``conn`` dependency, when they need one. It then counts
the request against the key's budgets (:mod:`service.ratelimit`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any, NoReturn

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from service import logs, metrics
from service.auth.keys import KEY_PREFIX, hash_secret
from service.auth.queries import lookup_key
from service.auth.schemas import Principal
from service.conventions import (
    CACHED_METHODS,
    cache_headers,
    correlation_id,
    correlation_problem,
    deprecation_headers,
    send_problem,
)
from service.db import acquire, release_lease
from service.errors import (
    ForbiddenError,
    RateLimitedError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from service.ratelimit import Decision
from service.replicas import consistency_header

if TYPE_CHECKING:
    from service.fastpath import FastPath

access_log = logging.getLogger("spread.access")

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}\Z")
# Generated request ids: a random per-process prefix and a counter (32 hex digits, like a
# uuid4's hex): unique without a system call per request.
_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestPath:
    """Outermost layer: request id in and out, rate-limit headers, metrics, one access-log line."""

    def __init__(self, app: ASGIApp, fast: FastPath | None = None) -> None:
        self.app = app
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
                break
        request_id = incoming.decode("latin-1") if incoming else ""
        if not _REQUEST_ID_OK.match(request_id):
            request_id = f"{_ID_PREFIX}{next(_id_counter):016x}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        correlation = correlation_id(scope)
        if correlation is not None:
            state["correlation_id"] = correlation
        started = time.perf_counter()
        status = 500

        retry = False  # a GET whose connection died: its 503 is dropped and it runs once more

        async def send_with_id(message: Message) -> None:
            nonlocal status, retry
            if retry:
                return
            if message["type"] == "http.response.start":
                if (
                    message["status"] == 503
                    and state.pop("connection_lost", False)
                    and scope["method"] == "GET"
                    and not state.get("read_retried")
                ):
                    retry = True
                    return
                status = message["status"]
                headers = list(message.get("headers") or ())
                headers.append((b"x-request-id", request_id.encode()))
                if correlation:
                    headers.append((b"x-correlation-id", correlation.encode()))
                decision = state.get("rate_limit")
                if decision is not None:
                    headers.extend(decision.headers())
                if scope["method"] in CACHED_METHODS:
                    cache_headers(scope["path"], headers)
                deprecation_headers(scope, headers)
                if status < 400 and "key_id" in state and scope["method"] not in _READ_METHODS:
                    token = await consistency_header(scope)  # a /v1 write: read-your-writes token
                    if token is not None:
                        headers.append(token)
                message["headers"] = headers
                await send(message)
                if "conn_lease" in state:  # the handler is done with it
                    await release_lease(state)
                return
            await send(message)

        try:
            if correlation == "":
                await send_problem(scope, send_with_id, correlation_problem(scope, request_id))
            elif self.fast is None or not await self.fast.serve(scope, receive, send_with_id):
                await self.app(scope, receive, send_with_id)
                if retry:  # on a fresh connection; the rate limit counted it already
                    if "conn_lease" in state:
                        await release_lease(state)
                    state["read_retried"] = True
                    retry = False
                    # The dropped 503 never reached the client: Litestar must not think the
                    # response started, or a second failure would escape as a 500.
                    ScopeState.from_scope(scope).response_started = False
                    await self.app(scope, receive, send_with_id)
        finally:
            if "conn_lease" in state:
                await release_lease(state)
            elapsed = time.perf_counter() - started
            method = scope["method"]
            metrics.observe_request(method, scope.get("path_template"), status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                key_id = state.get("key_id")
                fields = {
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "request_id": request_id,
                    "key_id": str(key_id) if key_id else None,
                }
                if correlation:
                    fields["correlation_id"] = correlation
                writer = logs.access_writer
                if writer is not None:
                    writer.write(**fields)
                else:
                    access_log.info("request", extra=fields)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthorizedError(
                    "The Authorization header must be 'Bearer <key>'. Create a key with `spread keys create`."
                )
            return token.strip()
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


async def authenticate(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of ``/v1``: check the key, count the request, check scope and media type."""
    scope = request.scope
    state = request.app.state
    settings = state.settings
    limiter = state.rate_limiter
    try:
        principal = await _principal(scope, state, settings, limiter)
    except UnauthorizedError:
        if settings.rate_limit_failures_per_minute:
            limiter.count(_client(scope))
        raise
    request_state = scope["state"]
    request_state["key_id"] = principal.key_id
    scope["user"] = principal
    scope["auth"] = principal.key_id
    method = scope["method"]
    if settings.rate_limit_per_minute and not request_state.get("counted"):
        request_state["counted"] = True  # once, even when RequestPath runs a GET again
        decision = limiter.hit(f"key:{principal.key_id}", settings.rate_limit_per_minute)
        if not decision.allowed:
            _refuse(decision, f"This key has made {decision.limit} requests this minute.")
        if method not in _READ_METHODS and settings.rate_limit_writes_per_minute:
            writes = limiter.hit(f"write:{principal.key_id}", settings.rate_limit_writes_per_minute)
            if not writes.allowed:
                _refuse(writes, f"This key has made {writes.limit} writes this minute.")
            if writes.remaining < decision.remaining:
                decision = writes
        request_state["rate_limit"] = decision
    handler = scope["route_handler"]
    _require_scope(handler.opt, method, principal)
    if method in _BODY_METHODS:
        _require_content_type(scope, handler.opt)


# Who reads without a key when SPREAD_EXPLORER_PUBLIC_READ=true (a demo, never production):
# read scope only, and only for GET and HEAD; every request without a key shares its rate limit.
PUBLIC_READER = Principal(
    key_id=uuid.UUID(int=0),
    partner_id=uuid.UUID(int=0),
    partner_name="Public read (SPREAD_EXPLORER_PUBLIC_READ)",
    scopes=("read",),
    expires_at=None,
)


async def _principal(scope: Scope, state: Any, settings: Any, limiter: Any) -> Principal:
    token = _bearer(scope)
    if token is None and settings.explorer_public_read and scope.get("method") in _READ_METHODS:
        return PUBLIC_READER
    if token is None:
        raise UnauthorizedError(
            "This endpoint needs an API key: send 'Authorization: Bearer <key>'. "
            "`spread serve` prints a development key; `spread keys create` makes others."
        )
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        raise UnauthorizedError("That is not a Spread API key (they start with 'spr_').")
    secret_hash = hash_secret(token)
    cache = state.key_cache
    principal: Principal | None = cache.get(secret_hash)
    if principal is not None:
        if principal.expires_at is not None and principal.expires_at <= dt.datetime.now(dt.UTC):
            raise UnauthorizedError(f"This API key expired on {principal.expires_at:%Y-%m-%d}. Ask for a new one.")
        return principal
    # A lookup costs the database a query: an address that keeps failing is refused first.
    if settings.rate_limit_failures_per_minute:
        refused = limiter.over(_client(scope), settings.rate_limit_failures_per_minute)
        if refused is not None:
            _refuse(refused, f"This address has failed to authenticate {refused.limit} times this minute.")
    generation = cache.generation
    # Always the primary: a replica may still hold a key the primary has revoked.
    async with acquire(state.pool, settings.pool_acquire_timeout) as conn:
        found = await lookup_key(conn, secret_hash)
    if found is None:
        raise UnauthorizedError("Unknown API key. Check it was copied whole, or create one with `spread keys create`.")
    if found.revoked_at is not None:
        raise UnauthorizedError(f"This API key was revoked on {found.revoked_at:%Y-%m-%d}. Ask for a new one.")
    if found.expired:
        raise UnauthorizedError(f"This API key expired on {found.principal.expires_at:%Y-%m-%d}. Ask for a new one.")
    cache.put(secret_hash, found.principal, generation)
    return found.principal


def _refuse(decision: Decision, message: str) -> NoReturn:
    metrics.RATE_LIMITED.inc()
    raise RateLimitedError(
        f"{message} Retry in {decision.reset} s.",
        headers={
            "Retry-After": str(decision.reset),
            **{name.decode(): value.decode() for name, value in decision.headers()},
        },
    )


def required_scope(opt: dict[str, Any], method: str) -> str:
    if "scope" in opt:
        return str(opt["scope"])
    return "read" if method in _READ_METHODS else "write"


def _require_scope(opt: dict[str, Any], method: str, principal: Principal) -> None:
    needed = required_scope(opt, method)
    if not principal.has(needed):
        raise ForbiddenError(
            f"This needs a key with the '{needed}' scope; yours has {', '.join(principal.scopes)}. "
            f"Ask an administrator for a key with '{needed}'."
        )


def _require_content_type(scope: Scope, opt: dict[str, Any]) -> None:
    """Bodies must come as a media type the operation accepts (JSON unless it says otherwise)."""
    headers = dict(scope["headers"])
    length = headers.get(b"content-length")
    if length is not None and length.strip() == b"0":
        return
    raw = headers.get(b"content-type", b"").decode("latin-1")
    media = raw.split(";")[0].strip().lower()
    accepted = tuple(opt.get("content_types", ("application/json",)))
    if media not in accepted and not (media.endswith("+json") and "application/json" in accepted):
        shown = media or "none"
        raise UnsupportedMediaTypeError(
            f"Content-Type {shown} is not accepted here; send {' or '.join(accepted)}.",
        )
