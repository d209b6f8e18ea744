"""What a delivery attempt follows: the worker's settings, the retry back-off, the event body,
and how an answer or error is read (service.webhooks.worker sends; this decides)."""

from __future__ import annotations

import dataclasses
import random
import ssl

import httpx
import msgspec

from service.changes.schemas import ChangeActor
from service.webhooks.schemas import ClaimedDelivery, EventData, WebhookEvent

_encode = msgspec.json.Encoder().encode


@dataclasses.dataclass(frozen=True)
class WorkerConfig:
    secret_key: bytes = dataclasses.field(repr=False)  # SPREAD_SECRET_KEY: decrypts webhook secrets
    concurrency: int = 4  # deliveries in flight at once
    poll_interval: float = 1.0  # seconds between fan-outs, and between polls when idle
    timeout: float = 10.0  # seconds for one whole delivery: resolve, connect, send, answer
    base_delay: float = 10.0  # first retry after 5-10 s
    max_delay: float = 3600.0  # the wait stops doubling at one hour
    retry_window: float = 24 * 3600.0  # then the delivery is dead
    allow_private: bool = False  # SPREAD_WEBHOOK_ALLOW_PRIVATE: no SSRF guard (development, tests)
    lease_margin: float = 30.0  # a lease lasts timeout + this, so it outlives the POST
    max_response_bytes: int = 4096  # of a receiver's answer, read then dropped


def backoff(attempts: int, config: WorkerConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential, capped, with jitter."""
    ceiling: float = min(config.max_delay, config.base_delay * 2 ** min(attempts - 1, 40))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def event_body(job: ClaimedDelivery) -> bytes:
    """The JSON body: the same bytes on every attempt (only the timestamp header changes)."""
    event = WebhookEvent(
        id=str(job.change_seq),
        type=job.event_type,
        occurred_at=job.at,  # type: ignore[arg-type]  # deliver_next sends only jobs whose change exists (at set)
        data=EventData(
            entity=job.entity or "",
            entity_id=job.entity_id or "",
            action=job.action,  # type: ignore[arg-type]  # the change log's action: create, update or delete
            before=job.before,
            after=job.after,
            actor=msgspec.convert(job.actor or {}, ChangeActor),
        ),
    )
    return _encode(event)


def is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    return float(raw) if raw.isdigit() else None
