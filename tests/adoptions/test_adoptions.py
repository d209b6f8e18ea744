"""Adoptions: learned-from rules (family, dates, cycles, duplicates), stages, authorisation."""

from __future__ import annotations

import asyncpg
import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation, origin_adoption
from tests.feed import settled_changes


async def test_peer_learning_chain(client: httpx.AsyncClient, conn: asyncpg.Connection, admin) -> None:
    inn = await make_innovation(client, admin)
    origin = await origin_adoption(client, admin, inn["id"])
    r = await adopt(
        client,
        admin,
        inn["id"],
        "RQM",
        "2022-03-01",
        stage="piloting",
        sources=[{"adoptionId": origin["id"], "channel": "peer_visit", "on": "2022-02-10"}],
    )
    assert r.status_code == 201, r.text
    second = r.json()
    assert r.headers["location"] == f"/v1/adoptions/{second['id']}"
    assert second["sources"] == [
        {"adoptionId": origin["id"], "channel": "peer_visit", "on": "2022-02-10", "siteCode": "RXN"}
    ]
    assert second["siteName"]
    assert second["stageHistory"][0]["stage"] == "piloting"

    r = await client.get(f"/v1/innovations/{inn['id']}", headers=admin)
    assert r.json()["adoptionCount"] == 2 and r.json()["siteCount"] == 2

    r = await client.patch(f"/v1/adoptions/{second['id']}", json={"stage": "implementing"}, headers=admin)
    assert r.status_code == 200
    assert [h["stage"] for h in r.json()["stageHistory"]] == ["piloting", "implementing"]

    r = await client.patch(f"/v1/adoptions/{second['id']}", json={"stage": "discontinued"}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "discontinuedReason"
    # a stage change is dated by the database's own date (its session time zone), not the wall clock here
    before = await conn.fetchval("SELECT current_date")
    r = await client.patch(
        f"/v1/adoptions/{second['id']}",
        json={"stage": "discontinued", "discontinuedReason": "Lost funding"},
        headers=admin,
    )
    after = await conn.fetchval("SELECT current_date")
    assert r.status_code == 200
    last = r.json()["stageHistory"][-1]
    assert last["on"] in {before.isoformat(), after.isoformat()}
    assert last == {"stage": "discontinued", "on": last["on"], "reason": "Lost funding"}
    # a discontinued adoption is evidence: still there, and the site may start again
    r = await adopt(client, admin, inn["id"], "RQM", "2023-01-01")
    assert r.status_code == 201


async def test_lineage_rules(client: httpx.AsyncClient, conn: asyncpg.Connection, admin) -> None:
    inn = await make_innovation(client, admin)
    other = await make_innovation(client, admin, title="Something else")
    origin = await origin_adoption(client, admin, inn["id"])
    other_origin = await origin_adoption(client, admin, other["id"])

    async def refused(site: str, started: str, sources: list[dict], status: int, field: str | None = None) -> None:
        r = await adopt(client, admin, inn["id"], site, started, sources=sources)
        assert r.status_code == status, r.text
        if field:
            assert field in [e["field"] for e in r.json()["errors"]], r.json()

    await refused(
        "RQM", "2020-01-01", [{"adoptionId": origin["id"], "channel": "peer_visit"}], 422, "sources[0].adoptionId"
    )
    await refused(
        "RQM", "2022-01-01", [{"adoptionId": other_origin["id"], "channel": "peer_visit"}], 422, "sources[0].adoptionId"
    )
    await refused("RQM", "2022-01-01", [{"adoptionId": origin["id"], "channel": "telepathy"}], 422)
    await refused(
        "RQM",
        "2022-01-01",
        [{"adoptionId": origin["id"], "channel": "peer_visit", "on": "2999-01-01"}],
        422,
        "sources[0].on",
    )
    await refused("RQM", "2999-01-01", [], 422, "startedOn")
    await refused("ZZ9", "2022-01-01", [], 422, "siteCode")
    await refused(
        "RQM",
        "2022-01-01",
        [{"adoptionId": "00000000-0000-0000-0000-000000000001", "channel": "other"}],
        422,
        "sources[0].adoptionId",
    )
    await refused("RXN", "2022-01-01", [], 409)  # the origin site already has an open adoption
    # the refusals wrote nothing: the only adoptions ever created are the two origins
    changes = await settled_changes(client, conn, admin, entity="adoption")
    assert {(c["action"], c["entityId"]) for c in changes} == {
        ("create", origin["id"]),
        ("create", other_origin["id"]),
    }

    # cycles: a (2022-01) <- b (2022-01), then try a learning from b: same dates, would cycle
    a = (
        await adopt(
            client,
            admin,
            inn["id"],
            "RQM",
            "2022-01-01",
            sources=[{"adoptionId": origin["id"], "channel": "peer_visit"}],
        )
    ).json()
    b = (
        await adopt(
            client, admin, inn["id"], "R0A", "2022-01-01", sources=[{"adoptionId": a["id"], "channel": "collaborative"}]
        )
    ).json()
    r = await client.post(
        f"/v1/adoptions/{a['id']}/sources", json={"adoptionId": b["id"], "channel": "other"}, headers=admin
    )
    assert r.status_code == 409
    assert "cycle" in r.json()["detail"]
    r = await client.post(
        f"/v1/adoptions/{b['id']}/sources", json={"adoptionId": a["id"], "channel": "other"}, headers=admin
    )
    assert r.status_code == 409  # already learned from a
    r = await client.post(
        f"/v1/adoptions/{b['id']}/sources", json={"adoptionId": origin["id"], "channel": "publication"}, headers=admin
    )
    assert r.status_code == 201
    assert len(r.json()["sources"]) == 2
    r = await client.delete(f"/v1/adoptions/{b['id']}/sources/{origin['id']}", headers=admin)
    assert r.status_code == 204
    r = await client.delete(f"/v1/adoptions/{b['id']}/sources/{origin['id']}", headers=admin)
    assert r.status_code == 404
    # moving a learner's start before its source's is refused by the database rule too
    r = await client.patch(f"/v1/adoptions/{b['id']}", json={"startedOn": "2021-01-01"}, headers=admin)
    assert r.status_code == 422
    counts = await client.get(f"/v1/innovations/{inn['id']}", headers=admin)
    assert counts.json()["adoptionCount"] == 3


async def test_database_enforces_rules_without_the_api(conn, client: httpx.AsyncClient, admin) -> None:
    import asyncpg
    import pytest

    inn = await make_innovation(client, admin)
    origin = await origin_adoption(client, admin, inn["id"])
    a = (await adopt(client, admin, inn["id"], "RQM", "2022-01-01")).json()
    with pytest.raises(asyncpg.CheckViolationError) as info:
        await conn.execute(
            "INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel) VALUES ($1, $2, 'other')",
            __import__("uuid").UUID(origin["id"]),
            __import__("uuid").UUID(a["id"]),
        )
    assert info.value.constraint_name == "adoption_sources_source_started_first"


async def test_partners_write_only_for_their_sites(client: httpx.AsyncClient, admin, make_key: KeyMaker) -> None:
    inn = await make_innovation(client, admin)
    london = await make_key("read,write", partner="UCLPartners", sites=["Y56"])
    r = await adopt(client, london, inn["id"], "RQM", "2022-01-01")
    assert r.status_code == 201
    assert r.json()["partner"] == "UCLPartners"
    r = await adopt(client, london, inn["id"], "R0A", "2022-01-01")  # Manchester
    assert r.status_code == 403
    assert "not authorised for site R0A" in r.json()["detail"]


async def test_adoption_list_filters_and_history(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin)
    await adopt(client, admin, inn["id"], "RQM", "2022-01-01", stage="piloting")
    await adopt(client, admin, inn["id"], "R0A", "2022-06-01", stage="implementing")

    async def sites(query: str) -> list[str]:
        r = await client.get(f"/v1/innovations/{inn['id']}/adoptions?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [a["siteCode"] for a in r.json()["items"]]

    assert await sites("") == ["RXN", "RQM", "R0A"]
    assert await sites("stage=piloting") == ["RQM"]
    assert await sites("region=Y56") == ["RQM"]
    assert await sites("since=2022-03-01") == ["R0A"]
    assert await sites("site=R0A") == ["R0A"]
    r1 = await client.get(f"/v1/innovations/{inn['id']}/adoptions?limit=2", headers=admin)
    r2 = await client.get(
        f"/v1/innovations/{inn['id']}/adoptions?limit=2&cursor={r1.json()['nextCursor']}", headers=admin
    )
    assert [a["siteCode"] for a in r1.json()["items"] + r2.json()["items"]] == ["RXN", "RQM", "R0A"]
    r = await client.get("/v1/innovations/00000000-0000-0000-0000-000000000000/adoptions", headers=admin)
    assert r.status_code == 404

    a = r1.json()["items"][1]
    await client.patch(f"/v1/adoptions/{a['id']}", json={"notes": "going well"}, headers=admin)
    r = await client.get(f"/v1/adoptions/{a['id']}/history", headers=admin)
    assert [c["action"] for c in r.json()["items"]] == ["create", "update"]
    assert r.json()["items"][1]["after"]["notes"] == "going well"
