"""SQL for webhooks and their deliveries, including the worker's fan-out and claim. Records never leave."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.webhooks.schemas import ClaimedDelivery, Delivery, Webhook

_COLUMNS = "w.id, w.url, w.events, w.description, w.active, w.created_by_partner_id, w.created_at"

# seen_snapshot starts as this statement's snapshot: the webhook gets exactly the changes this
# transaction cannot see (those committed later, including any still in flight now).
INSERT_WEBHOOK = f"""
INSERT INTO webhooks AS w (url, events, secret, description, created_by_partner_id, seen_snapshot)
VALUES ($1, $2::text[], $3, $4, $5, pg_current_snapshot())
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
    url: str,
    events: list[str],
    secret: str,
    description: str,
    partner_id: uuid.UUID | None,
) -> Webhook:
    row = await conn.fetchrow(INSERT_WEBHOOK, url, events, secret, description, partner_id)
    return msgspec.convert(row, Webhook)


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
SELECT w.id, w.events, w.seen_snapshot::text AS seen_snapshot
FROM webhooks w
WHERE w.active
ORDER BY w.id
FOR UPDATE OF w SKIP LOCKED
"""

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
    ORDER BY c.seq
    ON CONFLICT (webhook_id, change_seq) DO NOTHING
    RETURNING 1
)
UPDATE webhooks w SET seen_snapshot = now_seen.snap
FROM now_seen
WHERE w.id = $1
RETURNING (SELECT count(*) FROM queued) AS queued
"""

# Claim the due head of one webhook's queue. Only a head (the lowest change_seq not yet
# delivered or dead) is ever eligible, so a webhook's events go out one at a time, in order;
# a head another worker holds is skipped, and with it that whole webhook. The status test is
# re-checked on the locked row, so a delivery finished meanwhile is never sent again.
CLAIM = """
SELECT d.id, d.webhook_id, d.change_seq, d.event_type, d.attempts, d.created_at, w.url, w.secret,
       c.at, c.entity, c.entity_id, c.action, c.before, c.after,
       CASE WHEN c.seq IS NOT NULL THEN
           json_build_object('keyId', c.key_id, 'partnerId', c.partner_id, 'partner', c.partner_name)
       END AS actor
FROM webhook_deliveries d
JOIN webhooks w ON w.id = d.webhook_id
LEFT JOIN changes c ON c.seq = d.change_seq
WHERE d.id IN (
        SELECT head.id
        FROM webhooks hw
        CROSS JOIN LATERAL (
            SELECT q.id, q.next_attempt_at
            FROM webhook_deliveries q
            WHERE q.webhook_id = hw.id AND q.status IN ('pending', 'failed')
            ORDER BY q.change_seq
            LIMIT 1
        ) head
        WHERE hw.active AND head.next_attempt_at <= clock_timestamp())
  AND d.status IN ('pending', 'failed')
ORDER BY d.next_attempt_at, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""

MARK_DELIVERED = """
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, last_attempt_at = clock_timestamp(),
    delivered_at = clock_timestamp(), last_status_code = $2, last_error = NULL, next_attempt_at = NULL
WHERE id = $1
"""

# A failure is retried after $4 seconds, but never later than the end of the retry window
# ($5 seconds after the delivery was queued), so the last try falls at the window's end; a
# failure at or after the end makes the delivery dead.
MARK_FAILED = """
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1,
    last_attempt_at = n.t,
    last_status_code = $2,
    last_error = left($3, 1000),
    status = CASE WHEN n.t >= d.created_at + make_interval(secs => $5) THEN 'dead' ELSE 'failed' END,
    next_attempt_at = CASE WHEN n.t >= d.created_at + make_interval(secs => $5) THEN NULL
                      ELSE least(n.t + make_interval(secs => $4), d.created_at + make_interval(secs => $5)) END
FROM (SELECT clock_timestamp() AS t) n
WHERE d.id = $1
RETURNING d.status, d.next_attempt_at
"""

MARK_DEAD = """
UPDATE webhook_deliveries
SET status = 'dead', next_attempt_at = NULL, last_error = left($2, 1000)
WHERE id = $1
"""


async def fan_out(conn: asyncpg.Connection) -> tuple[int, int]:
    """Queue deliveries for changes committed since the last fan-out; (queued, webhooks looked at)."""
    queued = 0
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        webhooks = await conn.fetch(LOCK_WEBHOOKS)
        for w in webhooks:
            queued += await conn.fetchval(QUEUE_CHANGES, w["id"], w["events"], w["seen_snapshot"])
    return queued, len(webhooks)


async def claim_delivery(conn: asyncpg.Connection) -> ClaimedDelivery | None:
    row = await conn.fetchrow(CLAIM)
    return None if row is None else msgspec.convert(row, ClaimedDelivery)


async def mark_delivered(conn: asyncpg.Connection, delivery_id: int, status_code: int) -> None:
    await conn.execute(MARK_DELIVERED, delivery_id, status_code)


async def mark_failed(
    conn: asyncpg.Connection,
    delivery_id: int,
    status_code: int | None,
    error: str,
    retry_in: float,
    retry_window: float,
) -> tuple[str, dt.datetime | None]:
    row = await conn.fetchrow(MARK_FAILED, delivery_id, status_code, error, retry_in, retry_window)
    return row["status"], row["next_attempt_at"]


async def mark_dead(conn: asyncpg.Connection, delivery_id: int, error: str) -> None:
    await conn.execute(MARK_DEAD, delivery_id, error)
