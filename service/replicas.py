"""Reads on a streaming replica, with read-your-writes: the ``X-Spread-Consistency`` token.

``SPREAD_READ_DATABASE_URL`` names a hot standby (PostgreSQL streaming replication). Reads
(GET, HEAD) may be served there; writes, key lookups, the key listener, the change feed and
the webhook worker always use the primary (``DATABASE_URL``).

The contract (see docs/replicas.md):

* every successful write under ``/v1`` answers ``X-Spread-Consistency: <LSN>``, the primary's
  WAL position read after the transaction committed (so at or past its commit record);
* a read that sends the token back is served by the replica only once the replica has
  replayed past it (``pg_last_wal_replay_lsn() >= token``), polled for up to
  ``SPREAD_CONSISTENCY_WAIT_MS``; otherwise it is served by the primary;
* a read without the token may use the replica, but only while the replica is within
  ``SPREAD_REPLICA_MAX_LAG_SECONDS`` of the primary: a replica further behind, unreachable,
  or not a standby at all (``pg_is_in_recovery()`` false) is not used, the reason is logged
  and ``/health/ready`` says so.

:class:`Replica` watches the standby once a second from each process (one query on each
side); its answer decides the routing, so a read never pays for the check. Lag is the time
since the primary had a WAL position the standby has not yet replayed (observed by this
process, so accurate to about one check interval), which stays zero on an idle system,
unlike ``now() - pg_last_xact_replay_timestamp()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from service.errors import InvalidInputError, is_connection_lost

if TYPE_CHECKING:
    from service.config import Settings

log = logging.getLogger("spread.replicas")

PoolFactory = Callable[[str, "Settings"], Awaitable[asyncpg.Pool]]
Acquire = Callable[[asyncpg.Pool, float], Awaitable[asyncpg.Connection]]

HEADER = "X-Spread-Consistency"
_HEADER_KEY = HEADER.lower().encode()
TOKEN_PATTERN = r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$(?!\n)"  # noqa: S105 - an LSN, not a secret
_TOKEN = re.compile(TOKEN_PATTERN)
# A position in bytes: pg_lsn minus '0/0' is numeric; bigint holds every LSN PostgreSQL can reach.
WRITE_POSITION_SQL = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
REPLAY_POSITION_SQL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
_STANDBY_SQL = "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
POLL_SECONDS = 0.01

# Replica states (also what /health/ready reports)
OK = "ok"
LAGGING = "lagging"
UNREACHABLE = "unreachable"
NOT_A_STANDBY = "not-a-standby"


def format_lsn(position: int) -> str:
    """A byte position as PostgreSQL writes an LSN: ``16/B374D848``."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def requested_position(scope: Any) -> int | None:
    """The position a read's ``X-Spread-Consistency`` header asks for, or None; 422 if malformed."""
    for name, value in scope["headers"]:
        if name == _HEADER_KEY:
            text = value.decode("latin-1").strip()
            if not _TOKEN.match(text):
                raise InvalidInputError(
                    f"{HEADER} must be a token a write answered in that header, like 16/B374D848.",
                    field=f"header.{HEADER}",
                )
            return parse_lsn(text)
    return None


class Replica:
    """The read replica's pool and what the last check found; decides where each read goes."""

    def __init__(self, dsn: str, settings: Settings, connect: PoolFactory, take: Acquire) -> None:
        self.dsn = dsn
        self.settings = settings
        self._connect = connect  # service.db.create_pool
        self._take = take  # service.db._acquire: a timeout, then 503
        self.pool: asyncpg.Pool | None = None
        self.state = UNREACHABLE
        self.replayed = 0  # the furthest position the standby is known to have replayed
        self.lag_seconds: float | None = None
        self.checks = 0
        self._behind: deque[tuple[float, int]] = deque(maxlen=4096)  # (seen at, primary position)
        self._task: asyncio.Task[None] | None = None
        self._primary: asyncpg.Pool | None = None
        self._expiring: set[asyncio.Task[None]] = set()  # pool expiries in flight (kept referenced)

    @property
    def usable(self) -> bool:
        return self.state == OK and self.pool is not None

    async def start(self, primary: asyncpg.Pool) -> None:
        """Connect and check once (so a bad URL is reported at start), then keep checking."""
        self._primary = primary
        await self.check()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="spread-replica-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.pool is not None:
            try:
                await asyncio.wait_for(self.pool.close(), timeout=5)
            except (asyncio.CancelledError, TimeoutError):
                self.pool.terminate()
            self.pool = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replica_check_interval)
            await self.check()

    def _set(self, state: str, why: str) -> None:
        if state != self.state:
            log_at = log.info if state == OK else log.warning
            log_at("read replica %s: %s", state, why)
            if state == OK and self.pool is not None:
                # connections opened before an outage are dead: replace them on next acquire
                task = asyncio.get_running_loop().create_task(self.pool.expire_connections())
                self._expiring.add(task)
                task.add_done_callback(self._expiring.discard)
        self.state = state

    async def check(self) -> None:
        """One look at both servers: is the standby reachable, a standby, and how far behind."""
        self.checks += 1
        try:
            if self.pool is None:
                self.pool = await asyncio.wait_for(self._connect(self.dsn, self.settings), timeout=5)
            primary_position = await self._primary_position()
            async with asyncio.timeout(5):
                async with self.pool.acquire() as conn:
                    row = await conn.fetchrow(_STANDBY_SQL)
                    assert row is not None  # the statement always returns one row
                    in_recovery, replayed = row[0], row[1]
        except Exception as exc:
            if not is_connection_lost(exc) and not isinstance(exc, TimeoutError | asyncpg.PostgresError):
                log.exception("read replica check failed")
            self.lag_seconds = None
            self._set(UNREACHABLE, f"{exc!r}; reads go to the primary")
            return
        if not in_recovery:
            self.lag_seconds = None
            self._set(
                NOT_A_STANDBY,
                "SPREAD_READ_DATABASE_URL is not a standby (pg_is_in_recovery() is false): "
                "it is not used; reads go to the primary (DATABASE_URL)",
            )
            return
        now = time.monotonic()
        self.replayed = max(self.replayed, replayed or 0)
        if primary_position is not None and primary_position > self.replayed:
            self._behind.append((now, primary_position))
        while self._behind and self._behind[0][1] <= self.replayed:
            self._behind.popleft()
        self.lag_seconds = round(now - self._behind[0][0], 3) if self._behind else 0.0
        limit = self.settings.replica_max_lag_seconds
        if self.lag_seconds > limit:
            self._set(
                LAGGING, f"{self.lag_seconds:.1f} s behind the primary (limit {limit} s); reads go to the primary"
            )
        else:
            self._set(OK, f"{self.lag_seconds:.1f} s behind the primary")

    async def _primary_position(self) -> int | None:
        if self._primary is None:
            return None
        try:
            async with asyncio.timeout(5):
                async with self._primary.acquire() as conn:
                    position: int = await conn.fetchval(WRITE_POSITION_SQL)
                    return position
        except Exception as exc:  # noqa: BLE001 - the primary's own health is /health/ready's business
            log.debug("primary position unavailable: %r", exc)
            return None

    async def acquire_for_read(
        self, token: int | None, timeout: float
    ) -> tuple[asyncpg.Pool, asyncpg.Connection] | None:
        """The replica's pool and a connection of it that may serve this read, or None: use the primary.

        With a token, the standby must have replayed past it; it is asked every 10 ms for up
        to ``consistency_wait_ms``, on the connection the read will then use.
        """
        pool = self.pool
        if pool is None or self.state != OK:
            return None
        try:
            conn = await self._take(pool, timeout)
        except Exception as exc:
            if is_connection_lost(exc):
                self._set(UNREACHABLE, f"{exc!r}; reads go to the primary")
                return None
            raise
        if token is None or token <= self.replayed:
            return pool, conn
        deadline = time.monotonic() + self.settings.consistency_wait_ms / 1000
        try:
            while True:
                replayed = await conn.fetchval(REPLAY_POSITION_SQL)
                if replayed is not None and replayed > self.replayed:
                    self.replayed = replayed
                if self.replayed >= token:
                    return pool, conn
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(POLL_SECONDS)
        except Exception as exc:
            await _release_quietly(pool, conn)
            if is_connection_lost(exc):
                self._set(UNREACHABLE, f"{exc!r}; reads go to the primary")
                return None
            raise
        await _release_quietly(pool, conn)
        return None


async def _release_quietly(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    with contextlib.suppress(Exception):
        await pool.release(conn)  # type: ignore[arg-type]  # a connection this pool handed out


async def write_position(conn: asyncpg.Connection) -> str:
    """The token for a write that has committed: the primary's WAL write position now."""
    position: int = await conn.fetchval(WRITE_POSITION_SQL)
    return format_lsn(position)


async def start_replica(
    settings: Settings, primary: asyncpg.Pool, connect: PoolFactory, take: Acquire
) -> Replica | None:
    """The replica for ``SPREAD_READ_DATABASE_URL``, checked once, or None when it is unset."""
    if not settings.read_database_url:
        return None
    replica = Replica(settings.read_database_url, settings, connect, take)
    await replica.start(primary)
    if replica.state == UNREACHABLE:
        log.warning(
            "SPREAD_READ_DATABASE_URL cannot be reached; reads go to the primary until it answers (checked every %s s)",
            settings.replica_check_interval,
        )
    return replica


async def consistency_header(scope: Any) -> tuple[bytes, bytes] | None:
    """``X-Spread-Consistency`` for a successful write, read on the primary after it committed.

    On the request's own connection when it holds one of the primary's, else on a connection
    taken for this one query. If the primary cannot answer (it failed just after the commit)
    the write is still acknowledged, without a token.
    """
    app_state = scope["app"].state
    lease = scope["state"].get("conn_lease")
    try:
        if lease is not None and lease[0] is app_state.pool:
            token = await write_position(lease[1])
        else:
            async with asyncio.timeout(app_state.settings.pool_acquire_timeout):
                async with app_state.pool.acquire() as conn:
                    token = await write_position(conn)
    except Exception as exc:  # noqa: BLE001 - the write is done; only its token is missing
        log.warning("write acknowledged without %s: %r", HEADER, exc)
        return None
    return _HEADER_KEY, token.encode()
