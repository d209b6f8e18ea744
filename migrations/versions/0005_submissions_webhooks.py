"""Submissions and webhooks: signed webhook targets and their delivery log.

The change log (``changes``, 0001) is the outbox: every write already appends a change row in
its own transaction, by trigger. ``spread worker`` turns change rows into per-webhook
deliveries (``webhook_deliveries``) and sends them. Each webhook keeps the snapshot
(``seen_snapshot``) of its last fan-out: the changes to queue next are exactly those whose
transaction is visible now but was not visible in that snapshot, so a transaction that
commits late is picked up when it commits, never skipped, and never queued twice. It starts
as the creating transaction's snapshot, so a webhook receives the changes that committed
after it was created (see service/webhooks/worker.py).

(Bulk submissions have their own revision, 0007.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WEBHOOKS_UP = """
-- The worker finds changes by transaction id (those at or above a snapshot's xmax, or in its
-- in-progress list); this keeps that an index scan.
CREATE INDEX changes_txid_idx ON changes (txid);

CREATE TABLE webhooks (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url                    text NOT NULL CHECK (url ~ '^https?://' AND length(url) BETWEEN 8 AND 2000),
    events                 text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 100),
    -- A shared HMAC key, not a password: it is needed in clear to sign every delivery.
    secret                 text NOT NULL CHECK (length(secret) BETWEEN 16 AND 200),
    description            text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    active                 boolean NOT NULL DEFAULT true,
    created_by_partner_id  uuid REFERENCES partners (id),
    created_at             timestamptz NOT NULL DEFAULT now(),
    seen_snapshot          pg_snapshot NOT NULL DEFAULT pg_current_snapshot()
);
CREATE INDEX webhooks_created_idx ON webhooks (created_at, id);
-- The secret, the target (URLs often embed tokens) and the worker's cursor stay out of the
-- change feed, which every read key may see.
CREATE TRIGGER webhooks_changes_insert AFTER INSERT ON webhooks REFERENCING NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('webhook', 'id', 'secret', 'url', 'seen_snapshot');
CREATE TRIGGER webhooks_changes_update AFTER UPDATE ON webhooks REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('webhook', 'id', 'secret', 'url', 'seen_snapshot');
CREATE TRIGGER webhooks_changes_delete AFTER DELETE ON webhooks REFERENCING OLD TABLE AS spread_old
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('webhook', 'id', 'secret', 'url', 'seen_snapshot');

-- pending: queued, not tried yet; failed: the last attempt failed and another is scheduled;
-- delivered; dead: retried for the whole retry window without success.
CREATE TABLE webhook_deliveries (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id        uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    change_seq        bigint NOT NULL,
    event_type        text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    last_attempt_at   timestamptz,
    last_status_code  integer,
    last_error        text CHECK (length(last_error) <= 1000),
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_change_key UNIQUE (webhook_id, change_seq),
    CONSTRAINT webhook_deliveries_due CHECK ((status IN ('pending', 'failed')) = (next_attempt_at IS NOT NULL))
);
-- The head of each webhook's queue (lowest change_seq still to send) is one probe.
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (webhook_id, change_seq)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (webhook_id, status, change_seq);

-- The event a change becomes for a webhook subscribed to `patterns`, or NULL when it asked
-- for none of it. An adoption update that moves the stage is `adoption.stage_changed` for a
-- webhook that asked for that (or `adoption.*`, `*`), else `adoption.updated`: one change is
-- one event per webhook. Webhooks' own changes are never events.
CREATE FUNCTION spread_webhook_event_type(patterns text[], p_entity text, p_action text, p_before jsonb, p_after jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u.t
    FROM unnest(ARRAY[
        CASE WHEN p_entity = 'adoption' AND p_action = 'update'
                  AND (p_before -> 'stage') IS DISTINCT FROM (p_after -> 'stage')
             THEN 'adoption.stage_changed' END,
        p_entity || '.' || CASE p_action WHEN 'create' THEN 'created' WHEN 'update' THEN 'updated' ELSE 'deleted' END
    ]) WITH ORDINALITY AS u(t, n)
    WHERE p_entity <> 'webhook'
      AND u.t IS NOT NULL
      AND (u.t = ANY (patterns) OR p_entity || '.*' = ANY (patterns) OR '*' = ANY (patterns))
    ORDER BY u.n
    LIMIT 1
$$;
"""

WEBHOOKS_DOWN = """
DROP FUNCTION spread_webhook_event_type(text[], text, text, jsonb, jsonb);
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP INDEX changes_txid_idx;
"""


def upgrade() -> None:
    execute_script(WEBHOOKS_UP)


def downgrade() -> None:
    execute_script(WEBHOOKS_DOWN)
