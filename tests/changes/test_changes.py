"""The change feed never skips a change that commits late, whatever seq it took."""

from __future__ import annotations

import asyncio
import time

import httpx

from service.config import Settings
from service.db import connect


async def test_late_committer_with_lower_seq_is_not_skipped(client: httpx.AsyncClient, reader, db_dsn: str) -> None:
    a = await connect(db_dsn, Settings(database_url=db_dsn))
    b = await connect(db_dsn, Settings(database_url=db_dsn))
    try:
        r = await client.get("/v1/changes?after=0&limit=500", headers=reader)
        while r.json()["nextCursor"]:
            r = await client.get(f"/v1/changes?cursor={r.json()['nextCursor']}&limit=500", headers=reader)
        after = r.json()["lastSeq"] or 0

        tb = b.transaction()
        await tb.start()
        await b.fetchval("SELECT pg_current_xact_id()")  # B takes the lower txid
        ta = a.transaction()
        await ta.start()
        await a.fetchval("SELECT pg_current_xact_id()")
        await a.execute("INSERT INTO sites (code, name, kind) VALUES ('LATE-A', 'Late A', 'other')")  # lower seq
        await b.execute("INSERT INTO sites (code, name, kind) VALUES ('EARLY-B', 'Early B', 'other')")  # higher seq
        await tb.commit()

        r = await client.get(f"/v1/changes?after={after}&entity=site", headers=reader)
        seen = [c["entityId"] for c in r.json()["items"]]
        assert "LATE-A" not in seen  # still in flight
        last = r.json()["lastSeq"] or after

        await ta.commit()
        # The feed waits for every older transaction on the server to finish; other work on a
        # shared server can delay it, so poll for a while as a client would.
        deadline = time.monotonic() + 30
        while True:
            r = await client.get(f"/v1/changes?after={last}&entity=site", headers=reader)
            seen += [c["entityId"] for c in r.json()["items"]]
            last = r.json()["lastSeq"] or last
            if len(seen) >= 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert sorted(seen) == ["EARLY-B", "LATE-A"]
        # and nothing is repeated on the next poll
        r = await client.get(f"/v1/changes?after={last}&entity=site", headers=reader)
        assert r.json()["items"] == []
    finally:
        await a.close()
        await b.close()
