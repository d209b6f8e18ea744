"""SQL for webhooks and their deliveries, including the worker's fan-out and claim. Records never leave."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.webhooks.schemas import ClaimedDelivery, Delivery, Webhook

_COLUMNS = """w.id, w.url, w.events, w.description, w.active, w.created_by_partner_id, w.created_at, w.secret_rotated_at,
    CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret_expires_at END AS previous_secret_expires_at"""

# seen_snapshot starts as this statement's snapshot: the webhook gets exactly the changes this
# transaction cannot see (those committed later, including any still in flight now).
INSERT_WEBHOOK = f"""
INSERT INTO webhooks AS w (id, url, events, secret_ciphertext, description, created_by_partner_id,
                           sees_all_partners, seen_snapshot)
VALUES ($1, $2, $3::text[], $4, $5, $6, $7, pg_current_snapshot())
RETURNING {_COLUMNS}
"""

GET_WEBHOOK = f"SELECT {_COLUMNS} FROM webhooks w WHERE w.id = $1"

LIST_WEBHOOKS = f"""
SELECT {_COLUMNS}
FROM webhooks w
WHERE ($1::timestamptz IS NULL OR (w.created_at, w.id) > ($1::timestamptz, $2::uuid))
ORDER BY w.created_at, w.id
LIMIT $3
"""

DELETE_WEBHOOK = "DELETE FROM webhooks WHERE id = $1 RETURNING id"

LOCK_WEBHOOK = "SELECT id FROM webhooks WHERE id = $1 FOR UPDATE"

# The secret in use becomes the previous one for $3 seconds (deliveries carry both
# signatures meanwhile); an older previous secret is dropped. $3 = 0: no overlap.
ROTATE_SIGNING_KEY = """
UPDATE webhooks w
SET previous_secret_ciphertext = CASE WHEN $3::float8 > 0 THEN w.secret_ciphertext END,
    previous_secret_expires_at = CASE WHEN $3::float8 > 0 THEN now() + make_interval(secs => $3::float8) END,
    secret_ciphertext = $2,
    secret_rotated_at = now()
WHERE w.id = $1
RETURNING w.previous_secret_expires_at
"""

# Newest first; change_seq is unique per webhook, so it is the keyset.
LIST_DELIVERIES = """
SELECT d.id, d.change_seq::text AS event_id, d.event_type AS type, d.status, d.attempts, d.next_attempt_at,
       d.last_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at
FROM webhook_deliveries d
WHERE d.webhook_id = $1
  AND ($2::text IS NULL OR d.status = $2)
  AND ($3::bigint IS NULL OR d.change_seq < $3)
ORDER BY d.change_seq DESC
LIMIT $4
"""


async def insert_webhook(
    conn: asyncpg.Connection,
    *,
    webhook_id: uuid.UUID,
    url: str,
    events: list[str],
    secret_ciphertext: bytes,
    description: str,
    partner_id: uuid.UUID | None,
    sees_all_partners: bool,
) -> Webhook:
    row = await conn.fetchrow(
        INSERT_WEBHOOK, webhook_id, url, events, secret_ciphertext, description, partner_id, sees_all_partners
    )
    return msgspec.convert(row, Webhook)


async def lock_webhook(conn: asyncpg.Connection, webhook_id: uuid.UUID) -> bool:
    return await conn.fetchval(LOCK_WEBHOOK, webhook_id) is not None


async def rotate_secret(
    conn: asyncpg.Connection, webhook_id: uuid.UUID, secret_ciphertext: bytes, overlap_seconds: float
) -> dt.datetime | None:
    result: dt.datetime | None = await conn.fetchval(ROTATE_SIGNING_KEY, webhook_id, secret_ciphertext, overlap_seconds)
    return result


async def get_webhook(conn: asyncpg.Connection, webhook_id: uuid.UUID) -> Webhook | None:
    row = await conn.fetchrow(GET_WEBHOOK, webhook_id)
    return None if row is None else msgspec.convert(row, Webhook)


async def list_webhooks(
    conn: asyncpg.Connection, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
) -> list[Webhook]:
    created_at, webhook_id = after if after else (None, None)
    rows = await conn.fetch(LIST_WEBHOOKS, created_at, webhook_id, limit)
    return [msgspec.convert(r, Webhook) for r in rows]


async def delete_webhook(conn: asyncpg.Connection, webhook_id: uuid.UUID) -> bool:
    return await conn.fetchval(DELETE_WEBHOOK, webhook_id) is not None


async def list_deliveries(
    conn: asyncpg.Connection, webhook_id: uuid.UUID, status: str | None, before_seq: int | None, limit: int
) -> list[Delivery]:
    rows = await conn.fetch(LIST_DELIVERIES, webhook_id, status, before_seq, limit)
    return [msgspec.convert(r, Delivery) for r in rows]


# --- the worker ------------------------------------------------------------------------------

# Fan-out. Lock the active webhooks no other worker is fanning out (SKIP LOCKED); then, for
# each, in one statement (so one snapshot): queue a delivery for every matching change whose
# transaction this statement can see but the webhook's last fan-out could not (its id is at or
# above that snapshot's xmax, or was in progress then), and store this statement's snapshot as
# the new seen_snapshot. Every transaction becomes visible in exactly one such step, however
# late it commits, so no change is skipped and none is queued twice (the unique key would make
# a repeat harmless anyway). Unlike an xmin horizon, this never waits for unrelated long
# transactions (xids are cluster-wide: another database's bulk load would hold up every
# webhook). Snapshots travel as text. JIT is off: these are small statements, and its compile
# time (~0.3 s) was measured to dwarf them.
LOCK_WEBHOOKS = """
SELECT w.id, w.events, w.seen_snapshot::text AS seen_snapshot, w.sees_all_partners, w.created_by_partner_id
FROM webhooks w
WHERE w.active
ORDER BY w.id
FOR UPDATE OF w SKIP LOCKED
"""

# Private records: a submission (one partner's batch) is queued only for a webhook that may
# see every partner's ($4, registered by an admin) or one registered by that partner ($5).
QUEUE_CHANGES = """
WITH now_seen AS (SELECT pg_current_snapshot() AS snap),
queued AS (
    INSERT INTO webhook_deliveries (webhook_id, change_seq, event_type, next_attempt_at)
    SELECT $1, c.seq, t.event_type, now()
    FROM (
        -- two index scans on changes_txid_idx: started after that snapshot, or running then
        SELECT c1.seq, c1.entity, c1.action, c1.before, c1.after
        FROM changes c1
        WHERE c1.txid >= pg_snapshot_xmax($3::text::pg_snapshot)
        UNION ALL
        SELECT c2.seq, c2.entity, c2.action, c2.before, c2.after
        FROM changes c2
        WHERE c2.txid = ANY (ARRAY(SELECT pg_snapshot_xip($3::text::pg_snapshot)))
    ) c
    CROSS JOIN LATERAL (
        SELECT spread_webhook_event_type($2::text[], c.entity, c.action, c.before, c.after) AS event_type
    ) t
    WHERE t.event_type IS NOT NULL
      AND (c.entity <> 'submission' OR $4::boolean
           OR coalesce(c.after, c.before) ->> 'partnerId' = $5::uuid::text)
    ORDER BY c.seq
    ON CONFLICT (webhook_id, change_seq) DO NOTHING
    RETURNING 1
)
UPDATE webhooks w SET seen_snapshot = now_seen.snap
FROM now_seen
WHERE w.id = $1
RETURNING (SELECT count(*) FROM queued) AS queued
"""

# Claim the due head of one webhook's queue with a lease, in a short transaction of its own;
# the worker then sends with no transaction open and records the outcome only while the lease
# ($2, its id) is still its own. Only a head (the lowest change_seq not yet delivered or dead)
# is ever eligible, and a head under a live lease excludes its whole webhook, so a webhook's
# events go out one at a time, in order. A row another worker is claiming right now is
# skipped (SKIP LOCKED); once locked, the status and lease are re-checked on the latest row
# version, so a delivery claimed or finished meanwhile is never taken. An expired lease (a
# worker that died mid-send) makes the delivery claimable again.
CLAIM = """
WITH due AS (
    SELECT d.id
    FROM webhook_deliveries d
    WHERE d.id IN (
            SELECT head.id
            FROM webhooks hw
            CROSS JOIN LATERAL (
                SELECT q.id, q.next_attempt_at, q.leased_until
                FROM webhook_deliveries q
                WHERE q.webhook_id = hw.id AND q.status IN ('pending', 'failed')
                ORDER BY q.change_seq
                LIMIT 1
            ) head
            WHERE hw.active AND head.next_attempt_at <= clock_timestamp()
              AND (head.leased_until IS NULL OR head.leased_until <= clock_timestamp()))
      AND d.status IN ('pending', 'failed')
      AND (d.leased_until IS NULL OR d.leased_until <= clock_timestamp())
    ORDER BY d.next_attempt_at, d.id
    LIMIT 1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET leased_until = clock_timestamp() + make_interval(secs => $1), lease_id = $2
FROM due
WHERE d.id = due.id
RETURNING d.id
"""

# What to send. The previous secret counts only until its overlap ends.
CLAIMED = """
SELECT d.id, d.lease_id, d.webhook_id, d.change_seq, d.event_type, d.attempts, d.created_at, w.url,
       w.secret_ciphertext,
       CASE WHEN w.previous_secret_expires_at > clock_timestamp() THEN w.previous_secret_ciphertext END
           AS previous_secret_ciphertext,
       c.at, c.entity, c.entity_id, c.action, c.before, c.after, c.request_id, c.correlation_id,
       CASE WHEN c.seq IS NOT NULL THEN
           json_build_object('keyId', c.key_id, 'partnerId', c.partner_id, 'partner', c.partner_name)
       END AS actor
FROM webhook_deliveries d
JOIN webhooks w ON w.id = d.webhook_id
LEFT JOIN changes c ON c.seq = d.change_seq
WHERE d.id = $1
"""

MARK_DELIVERED = """
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, last_attempt_at = clock_timestamp(),
    delivered_at = clock_timestamp(), last_status_code = $2, last_error = NULL, next_attempt_at = NULL,
    leased_until = NULL, lease_id = NULL
WHERE id = $1 AND lease_id = $3
RETURNING id
"""

# A failure is retried after $4 seconds, but never later than the end of the retry window
# ($5 seconds after the delivery was queued), so the last try falls at the window's end; a
# failure at or after the end makes the delivery dead. $3 is a fixed error class.
MARK_FAILED = """
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1,
    last_attempt_at = n.t,
    last_status_code = $2,
    last_error = $3,
    status = CASE WHEN n.t >= d.created_at + make_interval(secs => $5) THEN 'dead' ELSE 'failed' END,
    next_attempt_at = CASE WHEN n.t >= d.created_at + make_interval(secs => $5) THEN NULL
                      ELSE least(n.t + make_interval(secs => $4), d.created_at + make_interval(secs => $5)) END,
    leased_until = NULL,
    lease_id = NULL
FROM (SELECT clock_timestamp() AS t) n
WHERE d.id = $1 AND d.lease_id = $6
RETURNING d.status, d.next_attempt_at
"""

MARK_DEAD = """
UPDATE webhook_deliveries
SET status = 'dead', next_attempt_at = NULL, last_error = $2, leased_until = NULL, lease_id = NULL
WHERE id = $1 AND lease_id = $3
RETURNING id
"""


async def fan_out(conn: asyncpg.Connection) -> tuple[int, int]:
    """Queue deliveries for changes committed since the last fan-out; (queued, webhooks looked at)."""
    queued = 0
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        webhooks = await conn.fetch(LOCK_WEBHOOKS)
        for w in webhooks:
            queued += await conn.fetchval(
                QUEUE_CHANGES,
                w["id"],
                w["events"],
                w["seen_snapshot"],
                w["sees_all_partners"],
                w["created_by_partner_id"],
            )
    return queued, len(webhooks)


async def claim_delivery(conn: asyncpg.Connection, lease_seconds: float) -> ClaimedDelivery | None:
    """Lease the next due delivery in a transaction of its own (committed on return)."""
    async with conn.transaction():
        delivery_id = await conn.fetchval(CLAIM, lease_seconds, uuid.uuid4())
        if delivery_id is None:
            return None
        row = await conn.fetchrow(CLAIMED, delivery_id)
    return msgspec.convert(row, ClaimedDelivery)


async def mark_delivered(conn: asyncpg.Connection, job: ClaimedDelivery, status_code: int) -> bool:
    """Record success; False when the lease was lost (another worker owns the delivery now)."""
    return await conn.fetchval(MARK_DELIVERED, job.id, status_code, job.lease_id) is not None


async def mark_failed(
    conn: asyncpg.Connection,
    job: ClaimedDelivery,
    status_code: int | None,
    error: str,
    retry_in: float,
    retry_window: float,
) -> tuple[str, dt.datetime | None] | None:
    """Record a failure; None when the lease was lost."""
    row = await conn.fetchrow(MARK_FAILED, job.id, status_code, error, retry_in, retry_window, job.lease_id)
    return None if row is None else (row["status"], row["next_attempt_at"])


async def mark_dead(conn: asyncpg.Connection, job: ClaimedDelivery, error: str) -> bool:
    return await conn.fetchval(MARK_DEAD, job.id, error, job.lease_id) is not None
