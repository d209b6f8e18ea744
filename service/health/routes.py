"""``/health/live`` (the process is up) and ``/health/ready`` (database reachable, schema at head).

Both are public, so they say ready or not and nothing else (no schema revisions: the log has
those). Readiness is checked at most about once a second per process: the answer is cached,
and a burst of probes waits on one shared check instead of each taking a pool connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from litestar import Request, get

from service.db import acquire
from service.errors import ServiceUnavailableError, responses
from service.migrate import head_revision, revision_on
from service.types import ReadBase

log = logging.getLogger("spread.health")

CACHE_SECONDS = 1.0


class Health(ReadBase, frozen=True, omit_defaults=True):
    status: str
    # Only with SPREAD_READ_DATABASE_URL: ok, lagging, unreachable or not-a-standby. Anything
    # but ok means reads are served by the primary (status "degraded"; still ready).
    replica: str | None = None
    replica_lag_seconds: float | None = None


class Readiness:
    """The last readiness answer of this process, and the lock that keeps checks to one at a time."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.checked_at = float("-inf")  # time.monotonic() when the last check finished
        self.problem: str | None = None  # why the service is not ready, or None when it is
        self.checks = 0  # database checks made (a burst of probes should make one)

    def fresh(self, arrived: float) -> bool:
        """A check that finished after this probe arrived, or within the cache period, answers it."""
        return self.checked_at >= arrived or time.monotonic() - self.checked_at < CACHE_SECONDS


async def _check(app: Any) -> str | None:
    """Why the database cannot serve this service (unreachable, not migrated), or None."""
    settings = app.state.settings
    expected = head_revision()
    try:
        async with acquire(app.state.pool, settings.pool_acquire_timeout) as conn:
            current = await revision_on(conn)
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        log.warning("not ready: database unreachable: %r", exc)
        return "The database is not reachable."
    if current != expected:
        log.warning("not ready: schema at %s, service needs %s; run `spread migrate`", current, expected)
        return "The database schema is not the one this version needs. Run `spread migrate`."
    return None


@get("/health/live", operation_id="GetLiveness", tags=["health"], summary="The process is up")
async def live() -> Health:
    """Answers 200 while the process can serve requests; checks nothing else."""
    return Health(status="ok")


@get(
    "/health/ready",
    operation_id="GetReadiness",
    tags=["health"],
    summary="The database is reachable and migrated",
    responses=responses(503),
)
async def ready(request: Request[Any, Any, Any]) -> Health:
    """200 when the database answers and its schema is the one this version needs; 503 otherwise.

    With a read replica configured, also how it is doing: ``replica`` is ``ok``, ``lagging``
    (further behind than ``SPREAD_REPLICA_MAX_LAG_SECONDS``), ``unreachable`` or
    ``not-a-standby``; in the last three cases reads are served by the primary and ``status``
    is ``degraded`` (the service is still ready).
    """
    app = request.app
    state: Readiness | None = getattr(app.state, "readiness", None)
    if state is None:
        state = app.state.readiness = Readiness()
    arrived = time.monotonic()
    if not state.fresh(arrived):
        async with state.lock:
            if not state.fresh(arrived):  # nobody refreshed it while this probe waited
                state.checks += 1
                state.problem = await _check(app)
                state.checked_at = time.monotonic()
    if state.problem is not None:
        raise ServiceUnavailableError(state.problem, headers={"Retry-After": "5"})
    replica = getattr(app.state, "replica", None)
    if replica is None:
        return Health(status="ok")
    return Health(
        status="ok" if replica.state == "ok" else "degraded",
        replica=replica.state,
        replica_lag_seconds=replica.lag_seconds,
    )
