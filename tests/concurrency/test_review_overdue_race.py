"""Two workers noticing overdue reviews at once: each milestone is noticed (and so fires
``review.overdue``) exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import httpx

from service.reviews.overdue import notice_overdue
from tests.concurrency import ROUNDS
from tests.factories import adopt, make_innovation


@ROUNDS
async def test_two_noticers_notice_each_milestone_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, db_dsn: str, admin, rounds: int
) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    first, second = await asyncpg.connect(db_dsn), await asyncpg.connect(db_dsn)
    try:
        for n in range(rounds):
            site = ("RQM", "RJ1", "RRK", "RTH", "RYJ", "RGT")[n % 6]
            started = (dt.date.today() - dt.timedelta(days=800 + n)).isoformat()
            r = await adopt(client, admin, inn["id"], site, started, stage="implementing")
            assert r.status_code == 201, r.text
            a, b = await asyncio.gather(notice_overdue(first), notice_overdue(second))
            assert a + b == 3, (a, b)  # 6, 12 and 24 months, once each
            per_milestone = await conn.fetch(
                "SELECT count(*) AS n FROM review_overdue WHERE adoption_id = $1 GROUP BY months", r.json()["id"]
            )
            assert [row["n"] for row in per_milestone] == [1, 1, 1]
            r = await client.patch(
                f"/v1/adoptions/{r.json()['id']}",
                json={"stage": "discontinued", "discontinuedReason": "Round over"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
    finally:
        await first.close()
        await second.close()
