"""Webhook hardening: encrypted, rotatable secrets; delivery leases; fixed error classes.

- ``webhooks.secret`` (plain text) becomes ``secret_ciphertext`` (AES-256-GCM with
  ``SPREAD_SECRET_KEY``, see service/webhooks/crypto.py), plus the previous secret and when
  it stops being used (the overlap of a rotation); ``secret_rotated_at`` is visible, so a
  rotation shows in the change log (the secrets never do). Existing secrets are encrypted here, in
  the migration, so no plain secret survives it: with webhooks present, the migration needs
  ``SPREAD_SECRET_KEY`` (``spread migrate`` on the embedded database provides the data
  folder's development key) and stops with a message otherwise. The downgrade decrypts them
  back (it needs the key too). The change-log triggers are recreated to hide the new columns.
- ``webhooks.sees_all_partners``: whether the webhook may receive every partner's private
  records (submissions). Set for webhooks registered by an admin key, which is every webhook
  so far (the API is admin-only), so existing rows get true.
- ``webhook_deliveries.leased_until`` / ``lease_id``: the worker claims a delivery with a
  lease in a short transaction and sends with no transaction open; only the holder of the
  lease records the outcome, and an expired lease can be claimed again.
- ``last_error`` holds a fixed error class only (never a receiver's answer); existing values,
  which could quote the first 300 characters of a response, are replaced by their class.

Not backward compatible for webhooks: the previous release reads ``webhooks.secret``, so
stop old workers (and webhook registration) before migrating.
"""

from __future__ import annotations

import uuid

from alembic import context, op
from sqlalchemy.util import await_only

from migrations._sql import execute_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ERROR_CLASSES = (
    "http_status",
    "timeout",
    "connection_failed",
    "tls_failed",
    "unresolvable_host",
    "forbidden_address",
    "protocol_error",
    "change_missing",
    "secret_unavailable",
)
_HIDDEN = "'secret_ciphertext', 'previous_secret_ciphertext', 'previous_secret_expires_at', 'url', 'seen_snapshot'"


def _triggers(hidden: str) -> str:
    return f"""
DROP TRIGGER webhooks_changes_insert ON webhooks;
DROP TRIGGER webhooks_changes_update ON webhooks;
DROP TRIGGER webhooks_changes_delete ON webhooks;
CREATE TRIGGER webhooks_changes_insert AFTER INSERT ON webhooks REFERENCING NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('webhook', 'id', {hidden});
CREATE TRIGGER webhooks_changes_update AFTER UPDATE ON webhooks REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('webhook', 'id', {hidden});
CREATE TRIGGER webhooks_changes_delete AFTER DELETE ON webhooks REFERENCING OLD TABLE AS spread_old
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('webhook', 'id', {hidden});
"""


UP_BEFORE = f"""
ALTER TABLE webhooks
    ADD COLUMN secret_ciphertext bytea,
    ADD COLUMN previous_secret_ciphertext bytea,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD COLUMN sees_all_partners boolean NOT NULL DEFAULT false,
    ADD COLUMN secret_rotated_at timestamptz,
    ADD CONSTRAINT webhooks_previous_secret CHECK
        ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL));
UPDATE webhooks SET sees_all_partners = true;

ALTER TABLE webhook_deliveries
    ADD COLUMN leased_until timestamptz,
    ADD COLUMN lease_id uuid,
    ADD CONSTRAINT webhook_deliveries_lease CHECK ((lease_id IS NULL) = (leased_until IS NULL));
UPDATE webhook_deliveries
SET last_error = CASE WHEN last_status_code IS NOT NULL THEN 'http_status' ELSE 'connection_failed' END
WHERE last_error IS NOT NULL AND last_error NOT IN ({", ".join(f"'{c}'" for c in ERROR_CLASSES)});
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_error_class
    CHECK (last_error IN ({", ".join(f"'{c}'" for c in ERROR_CLASSES)}));
"""

UP_AFTER = f"""
ALTER TABLE webhooks ALTER COLUMN secret_ciphertext SET NOT NULL;
{_triggers(_HIDDEN)}
ALTER TABLE webhooks DROP COLUMN secret;
"""

DOWN_BEFORE = """
ALTER TABLE webhooks ADD COLUMN secret text CHECK (length(secret) BETWEEN 16 AND 200);
"""

DOWN_AFTER = f"""
ALTER TABLE webhooks ALTER COLUMN secret SET NOT NULL;
{_triggers("'secret', 'url', 'seen_snapshot'")}
ALTER TABLE webhooks
    DROP COLUMN secret_ciphertext,
    DROP COLUMN previous_secret_ciphertext,
    DROP COLUMN previous_secret_expires_at,
    DROP COLUMN sees_all_partners,
    DROP COLUMN secret_rotated_at;
ALTER TABLE webhook_deliveries
    DROP CONSTRAINT webhook_deliveries_error_class,
    DROP COLUMN leased_until,
    DROP COLUMN lease_id;
"""


def _box():  # type: ignore[no-untyped-def]
    from service.config import load_settings
    from service.webhooks.crypto import SecretBox

    key = load_settings().secret_key
    if key is None:
        raise SystemExit(
            "webhooks exist, and their secrets are encrypted by this migration: set SPREAD_SECRET_KEY "
            "(generate one with `spread secret-key`) and run it again."
        )
    return SecretBox(key)


def _rows(sql: str) -> list:  # type: ignore[type-arg]
    bind = op.get_bind()
    bind.exec_driver_sql("SELECT 1")
    return await_only(bind.connection.driver_connection.fetch(sql))


def _run(sql: str, *args: object) -> None:
    await_only(op.get_bind().connection.driver_connection.execute(sql, *args))


def upgrade() -> None:
    execute_script(UP_BEFORE)
    if not context.is_offline_mode():
        rows = _rows("SELECT id, secret FROM webhooks")
        if rows:
            box = _box()
            for row in rows:
                blob = box.encrypt(uuid.UUID(str(row["id"])), row["secret"])
                _run("UPDATE webhooks SET secret_ciphertext = $2 WHERE id = $1", row["id"], blob)
    execute_script(UP_AFTER)


def downgrade() -> None:
    execute_script(DOWN_BEFORE)
    if not context.is_offline_mode():
        rows = _rows("SELECT id, secret_ciphertext FROM webhooks")
        if rows:
            box = _box()
            for row in rows:
                secret = box.decrypt(uuid.UUID(str(row["id"])), bytes(row["secret_ciphertext"]))
                _run("UPDATE webhooks SET secret = $2 WHERE id = $1", row["id"], secret)
    execute_script(DOWN_AFTER)

