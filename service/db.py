"""The asyncpg pools, the request-path services the lifespan starts, and the request's connection.

A handler that talks to the database asks for the ``conn`` dependency: a pooled connection
acquired when its dependencies are resolved, which is after Litestar has read and decoded the
body, and released as soon as the handler is done (when its response starts). Handlers that need no database (``POST
/v1/analysis/spc``), slow uploads and requests refused early hold no connection. A handler
that reads the body by hand takes :func:`request_connection` after reading it. Reads (GET,
HEAD) may go to the read replica when ``SPREAD_READ_DATABASE_URL`` is set (see
``service.replicas``: read-your-writes and the lag bound); keys never do (see
``service.middleware``), nor operations marked ``opt={"primary": True}`` (the change feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, NoReturn, cast

import asyncpg
import msgspec
from litestar import Litestar, Request
from litestar.di import NamedDependency

from service.errors import ServiceUnavailableError, is_connection_lost
from service.replicas import Replica, requested_position

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    from service.config import Settings

Connection = asyncpg.Connection
Record = asyncpg.Record


def pooled(proxy: PoolConnectionProxy[Record]) -> asyncpg.Connection:
    """A pooled connection typed as the Connection it stands for (the proxy forwards every method)."""
    return cast(asyncpg.Connection, proxy)


_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def _encode_json(value: Any) -> str:
    return _json_encode(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    """JSON and JSONB travel as Python objects, encoded and decoded by msgspec."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=_encode_json, decoder=_json_decode, format="text"
        )


def server_settings(settings: Settings) -> dict[str, str]:
    # force_custom_plan: asyncpg prepares every statement, and PostgreSQL's generic plans
    # for optional filters ($1 IS NULL OR col = $1) and text search were measured 5-15x
    # slower than custom ones (see STYLE.md). Planning these statements is cheap.
    return {
        "application_name": "spread",
        "statement_timeout": str(settings.statement_timeout_ms),
        "plan_cache_mode": "force_custom_plan",
        # Search ranks the first matches a scan finds (service/search/statements.py); a scan that
        # joined another one mid-table would find different ones and upset relevance paging.
        "synchronize_seqscans": "off",
        "timezone": "UTC",
    }


async def _after_release(conn: asyncpg.Connection) -> None:
    """Nothing beyond asyncpg's own rollback of an open transaction (it runs first).

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` on every release: a round trip per request (8% of the worker's time in the
    profile in bench/README.md). Spread never changes session state on pooled connections:
    settings travel as transaction-local ``set_config(..., true)``, advisory locks are
    ``pg_advisory_xact_lock``, cursors live in transactions and only the key listener (its
    own connection) LISTENs. Keep it so: a session-level ``SET`` would leak to the next request.
    """


async def create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        init=init_connection,
        reset=_after_release,
        server_settings=server_settings(settings),
        command_timeout=max(settings.statement_timeout_ms / 1000 + 5, 10),
    )


async def connect(dsn: str, settings: Settings) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings=server_settings(settings))
    await init_connection(conn)
    return conn


def pool_lifespan(settings: Settings, *, clock: Callable[[], float] | None = None) -> Any:
    """Lifespan context: the pools, the key cache and its listener, the rate-limit flusher.

    ``clock`` (seconds since the epoch) drives the rate limiter; tests pass their own.
    """
    from service import logs, metrics
    from service.auth.cache import KeyCache, listener_for
    from service.ratelimit import RateLimiter
    from service.replicas import start_replica

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set; run `spread serve`, which starts an embedded database")
        pool = await create_pool(settings.database_url, settings)
        app.state.pool = pool
        metrics.track_pool(pool)
        app.state.replica = replica = await start_replica(settings, pool, create_pool, _acquire)
        app.state.key_cache = cache = KeyCache()
        listener = listener_for(settings, cache)
        app.state.key_listener = listener
        if listener is not None:
            listener.start()
        app.state.rate_limiter = limiter = RateLimiter(clock=clock) if clock else RateLimiter()
        limiter.start(pool)
        if getattr(app.state, "freeze_gc", False):  # a server worker (service.server), not a test's app
            # Everything built so far (the app, its routes, schemas, the pools) lives as long as
            # the process: freezing it keeps the collector's full passes from walking it again and
            # again, which showed as 20-30 ms pauses at p99 (bench/README.md). Requests' garbage
            # is collected as before.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if listener is not None:
                await listener.stop()
            await limiter.stop(pool)
            if logs.access_writer is not None:
                logs.access_writer.flush()
            metrics.untrack_pool(pool)
            if replica is not None:
                await replica.stop()
            await _close(pool)

    return lifespan


async def _close(pool: asyncpg.Pool) -> None:
    """Close gracefully, or terminate if shutdown is cut short or takes over 5 s."""
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except (asyncio.CancelledError, TimeoutError):
        pool.terminate()


async def _acquire(pool: asyncpg.Pool, timeout: float) -> asyncpg.Connection:
    # asyncio.timeout rather than acquire(timeout=...): asyncpg wraps the latter in
    # wait_for, which creates a task per acquire (measured in bench/README.md).
    try:
        async with asyncio.timeout(timeout):
            return pooled(await pool.acquire())
    except TimeoutError:
        _shed()


def _shed() -> NoReturn:
    from service import metrics

    metrics.POOL_TIMEOUTS.inc()
    raise ServiceUnavailableError("All database connections are busy. Retry shortly.", headers={"Retry-After": "1"})


@contextlib.asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout: float) -> AsyncIterator[asyncpg.Connection]:
    """Acquire with a timeout, shedding load as 503 rather than queueing for ever."""
    async with _held(pool, await _acquire(pool, timeout)) as conn:
        yield conn


@contextlib.asynccontextmanager
async def _held(pool: asyncpg.Pool, conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """Use ``conn`` and give it back to ``pool``, dropping it if the connection was lost."""
    try:
        yield conn
    except BaseException as exc:
        if is_connection_lost(exc):
            # never hand a half-broken connection to the next request (asyncpg may already
            # have dropped it from the pool when it saw the socket close)
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
        raise
    finally:
        try:
            await pool.release(cast("PoolConnectionProxy[Record]", conn))  # a no-op after terminate()
        except Exception as exc:
            # asyncpg terminates a connection whose reset failed, then re-raises: the
            # response may already be sent, and the pool has dropped the connection.
            if not is_connection_lost(exc):
                raise


_READ_METHODS = frozenset({"GET", "HEAD"})


async def _lease(request: Request[Any, Any, Any]) -> tuple[asyncpg.Pool, asyncpg.Connection]:
    """A pool and one of its connections for this request: the replica when a read may use it.

    Writes, operations marked ``primary`` and reads the replica cannot serve (not configured,
    down, too far behind, or not yet past the request's ``X-Spread-Consistency``) use the primary.
    """
    state = request.app.state
    timeout = state.settings.pool_acquire_timeout
    scope = request.scope
    replica: Replica | None = state.replica
    if scope["method"] in _READ_METHODS:
        token = requested_position(scope)  # validated even when there is no replica
        if replica is not None and replica.usable and not scope["route_handler"].opt.get("primary"):
            lease = await replica.acquire_for_read(token, timeout)
            if lease is not None:
                return lease
    return state.pool, await _acquire(state.pool, timeout)


@contextlib.asynccontextmanager
async def request_connection(request: Request[Any, Any, Any]) -> AsyncIterator[asyncpg.Connection]:
    """A connection for this request (see :func:`_lease`), for handlers that read the body by hand."""
    pool, conn = await _lease(request)
    async with _held(pool, conn):
        yield conn


async def provide_conn(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> asyncpg.Connection:
    """The ``conn`` dependency: acquired after the body is read, released once the handler is done.

    :class:`service.middleware.RequestPath` releases it when the response starts (the handler
    has returned and rendered its body; no handler streams from the database), or when the
    request ends without one. That costs less than a generator dependency, whose cleanup
    machinery was measured in bench/README.md. (``actor`` is unused: depending on it puts
    the providers in a chain, so Litestar resolves them in turn instead of in a task group.)
    """
    pool, conn = await _lease(request)
    request.scope["state"]["conn_lease"] = (pool, conn)
    return conn


async def release_lease(state: dict[str, Any]) -> None:
    """Give the request's connection back to its pool, if it took one."""
    lease = state.pop("conn_lease", None)
    if lease is not None:
        await lease[0].release(lease[1])


class Actor(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Who is writing: recorded on every change-log row the transaction produces."""

    key_id: str | None = None
    partner_id: str | None = None
    partner_name: str | None = None
    request_id: str | None = None
    # changes.correlation_id defaults to this member of spread.actor (migration 0015)
    correlation_id: str | None = None


@contextlib.asynccontextmanager
async def write_transaction(conn: asyncpg.Connection, actor: Actor) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose writes are attributed to ``actor`` in the change log."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('spread.actor', $1, true)", _encode_json(actor))
        yield conn


def provide_actor(request: Request[Any, Any, Any], principal: NamedDependency[Any]) -> Actor:
    state = request.scope["state"]
    request_id = state.get("request_id")
    correlation_id = state.get("correlation_id")
    if principal is None:  # pragma: no cover - /v1 always authenticates
        return Actor(request_id=request_id, correlation_id=correlation_id)
    return Actor(
        key_id=str(principal.key_id),
        partner_id=str(principal.partner_id),
        partner_name=principal.partner_name,
        request_id=request_id,
        correlation_id=correlation_id,
    )


def provide_principal(request: Request[Any, Any, Any]) -> Any:
    return request.scope["user"]
