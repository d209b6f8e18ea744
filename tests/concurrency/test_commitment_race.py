"""Two PUTs of one commitment with the same If-Match: one wins, the other is told 412."""

from __future__ import annotations

import asyncio

import httpx

from tests.campaigns import rows
from tests.campaigns.api import commit, make_campaign
from tests.concurrency import ROUNDS


@ROUNDS
async def test_same_if_match_one_2xx_one_412(client: httpx.AsyncClient, conn, admin, rounds: int) -> None:
    await rows.measure(conn)
    innovation = await rows.innovation(conn, "frailty-wards")
    campaign = await make_campaign(
        client, admin, [str(innovation)], aim={"measureCode": rows.MEASURE, "target": 10, "dueOn": "2024-12-31"}
    )
    first = await commit(client, admin, campaign["id"], "RQM", 1)
    assert first.status_code == 201, first.text
    etag = first.headers["etag"]
    for n in range(rounds):
        one, two = await asyncio.gather(
            commit(client, {**admin, "If-Match": etag}, campaign["id"], "RQM", 2 + n),
            commit(client, {**admin, "If-Match": etag}, campaign["id"], "RQM", 100 + n),
        )
        assert sorted([one.status_code, two.status_code]) == [200, 412], (one.text, two.text)
        winner, loser = (one, two) if one.status_code == 200 else (two, one)
        assert loser.headers["content-type"].startswith("application/problem+json")
        etag = winner.headers["etag"]
        assert etag == f'"{n + 2}"'
        stored = await conn.fetchval(
            "SELECT target::float8 FROM commitments WHERE campaign_id = $1 AND site_code = 'RQM'", campaign["id"]
        )
        assert stored == winner.json()["target"]
