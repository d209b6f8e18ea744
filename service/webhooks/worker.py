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
2. **Delivery** (:meth:`Worker.deliver_next`). In a short transaction, lease the due head of
   one webhook's queue (``FOR UPDATE SKIP LOCKED``, then ``leased_until`` and a lease id set,
   COMMIT); send the POST with no transaction open and no connection held; record the outcome
   in a new statement, only if the lease is still this worker's. While the lease lasts (the
   total timeout plus a margin) no other worker can take that event, or, since only the head
   is eligible, any later event of that webhook; an expired lease (a worker that died) can be
   claimed by another. A slow receiver therefore holds no lock, no pool connection and no
   open transaction (which would stall ``GET /v1/changes`` for everyone).

Each POST goes to an address checked when it is sent (``targets.py``: public addresses
only, unless ``SPREAD_WEBHOOK_ALLOW_PRIVATE``): the worker resolves the host itself, checks
every address, and connects to the checked one, keeping the ``Host`` header and TLS server
name (SNI, and so certificate checks) those of the URL. One total timeout bounds the whole
exchange (resolution, connect, TLS, request, answer), so a receiver dripping one byte at a
time cannot hold it open; at most ``max_response_bytes`` of the answer are read. Only the
status code and a fixed error class are stored, never the answer.

Guarantees:

- **At least once, never twice concurrently.** A worker killed mid-POST records nothing; the
  event is sent again once its lease expires, with the same ``Spread-Event-Id``, which
  receivers use to drop the (rare) duplicate. Two live workers never send one event to one
  target at the same time (the lease outlasts the total timeout).
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
import time
from typing import Any

import asyncpg
import httpx
import msgspec

from service import __version__
from service.config import Settings
from service.db import init_connection, pooled, server_settings
from service.reviews.overdue import notice_overdue
from service.webhooks import queries, targets
from service.webhooks.crypto import SecretBox, SecretKeyError
from service.webhooks.policy import WorkerConfig, backoff, event_body, is_tls, retry_after
from service.webhooks.schemas import ClaimedDelivery
from service.webhooks.signing import signature_header

log = logging.getLogger("spread.webhooks")

_encode = msgspec.json.Encoder().encode


WORKER_APPLICATION_NAME = "spread-worker"
# A worker's transactions are a few statements long; one left open (a bug, a stuck task) is
# ended by the server rather than stalling the change feed.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000
OVERDUE_CHECK_SECONDS = 60.0  # how often a worker notices overdue reviews (review.overdue events)


async def create_worker_pool(dsn: str, settings: Settings, max_size: int) -> asyncpg.Pool:
    """The worker's pool: named ``spread-worker`` and with ``idle_in_transaction_session_timeout``."""
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        init=init_connection,
        server_settings={
            **server_settings(settings),
            "application_name": WORKER_APPLICATION_NAME,
            "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS),
        },
        command_timeout=max(settings.statement_timeout_ms / 1000 + 5, 10),
    )


@dataclasses.dataclass
class Stats:
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0  # outcomes dropped because the lease had expired and been taken


class Worker:
    """Fans changes out to webhook queues and delivers them; see the module docstring."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        config: WorkerConfig,
        http: httpx.AsyncClient | None = None,
        *,
        name: str = "worker",
    ) -> None:
        self.pool = pool
        self.config = config
        self._http = http
        self._own_http = http is None
        self.name = name
        self.stats = Stats()
        self._wake = asyncio.Event()
        self._next_overdue_check = 0.0  # the first fan-out checks
        self._box = SecretBox(self.config.secret_key)

    async def __aenter__(self) -> Worker:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.config.timeout,  # per phase, a backstop; the total bound is in _post
                follow_redirects=False,
                trust_env=False,  # no proxies from the environment: the checked address is the one used
                # No keep-alive (see _exchange).
                limits=httpx.Limits(max_connections=self.config.concurrency * 2, max_keepalive_connections=0),
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
        async with self.pool.acquire() as proxy:
            conn = pooled(proxy)
            if time.monotonic() >= self._next_overdue_check:  # review.overdue events (service/reviews/overdue.py)
                self._next_overdue_check = time.monotonic() + OVERDUE_CHECK_SECONDS
                await notice_overdue(conn)
            queued, webhooks = await queries.fan_out(conn)
        if queued:
            self.stats.queued += queued
            self._wake.set()
            log.info("queued", extra={"worker": self.name, "deliveries": queued, "webhooks": webhooks})
        return queued

    async def deliver_next(self) -> bool:
        """Lease, send and record one due delivery; False when none is due."""
        async with self.pool.acquire() as proxy:
            conn = pooled(proxy)
            job = await queries.claim_delivery(conn, self.config.timeout + self.config.lease_margin)
        if job is None:
            return False
        if job.at is None:
            async with self.pool.acquire() as proxy:
                conn = pooled(proxy)
                await queries.mark_dead(conn, job, "change_missing")
            self.stats.dead += 1
            log.warning("dead", extra=self._fields(job, error="change_missing"))
            return True
        # No connection is held and no transaction is open from here until the outcome.
        status_code, error, retry_after = await self._post(job)
        async with self.pool.acquire() as proxy:
            conn = pooled(proxy)
            if error is None:
                recorded = await queries.mark_delivered(conn, job, status_code or 0)
                outcome = None
            else:
                delay = backoff(job.attempts + 1, self.config)
                if retry_after is not None:
                    delay = max(delay, min(retry_after, self.config.max_delay))
                outcome = await queries.mark_failed(conn, job, status_code, error, delay, self.config.retry_window)
                recorded = outcome is not None
        if not recorded:
            self.stats.lost += 1
            log.warning("lease lost", extra=self._fields(job, status_code=status_code, error=error))
        elif outcome is None:
            self.stats.delivered += 1
            log.info("delivered", extra=self._fields(job, status_code=status_code, attempt=job.attempts + 1))
        elif outcome[0] == "dead":
            self.stats.dead += 1
            log.warning("dead", extra=self._fields(job, status_code=status_code, error=error, attempt=job.attempts + 1))
        else:
            self.stats.failed += 1
            next_at = outcome[1]
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

    def _signature(self, job: ClaimedDelivery, timestamp: str, body: bytes) -> str:
        """``v1=<new>``, and during a rotation's overlap ``, v1=<previous>`` too."""
        values = [signature_header(self._box.decrypt(job.webhook_id, job.secret_ciphertext), timestamp, body)]
        if job.previous_secret_ciphertext is not None:
            previous = self._box.decrypt(job.webhook_id, job.previous_secret_ciphertext)
            values.append(signature_header(previous, timestamp, body))
        return ", ".join(values)

    async def _post(self, job: ClaimedDelivery) -> tuple[int | None, str | None, float | None]:
        """POST the event: (status code, error class or None on 2xx, Retry-After seconds)."""
        assert self._http is not None, "use the worker as an async context manager"
        body = event_body(job)
        timestamp = str(int(time.time()))
        try:
            signature = self._signature(job, timestamp, body)
        except SecretKeyError:
            return None, "secret_unavailable", None
        headers = {
            "Content-Type": "application/json",
            "Spread-Event-Id": str(job.change_seq),
            "Spread-Event-Type": job.event_type,
            "Spread-Timestamp": timestamp,
            "Spread-Signature": signature,
            "Spread-Delivery-Attempt": str(job.attempts + 1),
        }
        # The request that made the change, so a receiver can trace it back (NHS convention).
        if job.request_id:
            headers["X-Request-ID"] = job.request_id
        if job.correlation_id:
            headers["X-Correlation-ID"] = job.correlation_id
        try:
            async with asyncio.timeout(self.config.timeout):  # one bound for the whole exchange
                return await self._exchange(job.url, headers, body)
        except targets.TargetRefused as exc:
            return None, exc.error, None
        except (TimeoutError, httpx.TimeoutException):
            return None, "timeout", None
        except httpx.ConnectError as exc:
            return None, "tls_failed" if is_tls(exc) else "connection_failed", None
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError):
            return None, "protocol_error", None
        except (httpx.HTTPError, httpx.InvalidURL, OSError):
            return None, "connection_failed", None

    async def _exchange(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int, str | None, float | None]:
        """Resolve and check the host, connect to the checked address, send, read a little."""
        assert self._http is not None
        target = httpx.URL(url)
        host, port = targets.host_and_port(url)
        addresses = await targets.resolve(host, port, allow_private=self.config.allow_private)
        request = self._http.build_request(
            "POST",
            target.copy_with(host=str(addresses[0])),
            content=body,
            # Connection: close as well as no keep-alive in the pool: a connection is keyed by
            # the address, and one verified for this host must never carry another's request.
            headers={**headers, "Host": target.netloc.decode("ascii"), "Connection": "close"},
            extensions={"sni_hostname": host} if target.scheme == "https" else {},
        )
        response = await self._http.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= self.config.max_response_bytes:
                    break
        finally:
            await response.aclose()
        if 200 <= response.status_code < 300:
            return response.status_code, None, None
        return response.status_code, "http_status", retry_after(response)

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
