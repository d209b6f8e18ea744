"""The two hottest reads, served without Litestar's per-route machinery.

``GET /v1/innovations/{id}`` and ``GET /v1/me`` are what clients call most; through Litestar
each pays routing, the before-request hook, three dependency providers, signature parsing,
a ``Response`` object, the compression layer and the exception wrapper (profile in
``bench/README.md``). :class:`FastPath` answers them from :class:`service.middleware.RequestPath`
with the same query, the same struct, the same ETag/304, the same key check (the key cache,
so revocation still acts on the next request), the same rate-limit count, and the same
problem documents, byte for byte (``tests/innovations/test_fastpath.py`` compares both paths).

It only takes a request it can answer without changing anything first: a plain ``GET`` of
the canonical path with no query string and no ``Origin``, a well-formed bearer key found in
the key cache, unexpired, with the ``read`` scope, and a rate-limit budget that admits it.
Anything else (no key, a key not cached yet, a refusal, a CORS request, an odd path) goes to
Litestar untouched, which answers it as it always did. After the request is counted, the
fast path answers every outcome itself: 200 or 304, a 404, or a fault mapped by
:func:`service.problems.problem_handler` exactly as Litestar's exception layer would.

A read whose connection dies under it (backend terminated, server restarted) is tried once
more on a fresh connection before it answers 503.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import msgspec
from litestar.enums import CompressionEncoding, ScopeType
from litestar.middleware.compression.gzip_facade import GzipCompression

from service.auth import queries as auth_queries
from service.auth.keys import KEY_PREFIX, hash_secret
from service.auth.schemas import Me, Principal
from service.db import acquire
from service.errors import NotFoundError, is_connection_lost
from service.innovations import queries as innovation_queries
from service.problems import problem_handler
from service.types import etag

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import Receive, Scope, Send

T = TypeVar("T")

_INNOVATIONS = "/v1/innovations/"
# The route templates Litestar puts in scope["path_template"] (the metrics label them by it).
INNOVATION_TEMPLATE = "/v1/innovations/{id}"
_HEX = frozenset("0123456789abcdef")
_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")


def _canonical_uuid(text: str) -> uuid.UUID | None:
    """A lower-case, hyphenated UUID (the form ids are issued in); anything else is Litestar's."""
    if len(text) != 36 or text[8] != "-" or text[13] != "-" or text[18] != "-" or text[23] != "-":
        return None
    if not _HEX.issuperset(text.replace("-", "")):
        return None
    return uuid.UUID(text)


class FastPath:
    """Serves the hot reads of one app; :meth:`serve` returns False for requests it leaves alone."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.enabled = True
        self.served = 0  # requests answered here (tests check the fast path was taken)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        if scope["type"] != ScopeType.HTTP:
            return False
        if not self.enabled or scope["method"] != "GET" or scope.get("query_string") or scope.get("root_path"):
            return False
        path: str = scope["path"]
        if path == "/v1/me":
            innovation_id = None
            template = "/v1/me"
        elif path.startswith(_INNOVATIONS):
            innovation_id = _canonical_uuid(path[len(_INNOVATIONS) :])
            if innovation_id is None:
                return False
            template = INNOVATION_TEMPLATE
        else:
            return False
        authorization = inm = accept_encoding = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == b"if-none-match":
                if inm is None:
                    inm = value
            elif name == b"accept-encoding":
                if accept_encoding is None:
                    accept_encoding = value
            elif name == b"origin":
                return False  # CORS: Litestar's layer decides
            elif name == b"x-spread-consistency":
                return False  # read-your-writes: Litestar's lease validates and honours it
        if authorization is None:
            return False
        state = self.app.state
        principal = self._principal(authorization, state.key_cache)
        if principal is None:
            return False
        settings = state.settings
        decision = None
        if settings.rate_limit_per_minute:
            decision = state.rate_limiter.hit(f"key:{principal.key_id}", settings.rate_limit_per_minute)
            if not decision.allowed:  # refused hits are not counted: Litestar refuses it
                return False
        # Counted: from here on every outcome is answered here, as Litestar would answer it.
        self.served += 1
        request_state = scope["state"]
        request_state["read_retried"] = True  # retried here, not again by RequestPath
        request_state["key_id"] = principal.key_id
        if decision is not None:
            request_state["rate_limit"] = decision
        scope["user"] = principal
        scope["auth"] = principal.key_id
        scope["path_template"] = template
        replica = state.replica  # reads may use the replica within its lag bound (service.replicas)
        pool = replica.pool if replica is not None and replica.usable else state.pool
        timeout = settings.pool_acquire_timeout
        try:
            if innovation_id is None:
                partner_id = principal.partner_id
                sites = await _read_retrying(pool, timeout, lambda c: auth_queries.partner_sites(c, partner_id))
                me = Me(
                    key_id=principal.key_id,
                    partner_id=principal.partner_id,
                    partner=principal.partner_name,
                    scopes=list(principal.scopes),  # type: ignore[arg-type]  # the cached scopes are the stored strings, each a Scope
                    expires_at=principal.expires_at,
                    sites=sites,
                )
                await _send(send, 200, [], _encode(me), accept_encoding)
                return True
            wanted = innovation_id
            found = await _read_retrying(pool, timeout, lambda c: innovation_queries.get_innovation(c, wanted))
            if found is None:
                raise NotFoundError(f"no innovation has id {innovation_id}")
        except Exception as exc:  # noqa: BLE001 - answered as Litestar's exception layer would
            await self._problem(scope, receive, send, exc)
            return True
        body, version = found
        tag = etag(version)
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.decode("latin-1").split(",")}
            if tag in tags or "*" in tags:
                await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", tag.encode())]})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return True
        await _send(send, 200, [(b"etag", tag.encode())], _encode(body), accept_encoding)
        return True

    @staticmethod
    def _principal(authorization: bytes, cache: Any) -> Principal | None:
        """The cached, live principal of a well-formed key with the read scope; else None."""
        scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX) or len(token) > 200:
            return None
        principal: Principal | None = cache.get(hash_secret(token))
        if principal is None or not principal.has("read"):
            return None
        if principal.expires_at is not None and principal.expires_at <= dt.datetime.now(dt.UTC):
            return None
        return principal

    async def _problem(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """The problem document Litestar's exception layer would send for ``exc``."""
        request = self.app.request_class(scope=scope, receive=receive, send=send)
        response = problem_handler(request, exc)
        await response.to_asgi_response(app=None, request=request, type_encoders=self.app.type_encoders)(
            scope, receive, send
        )


async def _read_retrying(pool: asyncpg.Pool, timeout: float, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``read`` on a pooled connection; once more on a fresh one if the connection died."""
    try:
        async with acquire(pool, timeout) as conn:
            return await read(conn)
    except Exception as exc:
        if not is_connection_lost(exc):
            raise
    async with acquire(pool, timeout) as conn:  # the dead one was terminated by acquire()
        return await read(conn)


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, accept_encoding: bytes | None
) -> None:
    """A JSON answer with Litestar's headers, gzip-compressed as its compression layer would."""
    out = [*headers, _JSON, (b"content-length", str(len(body)).encode())]
    if accept_encoding is not None and b"gzip" in accept_encoding and len(body) >= 1024:
        body = _gzip(body)
        out[-1] = (b"content-length", str(len(body)).encode())
        out.append((b"content-encoding", b"gzip"))
        out.append((b"vary", b"Accept-Encoding"))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _gzip(body: bytes) -> bytes:
    buffer = BytesIO()
    facade = GzipCompression(buffer=buffer, compression_encoding=CompressionEncoding.GZIP, config=_GZIP_CONFIG)
    facade.write(body)
    facade.close()
    return buffer.getvalue()


class _GzipConfig:
    gzip_compress_level = 6


_GZIP_CONFIG: Any = _GzipConfig()
