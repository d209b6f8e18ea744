"""Adaptations: FRAME coding, component keys, filters, authorisation, delete with history."""

from __future__ import annotations

import asyncpg
import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation, origin_adoption
from tests.feed import settled_changes

FRAME = {
    "description": "Huddle by video call across three community hospitals.",
    "madeOn": "2023-03-01",
    "phase": "implementation",
    "planning": "planned_reactive",
    "decidedBy": ["clinical_lead"],
    "whatModified": "content",
    "level": "team",
    "nature": "tailoring",
    "contextChanges": ["format"],
    "fidelity": "consistent",
    "coreComponentKeys": ["daily_huddle"],
    "goals": ["fit", "workforce"],
    "reasons": ["organisation"],
}


async def test_create_list_update_delete(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin)
    a = (await adopt(client, admin, inn["id"], "RQM", "2022-01-01")).json()
    r = await client.post(f"/v1/adoptions/{a['id']}/adaptations", json=FRAME, headers=admin)
    assert r.status_code == 201, r.text
    ad = r.json()
    assert ad["siteCode"] == "RQM" and ad["innovationId"] == inn["id"]
    assert {k: ad[k] for k in FRAME} == FRAME
    r2 = await client.post(
        f"/v1/adoptions/{a['id']}/adaptations",
        json={
            "description": "Added a pharmacist",
            "phase": "scale_up",
            "whatModified": "context",
            "contextChanges": ["personnel"],
            "nature": "adding",
            "goals": ["safety"],
        },
        headers=admin,
    )
    assert r2.status_code == 201

    r = await client.get(f"/v1/adoptions/{a['id']}/adaptations", headers=admin)
    assert [x["id"] for x in r.json()["items"]] == [ad["id"], r2.json()["id"]]
    r = await client.get(f"/v1/adoptions/{a['id']}", headers=admin)
    assert r.json()["adaptationCount"] == 2

    async def ids(query: str) -> list[str]:
        r = await client.get(f"/v1/innovations/{inn['id']}/adaptations?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await ids("nature=tailoring") == [ad["id"]]
    assert await ids("whatModified=context") == [r2.json()["id"]]
    assert await ids("fidelity=consistent") == [ad["id"]]
    assert await ids("goal=safety") == [r2.json()["id"]]
    assert set(await ids("region=Y56")) == {ad["id"], r2.json()["id"]}
    assert await ids("region=Y62") == []
    assert await ids("") == [r2.json()["id"], ad["id"]]

    r = await client.patch(f"/v1/adaptations/{ad['id']}", json={"outcomeNotes": "More staff joined."}, headers=admin)
    assert r.status_code == 200 and r.json()["outcomeNotes"] == "More staff joined."
    assert r.json()["description"] == FRAME["description"]
    r = await client.delete(f"/v1/adaptations/{ad['id']}", headers=admin)
    assert r.status_code == 204
    assert (await client.get(f"/v1/adaptations/{ad['id']}", headers=admin)).status_code == 404
    r = await client.get(f"/v1/adaptations/{ad['id']}/history", headers=admin)
    assert [c["action"] for c in r.json()["items"]] == ["create", "update", "delete"]
    assert r.json()["items"][-1]["before"]["outcomeNotes"] == "More staff joined."


async def test_bad_adaptations(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin)
    origin = await origin_adoption(client, admin, inn["id"])
    url = f"/v1/adoptions/{origin['id']}/adaptations"
    for change, field in [
        ({"coreComponentKeys": ["no_such_component"]}, "coreComponentKeys"),
        ({"nature": "rewriting"}, "nature"),
        ({"phase": "whenever"}, "phase"),
        ({"goals": ["profit"]}, "goals[0]"),
        ({"description": ""}, "description"),
    ]:
        r = await client.post(url, json={**FRAME, **change}, headers=admin)
        assert r.status_code == 422, (change, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (change, r.json())
    r = await client.post("/v1/adoptions/00000000-0000-0000-0000-000000000000/adaptations", json=FRAME, headers=admin)
    assert r.status_code == 404


async def test_partner_writes_adaptations_only_for_its_sites(
    client: httpx.AsyncClient, admin, make_key: KeyMaker
) -> None:
    inn = await make_innovation(client, admin)
    a = (await adopt(client, admin, inn["id"], "RQM", "2022-01-01")).json()
    north = await make_key("read,write", partner="North HIN", sites=["Y62"])
    r = await client.post(f"/v1/adoptions/{a['id']}/adaptations", json=FRAME, headers=north)
    assert r.status_code == 403
    london = await make_key("read,write", partner="London HIN", sites=["RQM"])
    r = await client.post(f"/v1/adoptions/{a['id']}/adaptations", json=FRAME, headers=london)
    assert r.status_code == 201


async def test_change_feed_never_skips_or_repeats(client: httpx.AsyncClient, conn: asyncpg.Connection, admin) -> None:
    inn = await make_innovation(client, admin)
    await adopt(client, admin, inn["id"], "RQM", "2022-01-01")
    everything = await settled_changes(client, conn, admin)
    sites = [c for c in everything if c["entity"] == "site"]  # the reference import, first
    assert sites and everything[: len(sites)] == sites
    written = everything[len(sites) :]
    # then the innovation, its origin adoption, the RQM adoption: nothing else, nothing twice
    assert [(c["entity"], c["action"]) for c in written] == [
        ("innovation", "create"),
        ("adoption", "create"),
        ("adoption", "create"),
    ]
    seen: list[int] = []
    after = sites[-1]["seq"]
    while True:  # two at a time, resuming after the last seq seen
        r = await client.get(f"/v1/changes?after={after}&limit=2", headers=admin)
        assert r.status_code == 200
        items = r.json()["items"]
        if not items:
            break
        assert len(items) <= 2
        seen += [c["seq"] for c in items]
        after = r.json()["lastSeq"]
    assert seen == [c["seq"] for c in written]
    assert seen == sorted(set(seen))
    r = await client.get("/v1/changes?entity=innovation", headers=admin)
    assert [c["entityId"] for c in r.json()["items"]] == [inn["id"]]
    assert r.json()["items"][0]["after"]["title"] == inn["title"]
    assert r.json()["items"][0]["actor"]["partner"] == "Registry admin"
    assert r.json()["items"][0]["requestId"]
    r = await client.get("/v1/changes?entity=adoption", headers=admin)
    assert {c["action"] for c in r.json()["items"]} == {"create"}
    assert len(r.json()["items"]) == 2
