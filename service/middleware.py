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

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service import logs, metrics
from service.auth.keys import KEY_PREFIX, hash_secret
from service.auth.queries import lookup_key
from service.auth.schemas import Principal
from service.db import acquire, release_lease
from service.errors import (
    PROBLEM_MEDIA_TYPE,
    FieldError,
    ForbiddenError,
    Problem,
    RateLimitedError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    problem_type,
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
                if scope["method"] in _CACHED_METHODS:
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


# --- NHS API conventions: correlation ids, caching headers, deprecation -------------------------
# Kept apart from the request path above so a fast path can call them too: every response
# carries X-Correlation-ID when the request did, and every GET/HEAD its Cache-Control and Vary.

_CORRELATION_OK = re.compile(r"^[\x20-\x7e]{1,128}\Z")
_CACHED_METHODS = frozenset({"GET", "HEAD"})
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
