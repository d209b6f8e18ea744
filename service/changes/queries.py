"""SQL for the change feed and per-record history."""

from __future__ import annotations

import asyncpg
import msgspec

from service.changes.schemas import Change

_COLUMNS = """
    c.seq, c.at,
    json_build_object('keyId', c.key_id, 'partnerId', c.partner_id, 'partner', c.partner_name) AS actor,
    c.entity, c.entity_id, c.action, c.before, c.after, c.request_id
"""

# The feed shows only rows whose transaction is older than every transaction still running
# (txid < snapshot xmin). A row with a lower seq can commit after one with a higher seq; hiding
# rows that might still be joined by such a late committer means a poller using `after` never
# skips a change. The price is a short lag while a long transaction runs.
FEED = f"""
SELECT {_COLUMNS}
FROM changes c
WHERE c.seq > $1
  AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
  AND ($2::text IS NULL OR c.entity = $2)
  AND ($3::text IS NULL OR c.entity_id = $3)
ORDER BY c.seq
LIMIT $4
"""

HISTORY = f"""
SELECT {_COLUMNS}
FROM changes c
WHERE c.entity = $1 AND c.entity_id = $2 AND c.seq > $3
ORDER BY c.seq
LIMIT $4
"""


async def feed(
    conn: asyncpg.Connection, after: int, entity: str | None, entity_id: str | None, limit: int
) -> list[Change]:
    rows = await conn.fetch(FEED, after, entity, entity_id, limit)
    return [msgspec.convert(r, Change) for r in rows]


async def history(conn: asyncpg.Connection, entity: str, entity_id: str, after: int, limit: int) -> list[Change]:
    rows = await conn.fetch(HISTORY, entity, entity_id, after, limit)
    return [msgspec.convert(r, Change) for r in rows]
