"""The demo campaign: loaded by ``--demo`` over the demo innovations, labelled, idempotent, with a story to tell."""

from __future__ import annotations

import httpx

from service.demo import load_demo
from service.demo.campaigns import MEASURE, NAME, load_campaign_demo


async def test_demo_campaign(conn, client: httpx.AsyncClient, reader) -> None:
    lines: list[str] = []
    await load_demo(conn, echo=lines.append)
    assert any(NAME in line and "7 commitments" in line for line in lines), lines
    campaign_id = await conn.fetchval("SELECT id FROM campaigns WHERE name = $1", NAME)
    assert campaign_id is not None

    before = await conn.fetchval("SELECT count(*) FROM changes")
    await load_campaign_demo(conn, echo=lines.append)
    assert lines[-1].endswith("already loaded")
    assert await conn.fetchval("SELECT count(*) FROM changes") == before

    r = await client.get(f"/v1/campaigns/{campaign_id}", headers=reader)
    campaign = r.json()
    assert campaign["name"].startswith("[Demo] ") and campaign["aim"]["measureCode"] == MEASURE
    assert len(campaign["innovationIds"]) == 2 and len(campaign["milestones"]) == 3
    r = await client.get(f"/v1/campaigns/{campaign_id}/commitments", headers=reader)
    assert r.json()["apportionment"]["status"] == "under"
    assert r.json()["apportionment"]["committed"] == 5800

    url = f"/v1/campaigns/{campaign_id}/progress"
    r = await client.get(f"{url}?asOf=2024-09-30", headers=reader)
    body = r.json()
    assert body["overall"]["status"] == "on_track"
    statuses = {s["siteCode"]: s["status"] for s in body["sites"]}
    assert statuses["RRV"] == "off_track" and statuses["RXN"] == "on_track"
    r = await client.get(f"{url}?asOf=2024-09-30&filter=stalled", headers=reader)
    assert [s["siteCode"] for s in r.json()["sites"]] == ["RRV"]
    r = await client.get(f"{url}?asOf=2024-12-31", headers=reader)
    assert r.json()["overall"]["status"] == "met"
    r = await client.get(f"{url}?asOf=2024-09-30&format=svg", headers=reader)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    r = await client.get(f"/v1/campaigns/{campaign_id}/impediments", headers=reader)
    assert {i["status"] for i in r.json()["items"]} == {"support_offered", "resolved"}
    r = await client.get(f"/v1/campaigns/{campaign_id}/breakthroughs?q=ambulance", headers=reader)
    assert [b["siteCode"] for b in r.json()["items"]] == ["RXN"]
