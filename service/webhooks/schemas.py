"""Webhook request and response bodies, the event a receiver gets, and the known event names."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

from service.changes.schemas import ChangeActor, Entity
from service.types import TEXT, Base, ReadBase

# Every entity the change log records, except webhooks themselves.
ENTITIES: tuple[str, ...] = tuple(e for e in get_args(Entity) if e != "webhook")
ACTIONS: dict[str, str] = {"create": "created", "update": "updated", "delete": "deleted"}
EVENT_TYPES: tuple[str, ...] = (
    *(f"{entity}.{past}" for entity in ENTITIES for past in ACTIONS.values()),
    "adoption.stage_changed",
    "review.overdue",
)
# What a webhook may subscribe to: an event type, every event of one entity, or everything.
EVENT_PATTERNS: frozenset[str] = frozenset({*EVENT_TYPES, *(f"{e}.*" for e in ENTITIES), "*"})

EventPattern = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=60,
        pattern=r"^(\*|[a-z_]{1,30}\.(\*|[a-z_]{1,20}))$(?!\n)",
        description="An event type (`adoption.created`, `adoption.stage_changed`), `<entity>.*`, or `*`.",
        examples=["adoption.stage_changed"],
    ),
]
WebhookUrl = Annotated[
    str,
    Meta(
        min_length=10,
        max_length=2000,
        pattern=r"^https?://[!\x22$-.0->@-~][!-~]*$(?!\n)",  # printable ASCII, a host first
        description="Where deliveries are POSTed (http or https).",
        examples=["https://integration.example.nhs.uk/spread-events"],
    ),
]
DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]
# The delivery log keeps a fixed class of error, never what a receiver answered.
DeliveryError = Literal[
    "http_status",  # a non-2xx answer (the code is in lastStatusCode)
    "timeout",  # no complete answer within the worker's total timeout
    "connection_failed",
    "tls_failed",
    "unresolvable_host",
    "forbidden_address",  # the host resolved to a non-public address (SSRF guard)
    "protocol_error",  # not a valid HTTP answer
    "change_missing",  # the change is no longer in the change log
    "secret_unavailable",  # the secret does not decrypt with SPREAD_SECRET_KEY
]


class WebhookCreate(Base, frozen=True):
    """A new webhook: where to send and which events. The server generates the signing secret."""

    url: WebhookUrl
    events: Annotated[list[EventPattern], Meta(min_length=1, max_length=50)]
    description: Annotated[str, Meta(max_length=500, pattern=TEXT)] = ""


class Webhook(ReadBase, frozen=True, omit_defaults=False):
    """A webhook target. It receives the events for changes made after it was created."""

    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    active: bool
    created_by_partner_id: uuid.UUID | None
    created_at: dt.datetime
    secret_rotated_at: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None
    """While a rotated-out secret still signs deliveries (alongside the new one): until when."""


class WebhookCreated(Webhook, frozen=True):
    """The new webhook, with its signing secret (shown this once only)."""

    secret: str


class SecretRotation(Base, frozen=True):
    """How long the old secret keeps signing deliveries, alongside the new one."""

    overlap_seconds: Annotated[int, Meta(ge=0, le=7 * 24 * 3600)] = 24 * 3600


class SecretRotated(ReadBase, frozen=True, omit_defaults=False):
    """The new signing secret (shown this once only) and when the old one stops signing."""

    id: uuid.UUID
    secret: str
    previous_secret_expires_at: dt.datetime | None


class WebhookPage(ReadBase, frozen=True):
    items: list[Webhook]
    next_cursor: str | None


class Delivery(ReadBase, frozen=True, omit_defaults=False):
    """One event for one webhook: its state, how many attempts, and the last outcome."""

    id: int
    event_id: str
    type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: DeliveryError | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryPage(ReadBase, frozen=True):
    items: list[Delivery]
    next_cursor: str | None


# --- what a receiver gets --------------------------------------------------------------------


class EventData(ReadBase, frozen=True, omit_defaults=False):
    """The change behind an event: the record before and after, and who made it."""

    entity: str
    entity_id: str
    action: Literal["create", "update", "delete"]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: ChangeActor


class WebhookEvent(ReadBase, frozen=True):
    """The JSON body of a delivery. ``id`` is the change's ``seq``: the same on every retry."""

    id: str
    type: str
    occurred_at: dt.datetime
    data: EventData


# --- worker internals (never on the wire as such) ---------------------------------------------


class ClaimedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery a worker has leased, with its target and the change to send."""

    id: int
    lease_id: uuid.UUID
    webhook_id: uuid.UUID
    change_seq: int
    event_type: str
    attempts: int
    created_at: dt.datetime
    url: str
    secret_ciphertext: bytes
    previous_secret_ciphertext: bytes | None
    at: dt.datetime | None
    entity: str | None
    entity_id: str | None
    action: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: dict[str, Any] | None
    request_id: str | None = None
    correlation_id: str | None = None
