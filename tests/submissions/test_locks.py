"""A batch checks core-component keys against an innovation it holds FOR SHARE: a concurrent
change of the innovation's components commits first, and the batch judges by what it left."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx

from tests.submissions.helpers import innovation, report

ADAPTATION = {
    "description": "Huddles run by community nurses",
    "phase": "implementation",
    "whatModified": "context",
    "coreComponentKeys": ["daily_huddle"],
}


async def test_batch_waits_for_a_component_change_and_sees_it(
    client: httpx.AsyncClient, admin: dict[str, str], conn: asyncpg.Connection, db_dsn: str
) -> None:
    inn = await innovation(conn)
    editor = await asyncpg.connect(db_dsn)
    try:
        # an innovation edit in flight: it holds the row (as a PATCH does) and drops daily_huddle
        tx = editor.transaction()
        await tx.start()
        await editor.execute("SELECT 1 FROM innovations WHERE id = $1 FOR NO KEY UPDATE", inn)
        await editor.execute(
            """UPDATE innovations SET core_components = '[{"key": "remote_monitoring", "name": "Remote monitoring"}]'
               WHERE id = $1""",
            inn,
        )
        body = json.dumps([report("RQM", adaptations=[ADAPTATION])])
        headers = {**admin, "Content-Type": "application/json"}
        batch = asyncio.create_task(client.post("/v1/submissions?mode=partial", content=body, headers=headers))
        waiting = False
        for _ in range(1000):  # polls with a deadline (about 20 s) until the batch waits on the row lock
            waiting = bool(
                await conn.fetchval(
                    """SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                       WHERE NOT l.granted AND c.relname = 'innovations'"""
                )
                or await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting or batch.done():
                break
            await asyncio.sleep(0.02)
        assert waiting and not batch.done(), "the batch did not wait for the innovation's lock"
        await tx.commit()
        r = await batch
    finally:
        await editor.close()
    assert r.status_code == 201, r.text
    row = r.json()["rows"][0]
    assert row["status"] == "rejected"
    assert row["errors"] == [
        {
            "field": "adaptations[0].coreComponentKeys",
            "detail": "daily_huddle is not a core component of this innovation (its components: remote_monitoring)",
        }
    ]
