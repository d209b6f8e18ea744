"""Writing webhooks: check the target (a public address) and the events, generate and
encrypt the secret, rotate it, record who did it."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.config import Settings
from service.db import Actor, write_transaction
from service.errors import InvalidInputError, NotFoundError, ServiceUnavailableError
from service.webhooks import queries, targets
from service.webhooks.crypto import SecretBox, new_secret
from service.webhooks.schemas import (
    EVENT_PATTERNS,
    SecretRotated,
    SecretRotation,
    WebhookCreate,
    WebhookCreated,
)


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


async def check_target(url: str, settings: Settings) -> None:
    """422 (field ``url``) unless every address the host resolves to is public."""
    if settings.webhook_allow_private:
        return
    host, port = targets.host_and_port(url)
    try:
        await targets.resolve(host, port, allow_private=False)
    except targets.TargetRefused as exc:
        raise InvalidInputError(f"url: {exc.detail}", field="url") from None


def secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is None:
        raise ServiceUnavailableError(
            "webhook secrets are encrypted with SPREAD_SECRET_KEY, which this server does not have; "
            "an operator must set it"
        )
    return SecretBox(settings.secret_key)


async def create_webhook(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, data: WebhookCreate, settings: Settings
) -> WebhookCreated:
    url = check_url(data.url)
    events = check_events(data.events)
    box = secret_box(settings)
    await check_target(url, settings)
    webhook_id = uuid.uuid4()
    secret = new_secret()
    async with write_transaction(conn, actor):
        webhook = await queries.insert_webhook(
            conn,
            webhook_id=webhook_id,
            url=url,
            events=events,
            secret_ciphertext=box.encrypt(webhook_id, secret),
            description=data.description,
            partner_id=principal.partner_id,
            sees_all_partners=principal.is_admin,
        )
    return WebhookCreated(**msgspec.structs.asdict(webhook), secret=secret)


async def rotate_secret(
    conn: asyncpg.Connection, actor: Actor, webhook_id: uuid.UUID, data: SecretRotation, settings: Settings
) -> SecretRotated:
    """A new secret; the old one keeps signing (alongside) for ``overlapSeconds``."""
    box = secret_box(settings)
    secret = new_secret()
    async with write_transaction(conn, actor):
        if not await queries.lock_webhook(conn, webhook_id):
            raise NotFoundError(f"no webhook has id {webhook_id}")
        expires = await queries.rotate_secret(
            conn, webhook_id, box.encrypt(webhook_id, secret), float(data.overlap_seconds)
        )
    return SecretRotated(id=webhook_id, secret=secret, previous_secret_expires_at=expires)


async def delete_webhook(conn: asyncpg.Connection, actor: Actor, webhook_id: uuid.UUID) -> None:
    """Delete a webhook and its delivery log; a delivery in flight is sent, and its outcome dropped."""
    async with write_transaction(conn, actor):
        if not await queries.delete_webhook(conn, webhook_id):
            raise NotFoundError(f"no webhook has id {webhook_id}")
