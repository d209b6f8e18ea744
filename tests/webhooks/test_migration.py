"""Migration 0010: existing plain-text secrets are encrypted (and decrypted on downgrade), old
delivery errors that quoted receivers are reduced to their class, and a key is required."""

from __future__ import annotations

import asyncio
import base64
import typing
import uuid

import asyncpg
import pytest

from service import migrate
from service.embedded import with_database
from service.webhooks.crypto import SecretBox
from service.webhooks.schemas import DeliveryError
from tests.conftest import SERVER_DSN
from tests.webhooks.conftest import SECRET_KEY

PLAIN = "an-old-client-chosen-secret"


async def _sql(dsn: str, sql: str, *args: object) -> typing.Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
def empty_dsn() -> typing.Iterator[str]:
    name = f"spread_mig_wh_{uuid.uuid4().hex[:8]}"
    asyncio.run(_sql(SERVER_DSN, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(SERVER_DSN, name)
    finally:
        asyncio.run(_sql(SERVER_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _old_webhook(dsn: str) -> uuid.UUID:
    rows = asyncio.run(
        _sql(
            dsn,
            """WITH w AS (INSERT INTO webhooks (url, events, secret) VALUES ('https://example.org/h', '{*}', $1)
                          RETURNING id),
                    d AS (INSERT INTO webhook_deliveries (webhook_id, change_seq, event_type, status, attempts,
                                                          last_status_code, last_error, next_attempt_at)
                          SELECT id, 1, 'site.created', 'failed', 1, 500, 'HTTP 500: root:x:0:0', now() FROM w)
               SELECT id FROM w""",
            PLAIN,
        )
    )
    return rows[0]["id"]


def test_existing_secrets_are_encrypted_and_restored_on_downgrade(empty_dsn: str, monkeypatch) -> None:
    migrate.upgrade(empty_dsn, "0007")
    webhook_id = _old_webhook(empty_dsn)
    monkeypatch.setenv("SPREAD_SECRET_KEY", base64.urlsafe_b64encode(SECRET_KEY).decode())
    migrate.upgrade(empty_dsn)
    row = asyncio.run(_sql(empty_dsn, "SELECT secret_ciphertext, sees_all_partners FROM webhooks"))[0]
    assert PLAIN.encode() not in row["secret_ciphertext"]
    assert SecretBox(SECRET_KEY).decrypt(webhook_id, row["secret_ciphertext"]) == PLAIN
    assert row["sees_all_partners"] is True  # every webhook so far was registered by an admin
    columns = asyncio.run(
        _sql(empty_dsn, "SELECT column_name FROM information_schema.columns WHERE table_name = 'webhooks'")
    )
    assert "secret" not in {c["column_name"] for c in columns}
    errors = asyncio.run(_sql(empty_dsn, "SELECT last_error, last_status_code FROM webhook_deliveries"))
    assert [(e["last_error"], e["last_status_code"]) for e in errors] == [("http_status", 500)]

    migrate.downgrade(empty_dsn, "0007")
    assert asyncio.run(_sql(empty_dsn, "SELECT secret FROM webhooks"))[0]["secret"] == PLAIN


def test_with_webhooks_present_the_migration_needs_a_key(empty_dsn: str, monkeypatch) -> None:
    migrate.upgrade(empty_dsn, "0007")
    _old_webhook(empty_dsn)
    monkeypatch.delenv("SPREAD_SECRET_KEY", raising=False)
    with pytest.raises(SystemExit, match="SPREAD_SECRET_KEY"):
        migrate.upgrade(empty_dsn)
    # nothing half-done: still at 0007, the plain secret where it was
    assert asyncio.run(_sql(empty_dsn, "SELECT secret FROM webhooks"))[0]["secret"] == PLAIN


def test_the_error_classes_agree_with_the_api() -> None:
    import importlib

    module = importlib.import_module("migrations.versions.0010_webhook_hardening")
    assert set(module.ERROR_CLASSES) == set(typing.get_args(DeliveryError))
