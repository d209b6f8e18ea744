"""Key changes announced by NOTIFY; rate-limit counts per subject (key, key's writes, address).

Each process keeps a cache of key lookups (``service.auth.cache``). A trigger on
``api_keys`` sends ``NOTIFY spread_keys, '<key id>'`` when a key is updated (revoked, its
scopes or expiry changed) or deleted, and one on ``partners`` sends ``'*'`` (drop every
entry) when a partner is renamed or deleted; the notification is delivered when the
transaction commits, to every process listening on the primary. Inserts need no
notification: only keys that were found are cached.

``rate_limit_counts`` replaces ``rate_limit_windows``: processes count requests locally and
add their counts here in one statement every ~250 ms (``service.ratelimit``). The subject is
text so one table holds every budget: ``key:<id>``, ``write:<id>`` and ``addr:<client
address>`` (failed authentications). UNLOGGED: losing counts in a crash is harmless.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from migrations._sql import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE FUNCTION spread_notify_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'api_keys' THEN
                PERFORM pg_notify('spread_keys', OLD.id::text);
            ELSE
                PERFORM pg_notify('spread_keys', '*');
            END IF;
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE ON api_keys
            FOR EACH ROW EXECUTE FUNCTION spread_notify_key_change();
        -- Row-level with WHEN: `INSERT ... ON CONFLICT DO UPDATE` (ensure_partner) fires
        -- statement-level UPDATE triggers even when it only inserts.
        CREATE TRIGGER partners_notify AFTER UPDATE ON partners
            FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION spread_notify_key_change();
        CREATE TRIGGER partners_notify_delete AFTER DELETE ON partners
            FOR EACH ROW EXECUTE FUNCTION spread_notify_key_change();

        DROP TABLE rate_limit_windows;
        CREATE UNLOGGED TABLE rate_limit_counts (
            subject       text NOT NULL,
            window_start  timestamptz NOT NULL,
            hits          integer NOT NULL,
            PRIMARY KEY (subject, window_start)
        );
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE rate_limit_counts;
        CREATE UNLOGGED TABLE rate_limit_windows (
            key_id        uuid NOT NULL,
            window_start  timestamptz NOT NULL,
            hits          integer NOT NULL,
            PRIMARY KEY (key_id, window_start)
        );
        DROP TRIGGER partners_notify_delete ON partners;
        DROP TRIGGER partners_notify ON partners;
        DROP TRIGGER api_keys_notify ON api_keys;
        DROP FUNCTION spread_notify_key_change();
        """
    )
