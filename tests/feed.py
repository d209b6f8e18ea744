"""Reading the change feed in tests without racing it.

The feed shows a change only once every transaction older than it has finished, server-wide
(see service/changes/queries.py), and other test runs share the server: a read straight after a
write can miss it while some unrelated transaction is still open. ``settle`` waits, with a
deadline, until every transaction that started before the call has ended; a read after that
sees every change committed before the call.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx

DEADLINE_S = 60.0  # generous: other runs share the server, and a long transaction there delays the feed


async def settle(conn: asyncpg.Connection) -> None:
    """Return once the feed can show every change committed before this call."""
    # pg_current_xact_id() assigns this statement's transaction an id; once the oldest running
    # transaction is newer than it, nothing that began earlier is still open.
    mark = await conn.fetchval("SELECT pg_current_xact_id()")
    deadline = time.monotonic() + DEADLINE_S
    while not await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8", mark):
        assert time.monotonic() < deadline, f"transactions older than {mark} still open after {DEADLINE_S} s"
        await asyncio.sleep(0.02)


async def settled_changes(
    client: httpx.AsyncClient, conn: asyncpg.Connection, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every change the feed holds (all pages), read once the feed has settled."""
    await settle(conn)
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        r = await client.get("/v1/changes", params={**params, "after": after, "limit": 500}, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()["items"]
        if not page:
            return items
        items += page
        after = r.json()["lastSeq"]
