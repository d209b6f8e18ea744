"""Rate limits: fixed one-minute windows, counted per process, shared through PostgreSQL.

Budgets (settings, per minute): every request of a key (``key:<id>``), the writes of a key
(``write:<id>``: methods other than GET/HEAD/OPTIONS) and failed authentications per client
address (``addr:<ip>``), so random ``Bearer spr_...`` tokens cannot be used to load the
database: an address over its failure budget is answered 429 without a lookup.

Counting costs no round trip. Each process adds hits to a local delta; :meth:`RateLimiter.flush`
(every ``flush_interval``, 250 ms) adds every delta to ``rate_limit_counts`` in one set-based
UPSERT that returns the shared totals. A request is refused when the shared total last seen
plus this process's unflushed hits reach the budget. The bound this gives: within one
process the limit is exact; across N processes another process's hits are seen up to one
flush interval (plus the UPSERT's round trip) late, so a key can exceed its budget by at
most what the other N-1 processes admit for it in that interval (at 1,200/minute spread
evenly, about 5 requests per process). Windows older than the previous minute are deleted
once per minute; nothing outlives two windows, so no replica depends on state another holds.

Time comes from ``clock`` (seconds since the epoch), so tests control it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger("spread.ratelimit")

WINDOW = 60

_FLUSH = """
INSERT INTO rate_limit_counts AS c (subject, window_start, hits)
SELECT s, to_timestamp(w), h FROM unnest($1::text[], $2::bigint[], $3::int[]) AS t (s, w, h)
ON CONFLICT (subject, window_start) DO UPDATE SET hits = c.hits + excluded.hits
RETURNING subject, extract(epoch FROM window_start)::bigint AS window, hits
"""

# Windows before the previous one can no longer decide anything.
_PRUNE = "DELETE FROM rate_limit_counts WHERE window_start < to_timestamp($1)"


class Decision:
    """The outcome of counting one request against one budget."""

    __slots__ = ("allowed", "limit", "remaining", "reset")

    def __init__(self, allowed: bool, limit: int, remaining: int, reset: int) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset = reset  # seconds until the window ends

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers)."""
        return [
            (b"ratelimit-policy", f'"default";q={self.limit};w={WINDOW}'.encode()),
            (b"ratelimit", f'"default";r={self.remaining};t={self.reset}'.encode()),
        ]


class RateLimiter:
    """Local counts and the last shared totals, flushed to PostgreSQL by :meth:`run`."""

    def __init__(self, *, clock: Callable[[], float] = time.time, flush_interval: float = 0.25) -> None:
        self.clock = clock
        self.flush_interval = flush_interval
        self._window = 0
        self._delta: dict[str, int] = {}  # this window's unflushed hits by subject
        self._shared: dict[str, int] = {}  # this window's shared totals, as last flushed
        self._flushing: dict[tuple[str, int], int] = {}
        self._pruned_before = 0
        self._task: asyncio.Task[None] | None = None

    def _roll(self) -> int:
        now = self.clock()
        window = int(now // WINDOW) * WINDOW
        if window != self._window:
            # Unflushed hits of the finished window still go to the table (another process
            # may be deciding on it for a moment); the local view starts afresh.
            for subject, hits in self._delta.items():
                key = (subject, self._window)
                self._flushing[key] = self._flushing.get(key, 0) + hits
            self._window = window
            self._delta = {}
            self._shared = {}
        return window

    def seen(self, subject: str) -> int:
        """Hits counted for ``subject`` in the current window (shared total + unflushed)."""
        self._roll()
        return self._shared.get(subject, 0) + self._delta.get(subject, 0)

    def over(self, subject: str, limit: int) -> Decision | None:
        """A refusal if ``subject`` has used its budget, without counting; else None."""
        used = self.seen(subject)
        if used < limit:
            return None
        return Decision(False, limit, 0, self._reset())

    def hit(self, subject: str, limit: int) -> Decision:
        """Count one request for ``subject``; refused (and not counted) once the budget is used."""
        used = self.seen(subject)
        if used >= limit:
            return Decision(False, limit, 0, self._reset())
        self._delta[subject] = self._delta.get(subject, 0) + 1
        return Decision(True, limit, limit - used - 1, self._reset())

    def count(self, subject: str) -> None:
        """Count one event (a failed authentication) without deciding anything."""
        self._roll()
        self._delta[subject] = self._delta.get(subject, 0) + 1

    def _reset(self) -> int:
        return max(1, int(self._window + WINDOW - self.clock() + 0.999))

    async def flush(self, conn: asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]) -> None:
        """Add the local deltas to the shared counts in one statement; learn the totals."""
        window = self._roll()
        batch = self._flushing
        for subject, hits in self._delta.items():
            batch[(subject, window)] = batch.get((subject, window), 0) + hits
        self._flushing = {}
        self._delta = {}
        if batch:
            subjects = [s for s, _ in batch]
            windows = [w for _, w in batch]
            try:
                rows = await conn.fetch(_FLUSH, subjects, windows, list(batch.values()))
            except BaseException:
                # Keep the hits for the next flush; decisions meanwhile use local counts.
                for (subject, w), hits in batch.items():
                    if w == self._window:
                        self._delta[subject] = self._delta.get(subject, 0) + hits
                    else:
                        self._flushing[(subject, w)] = self._flushing.get((subject, w), 0) + hits
                raise
            for row in rows:
                if row["window"] == self._window:
                    self._shared[row["subject"]] = row["hits"]
        if self._pruned_before < window - WINDOW:
            await conn.execute(_PRUNE, float(window - WINDOW))
            self._pruned_before = window - WINDOW

    def start(self, pool: asyncpg.Pool) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(pool), name="spread-rate-limit-flush")

    async def stop(self, pool: asyncpg.Pool) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            async with pool.acquire(timeout=2) as conn:
                await self.flush(conn)

    async def _run(self, pool: asyncpg.Pool) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            if not self._delta and not self._flushing and self._pruned_before >= self._window - WINDOW:
                continue
            try:
                async with pool.acquire(timeout=self.flush_interval * 4) as conn:
                    await self.flush(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - counting must never take requests down
                log.warning("could not flush rate-limit counts: %r", exc)
