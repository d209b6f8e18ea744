"""SQL for the change feed and per-record history."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from service.changes.schemas import Change

_COLUMNS = """
    c.seq, c.at,
    json_build_object('keyId', c.key_id, 'partnerId', c.partner_id, 'partner', c.partner_name) AS actor,
    c.entity, c.entity_id, c.action, c.before, c.after, c.request_id
"""

# Who sees what: every change is public to `read` keys except these private records. A
# submission's changes are shown only to its own partner (the partnerId in the row) and admins;
# a webhook's only to admins. {viewer} is the caller's partner id, NULL for an admin.
_VISIBLE = """
(c.entity NOT IN ('submission', 'webhook')
 OR {viewer}::uuid IS NULL
 OR (c.entity = 'submission' AND coalesce(c.after, c.before) ->> 'partnerId' = {viewer}::uuid::text))
"""

# The feed is ordered by (txid, seq) and shows only rows whose transaction is older than
# every transaction still running (txid < snapshot xmin). Every transaction with a txid below
# xmin has finished, and any change that appears later belongs to a transaction with a txid at
# or above it, so a poller that resumes after the last (txid, seq) it saw never skips a change
# and never sees one twice. Ordering by seq alone would not do: a transaction can take a lower
# seq than another yet commit after it. `after` is a seq the caller saw; its position is looked
# up. The price is a short lag while any transaction on the server runs long.
FEED = f"""
WITH start AS (
    -- the position of the change numbered `after` (or of the closest one before it)
    SELECT coalesce(max(p.txid), '0'::xid8) AS txid, coalesce(max(p.seq), 0) AS seq
    FROM (SELECT c0.txid, c0.seq FROM changes c0 WHERE c0.seq <= $1 ORDER BY c0.seq DESC LIMIT 1) p
)
SELECT {_COLUMNS}
FROM changes c, start
WHERE (c.txid, c.seq) > (start.txid, start.seq)
  AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
  AND ($2::text IS NULL OR c.entity = $2)
  AND ($3::text IS NULL OR c.entity_id = $3)
  AND {_VISIBLE.format(viewer="$5")}
ORDER BY c.txid, c.seq
LIMIT $4
"""

HISTORY = f"""
SELECT {_COLUMNS}
FROM changes c
WHERE c.entity = $1 AND c.entity_id = $2 AND c.seq > $3
  AND {_VISIBLE.format(viewer="$5")}
ORDER BY c.seq
LIMIT $4
"""


async def feed(
    conn: asyncpg.Connection,
    after: int,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    viewer: uuid.UUID | None,
) -> list[Change]:
    """``viewer``: the caller's partner id, or None for an admin (who sees everything)."""
    rows = await conn.fetch(FEED, after, entity, entity_id, limit, viewer)
    return [msgspec.convert(r, Change) for r in rows]


async def history(
    conn: asyncpg.Connection, entity: str, entity_id: str, after: int, limit: int, viewer: uuid.UUID | None
) -> list[Change]:
    rows = await conn.fetch(HISTORY, entity, entity_id, after, limit, viewer)
    return [msgspec.convert(r, Change) for r in rows]
