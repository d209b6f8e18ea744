"""Writing webhooks: check the target and the events, generate a secret, record who did it."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.db import Actor, write_transaction
from service.errors import InvalidInputError, NotFoundError
from service.webhooks import queries
from service.webhooks.schemas import EVENT_PATTERNS, WebhookCreate, WebhookCreated

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that marks generated secrets


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when it is not a number in range
    except ValueError:
        raise InvalidInputError("url is not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInputError("url must start with http:// or https://", field="url")
    if not parts.hostname:
        raise InvalidInputError("url must name a host, e.g. https://example.org/hooks", field="url")
    if port == 0:
        raise InvalidInputError("url has port 0", field="url")
    if parts.username or parts.password:
        raise InvalidInputError("url must not carry a user name or password; use the signature", field="url")
    if parts.fragment:
        raise InvalidInputError("url must not have a #fragment", field="url")
    return url


def check_events(events: list[str]) -> list[str]:
    """The distinct patterns, sorted; 422 naming the first unknown one."""
    for i, pattern in enumerate(events):
        if pattern not in EVENT_PATTERNS:
            entity = pattern.split(".")[0]
            hint = (
                f"; {entity} has {', '.join(sorted(p for p in EVENT_PATTERNS if p.startswith(entity + '.')))}"
                if any(p.startswith(entity + ".") for p in EVENT_PATTERNS)
                else "; patterns look like innovation.*, adoption.created, adoption.stage_changed or *"
            )
            raise InvalidInputError(f"'{pattern}' is not a known event{hint}", field=f"events[{i}]")
    return sorted(set(events))


async def create_webhook(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, data: WebhookCreate
) -> WebhookCreated:
    url = check_url(data.url)
    events = check_events(data.events)
    secret = data.secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    async with write_transaction(conn, actor):
        webhook = await queries.insert_webhook(
            conn,
            url=url,
            events=events,
            secret=secret,
            description=data.description,
            partner_id=principal.partner_id,
        )
    return WebhookCreated(**msgspec.structs.asdict(webhook), secret=secret)


async def delete_webhook(conn: asyncpg.Connection, actor: Actor, webhook_id: uuid.UUID) -> None:
    """Delete a webhook and its delivery log; deliveries in flight finish first (row locks)."""
    async with write_transaction(conn, actor):
        if not await queries.delete_webhook(conn, webhook_id):
            raise NotFoundError(f"no webhook has id {webhook_id}")
