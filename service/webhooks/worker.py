"""The delivery worker behind ``spread worker``: change log -> per-webhook queue -> signed POSTs.

Two steps, both safe to run in several processes at once:

1. **Fan-out** (:meth:`Worker.fan_out`). The change log is the outbox: every write appended
   its change row in its own transaction. Each webhook remembers the snapshot of its last
   fan-out; the changes whose transaction is visible now but was not then (committed in
   between) become rows in ``webhook_deliveries``, and the snapshot is replaced, in one
   statement. A change that commits late (after others with a higher ``seq``) is picked up
   when it commits, never skipped: the change feed's commit-safe guarantee, without waiting
   for every older transaction on the server to end. Webhook rows are locked
   ``FOR UPDATE SKIP LOCKED``, so two workers never fan out the same webhook at once.
2. **Delivery** (:meth:`Worker.deliver_next`). In a transaction, lock the due head of one
   webhook's queue ``FOR UPDATE SKIP LOCKED``, POST it, record the outcome, commit. The lock
   is held during the POST, so no other worker can send that event (or, since only the head
   is eligible, any later event of that webhook) until the outcome is recorded.

Guarantees:

- **At least once, never twice concurrently.** A worker killed mid-POST rolls back; the
  event is sent again later with the same ``Spread-Event-Id``, which receivers use to drop
  the (rare) duplicate. Two live workers never send one event to one target twice.
- **In order per webhook.** A webhook's events go out one at a time in change order: ``seq``
  order among the changes queued so far (a transaction that commits after a later-numbered
  one is queued, and so sent, after it; changes to one record are always in order, since the
  second writer waits for the first to commit). While an event is being retried, later ones for that webhook wait
  behind it; other webhooks are not held up. A dead event releases the queue.
- **Retries** back off exponentially with jitter (``base_delay`` doubling up to ``max_delay``,
  each wait drawn from its upper half, and ``Retry-After`` honoured) for ``retry_window``
  (24 hours) from when the event was queued, with a last try at the window's end; then the
  delivery is ``dead``. Nothing is lost while a receiver is down or the worker is stopped:
  the queue is in the database, and a webhook's snapshot moves in the statement that queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from typing import Any

import asyncpg
import httpx
import msgspec

from service import __version__
from service.changes.schemas import ChangeActor
from service.webhooks import queries
from service.webhooks.schemas import ClaimedDelivery, EventData, WebhookEvent
from service.webhooks.signing import signature_header

log = logging.getLogger("spread.webhooks")

_encode = msgspec.json.Encoder().encode


@dataclasses.dataclass(frozen=True)
class WorkerConfig:
    concurrency: int = 4  # deliveries in flight at once (each holds one connection)
    poll_interval: float = 1.0  # seconds between fan-outs, and between polls when idle
    timeout: float = 10.0  # seconds for one POST, connect to last byte
    base_delay: float = 10.0  # first retry after 5-10 s
    max_delay: float = 3600.0  # the wait stops doubling at one hour
    retry_window: float = 24 * 3600.0  # then the delivery is dead


def backoff(attempts: int, config: WorkerConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential, capped, with jitter."""
    ceiling = min(config.max_delay, config.base_delay * 2 ** min(attempts - 1, 40))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def event_body(job: ClaimedDelivery) -> bytes:
    """The JSON body: the same bytes on every attempt (only the timestamp header changes)."""
    event = WebhookEvent(
        id=str(job.change_seq),
        type=job.event_type,
        occurred_at=job.at,  # type: ignore[arg-type]
        data=EventData(
            entity=job.entity or "",
            entity_id=job.entity_id or "",
            action=job.action,  # type: ignore[arg-type]
            before=job.before,
            after=job.after,
            actor=msgspec.convert(job.actor or {}, ChangeActor),
        ),
    )
    return _encode(event)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    return float(raw) if raw.isdigit() else None


@dataclasses.dataclass
class Stats:
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0


class Worker:
    """Fans changes out to webhook queues and delivers them; see the module docstring."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        config: WorkerConfig | None = None,
        http: httpx.AsyncClient | None = None,
        *,
        name: str = "worker",
    ) -> None:
        self.pool = pool
        self.config = config or WorkerConfig()
        self._http = http
        self._own_http = http is None
        self.name = name
        self.stats = Stats()
        self._wake = asyncio.Event()

    async def __aenter__(self) -> Worker:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.config.timeout,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=self.config.concurrency * 2),
                headers={"User-Agent": f"Spread-Webhooks/{__version__}"},
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- the two steps ----------------------------------------------------------------------

    async def fan_out(self) -> int:
        """Queue deliveries for every change finished since the last fan-out; how many."""
        async with self.pool.acquire() as conn:
            queued, webhooks = await queries.fan_out(conn)
        if queued:
            self.stats.queued += queued
            self._wake.set()
            log.info("queued", extra={"worker": self.name, "deliveries": queued, "webhooks": webhooks})
        return queued

    async def deliver_next(self) -> bool:
        """Claim, send and record one due delivery; False when none is due."""
        async with self.pool.acquire() as conn, conn.transaction():
            job = await queries.claim_delivery(conn)
            if job is None:
                return False
            if job.at is None:
                await queries.mark_dead(conn, job.id, "the change is no longer in the change log")
                self.stats.dead += 1
                log.warning("dead", extra=self._fields(job, reason="change missing"))
                return True
            status_code, error, retry_after = await self._post(job)
            if error is None:
                await queries.mark_delivered(conn, job.id, status_code or 0)
                self.stats.delivered += 1
                log.info("delivered", extra=self._fields(job, status_code=status_code, attempt=job.attempts + 1))
                return True
            delay = backoff(job.attempts + 1, self.config)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.config.max_delay))
            state, next_at = await queries.mark_failed(
                conn, job.id, status_code, error, delay, self.config.retry_window
            )
        if state == "dead":
            self.stats.dead += 1
            log.warning("dead", extra=self._fields(job, status_code=status_code, error=error, attempt=job.attempts + 1))
        else:
            self.stats.failed += 1
            log.info(
                "failed",
                extra=self._fields(
                    job,
                    status_code=status_code,
                    error=error,
                    attempt=job.attempts + 1,
                    next_attempt_at=next_at.isoformat() if next_at else None,
                ),
            )
        return True

    async def _post(self, job: ClaimedDelivery) -> tuple[int | None, str | None, float | None]:
        """POST the event: (status code, error or None on 2xx, Retry-After seconds)."""
        assert self._http is not None, "use the worker as an async context manager"
        body = event_body(job)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Spread-Event-Id": str(job.change_seq),
            "Spread-Event-Type": job.event_type,
            "Spread-Timestamp": timestamp,
            "Spread-Signature": signature_header(job.secret, timestamp, body),
            "Spread-Delivery-Attempt": str(job.attempts + 1),
        }
        try:
            response = await self._http.post(job.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, f"timed out after {self.config.timeout:g} s", None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__, None
        if 200 <= response.status_code < 300:
            return response.status_code, None, None
        excerpt = response.text[:300].strip()
        error = f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else "")
        return response.status_code, error, _retry_after(response)

    def _fields(self, job: ClaimedDelivery, **more: Any) -> dict[str, Any]:
        return {
            "worker": self.name,
            "webhook_id": str(job.webhook_id),
            "event_id": str(job.change_seq),
            "event_type": job.event_type,
            **more,
        }

    # --- loops ------------------------------------------------------------------------------

    async def _nap(self, stop: asyncio.Event, seconds: float) -> None:
        """Sleep until ``seconds`` pass, ``stop`` is set or new deliveries are queued."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _fan_out_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.fan_out()
            except Exception as exc:  # a lost connection must not stop the worker; retried next interval
                log.exception("fan-out failed", extra={"worker": self.name, "error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_interval)

    async def _slot(self, stop: asyncio.Event, *, until_idle: bool) -> None:
        while not stop.is_set():
            try:
                busy = await self.deliver_next()
            except Exception as exc:  # one bad delivery or a lost connection must not stop the worker
                log.error("delivery step failed", extra={"worker": self.name, "error": repr(exc)})
                busy = False
                if until_idle:
                    raise
            if busy:
                continue
            if until_idle:
                return
            self._wake.clear()
            await self._nap(stop, self.config.poll_interval)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; deliveries in flight then finish (bounded by the timeout)."""
        log.info("worker started", extra={"worker": self.name, "concurrency": self.config.concurrency})
        tasks = [asyncio.create_task(self._fan_out_loop(stop))]
        tasks += [asyncio.create_task(self._slot(stop, until_idle=False)) for _ in range(self.config.concurrency)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            log.info("worker stopped", extra={"worker": self.name, **dataclasses.asdict(self.stats)})

    async def drain(self, stop: asyncio.Event | None = None) -> Stats:
        """``--once``: queue what has finished, send everything due now, return.

        Retries scheduled for later stay queued for the next run.
        """
        stop = stop or asyncio.Event()
        await self.fan_out()
        slots = [self._slot(stop, until_idle=True) for _ in range(self.config.concurrency)]
        await asyncio.gather(*slots)
        log.info("drained", extra={"worker": self.name, **dataclasses.asdict(self.stats)})
        return self.stats
