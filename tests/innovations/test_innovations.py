"""Innovations: create with origin adoption, slugs, filters, sorting, PATCH rules, retire, history."""

from __future__ import annotations

import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation, origin_adoption


async def test_create_makes_origin_adoption_and_counts(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin)
    assert inn["slug"] == "virtual-wards-for-frailty"
    assert inn["adoptionCount"] == 1 and inn["siteCount"] == 1
    assert inn["status"] == "active"
    origin = await origin_adoption(client, admin, inn["id"])
    assert origin["siteCode"] == "RXN"
    assert origin["stage"] == "sustaining"
    assert origin["startedOn"] == "2021-04-01"
    assert origin["stageHistory"] == [{"stage": "sustaining", "on": "2021-04-01", "reason": None}]

    second = await make_innovation(client, admin)
    assert second["slug"] == "virtual-wards-for-frailty-2"
    r = await client.post(
        "/v1/innovations",
        json={
            **{k: inn[k] for k in ("title", "category", "evidenceLevel", "originSiteCode", "originatedOn")},
            "slug": inn["slug"],
        },
        headers=admin,
    )
    assert r.status_code == 409


async def test_get_etag_and_conditional_requests(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin)
    r = await client.get(f"/v1/innovations/{inn['id']}", headers=admin)
    etag = r.headers["etag"]
    assert (
        await client.get(f"/v1/innovations/{inn['id']}", headers={**admin, "If-None-Match": etag})
    ).status_code == 304
    r = await client.patch(
        f"/v1/innovations/{inn['id']}", json={"evidenceLevel": "peer_reviewed"}, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 200
    assert r.json()["evidenceLevel"] == "peer_reviewed"
    assert r.json()["title"] == inn["title"]
    r = await client.patch(f"/v1/innovations/{inn['id']}", json={"summary": "x"}, headers={**admin, "If-Match": etag})
    assert r.status_code == 412
    r = await client.delete(f"/v1/innovations/{inn['id']}", headers=admin)
    assert r.status_code == 200
    assert r.json()["status"] == "retired"
    r = await client.get(f"/v1/innovations/{inn['id']}/history", headers=admin)
    assert [c["action"] for c in r.json()["items"]] == ["create", "update", "update"]
    assert r.json()["items"][2]["after"]["status"] == "retired"


async def test_list_filters_and_sorts(client: httpx.AsyncClient, admin, make_key: KeyMaker) -> None:
    a = await make_innovation(
        client, admin, title="Falls prevention in care homes", category="education", themes=["falls"]
    )
    b = await make_innovation(
        client, admin, title="Digital frailty index", category="digital", evidenceLevel="peer_reviewed"
    )
    c = await make_innovation(client, admin, title="Derived wards", derivedFromId=b["id"], originSiteCode="RQM")
    assert (await adopt(client, admin, b["id"], "RQM", "2022-01-01")).status_code == 201
    assert (await adopt(client, admin, b["id"], "R0A", "2022-02-01")).status_code == 201

    async def ids(query: str) -> list[str]:
        r = await client.get(f"/v1/innovations?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids("category=education") == [a["id"]]
    assert await ids("theme=falls") == [a["id"]]
    assert await ids("evidenceLevel=peer_reviewed") == [b["id"]]
    assert await ids(f"derivedFrom={b['id']}") == [c["id"]]
    assert await ids("originSite=RQM") == [c["id"]]
    assert set(await ids("region=Y56")) == {b["id"], c["id"]}  # RQM is in London
    assert (await ids("sort=-adoptionCount"))[0] == b["id"]
    assert await ids("sort=createdAt") == [a["id"], b["id"], c["id"]]
    assert await ids("sort=-createdAt") == [c["id"], b["id"], a["id"]]
    assert await ids(f"slug={a['slug']}") == [a["id"]]

    page1 = await client.get("/v1/innovations?limit=2&sort=createdAt", headers=admin)
    page2 = await client.get(
        f"/v1/innovations?limit=2&sort=createdAt&cursor={page1.json()['nextCursor']}", headers=admin
    )
    assert [i["id"] for i in page1.json()["items"] + page2.json()["items"]] == [a["id"], b["id"], c["id"]]
    assert page2.json()["nextCursor"] is None

    r = await client.get("/v1/innovations?category=spaceships", headers=admin)
    assert r.status_code == 422
    r = await client.get("/v1/innovations?cursor=garbage!", headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "cursor"


async def test_bad_innovation_input(client: httpx.AsyncClient, admin) -> None:
    base = {
        "title": "X",
        "category": "digital",
        "evidenceLevel": "idea",
        "originSiteCode": "RXN",
        "originatedOn": "2021-01-01",
    }
    cases = [
        ({"originSiteCode": "ZZ9"}, "originSiteCode"),
        ({"originatedOn": "2999-01-01"}, "originatedOn"),
        ({"category": "magic"}, "category"),
        ({"coreComponents": [{"key": "a", "name": "A"}, {"key": "a", "name": "B"}]}, "coreComponents"),
        ({"derivedFromId": "00000000-0000-0000-0000-000000000000"}, "derivedFromId"),
        ({"coreComponents": [{"key": "Bad Key", "name": "A"}]}, "coreComponents[0].key"),
    ]
    for change, field in cases:
        r = await client.post("/v1/innovations", json={**base, **change}, headers=admin)
        assert r.status_code == 422, (change, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (change, r.json())
    assert (await client.get("/v1/innovations/00000000-0000-0000-0000-000000000000", headers=admin)).status_code == 404
    r = await client.get("/v1/innovations/not-a-uuid", headers=admin)
    assert r.status_code == 404  # {id:uuid} does not match: no route


async def test_only_creator_or_admin_edits(client: httpx.AsyncClient, admin, make_key: KeyMaker) -> None:
    lancs = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    other = await make_key("read,write", partner="London HIN", sites=["Y56"])
    inn = await make_innovation(client, lancs)  # origin RXN is in QE1
    r = await client.patch(f"/v1/innovations/{inn['id']}", json={"summary": "mine now"}, headers=other)
    assert r.status_code == 403
    r = await client.patch(f"/v1/innovations/{inn['id']}", json={"summary": "ours"}, headers=lancs)
    assert r.status_code == 200
    r = await client.post(
        "/v1/innovations",
        json={
            "title": "X",
            "category": "digital",
            "evidenceLevel": "idea",
            "originSiteCode": "RQM",
            "originatedOn": "2021-01-01",
        },
        headers=lancs,
    )
    assert r.status_code == 403
    assert "not authorised" in r.json()["detail"]


async def test_components_in_use_cannot_be_removed_and_no_derivation_cycles(client: httpx.AsyncClient, admin) -> None:
    parent = await make_innovation(client, admin)
    child = await make_innovation(client, admin, title="Child", derivedFromId=parent["id"])
    r = await client.patch(f"/v1/innovations/{parent['id']}", json={"derivedFromId": child["id"]}, headers=admin)
    assert r.status_code == 409
    origin = await origin_adoption(client, admin, parent["id"])
    r = await client.post(
        f"/v1/adoptions/{origin['id']}/adaptations",
        json={
            "description": "Huddle moved online",
            "phase": "implementation",
            "whatModified": "content",
            "coreComponentKeys": ["daily_huddle"],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/innovations/{parent['id']}",
        json={"coreComponents": [{"key": "remote_monitoring", "name": "R"}]},
        headers=admin,
    )
    assert r.status_code == 409
    assert "daily_huddle" in r.json()["detail"]
    # a component no adaptation touched may go
    r = await client.patch(
        f"/v1/innovations/{parent['id']}",
        json={"coreComponents": [{"key": "daily_huddle", "name": "Daily multidisciplinary huddle"}]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert [c["key"] for c in r.json()["coreComponents"]] == ["daily_huddle"]
