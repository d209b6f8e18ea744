"""The asyncpg pool (created in the app lifespan) and the per-request connection.

A request to ``/v1`` gets one connection, acquired by :class:`service.auth.middleware.
AuthMiddleware` (which authenticates on it) and released when the response has been sent;
handlers receive it through the ``conn`` dependency. Reads go to the read replica pool when
``SPREAD_READ_DATABASE_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec
from litestar import Litestar, Request

from service.errors import ServiceUnavailableError, is_connection_lost

if TYPE_CHECKING:
    from service.config import Settings

Connection = asyncpg.Connection
Record = asyncpg.Record

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
        "timezone": "UTC",
    }


async def create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        init=init_connection,
        server_settings=server_settings(settings),
        command_timeout=max(settings.statement_timeout_ms / 1000 + 5, 10),
    )


async def connect(dsn: str, settings: Settings) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings=server_settings(settings))
    await init_connection(conn)
    return conn


def pool_lifespan(settings: Settings) -> Any:
    """Lifespan context: open the pools on start-up, close them on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set; run `spread serve`, which starts an embedded database")
        pool = await create_pool(settings.database_url, settings)
        app.state.pool = pool
        from service import metrics

        metrics.track_pool(pool)
        app.state.read_pool = (
            await create_pool(settings.read_database_url, settings) if settings.read_database_url else pool
        )
        try:
            yield
        finally:
            from service import metrics

            metrics.untrack_pool(pool)
            for p in {id(pool): pool, id(app.state.read_pool): app.state.read_pool}.values():
                await _close(p)

    return lifespan


async def _close(pool: asyncpg.Pool) -> None:
    """Close gracefully, or terminate if shutdown is cut short or takes over 5 s."""
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except (asyncio.CancelledError, TimeoutError):
        pool.terminate()


@contextlib.asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout: float) -> AsyncIterator[asyncpg.Connection]:
    """Acquire with a timeout, shedding load as 503 rather than queueing for ever."""
    try:
        conn = await pool.acquire(timeout=timeout)
    except TimeoutError:
        from service import metrics

        metrics.POOL_TIMEOUTS.inc()
        raise ServiceUnavailableError(
            "All database connections are busy. Retry shortly.", headers={"Retry-After": "1"}
        ) from None
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
            await pool.release(conn)  # a no-op after terminate()
        except Exception as exc:
            # asyncpg terminates a connection whose reset failed, then re-raises: the
            # response may already be sent, and the pool has dropped the connection.
            if not is_connection_lost(exc):
                raise


def provide_conn(request: Request[Any, Any, Any]) -> asyncpg.Connection:
    """The connection the auth middleware acquired for this request."""
    conn = request.scope["state"].get("conn")
    if conn is None:  # pragma: no cover - a route outside /v1 asked for it
        raise RuntimeError("no request connection: only /v1 routes get one")
    return conn


class Actor(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Who is writing: recorded on every change-log row the transaction produces."""

    key_id: str | None = None
    partner_id: str | None = None
    partner_name: str | None = None
    request_id: str | None = None


@contextlib.asynccontextmanager
async def write_transaction(conn: asyncpg.Connection, actor: Actor) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose writes are attributed to ``actor`` in the change log."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('spread.actor', $1, true)", _encode_json(actor))
        yield conn


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    principal = request.scope.get("user")
    request_id = request.scope["state"].get("request_id")
    if principal is None:  # pragma: no cover - /v1 always authenticates
        return Actor(request_id=request_id)
    return Actor(
        key_id=str(principal.key_id),
        partner_id=str(principal.partner_id),
        partner_name=principal.partner_name,
        request_id=request_id,
    )


def provide_principal(request: Request[Any, Any, Any]) -> Any:
    return request.scope["user"]
