"""Impediments (report, offer support, resolve, list) and breakthroughs (celebrate, link, search)."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from tests.campaigns import rows
from tests.campaigns.api import commit, fields, make_campaign


@pytest.fixture
async def setup(client: httpx.AsyncClient, conn, admin) -> dict:
    await rows.measure(conn)
    innovation = await rows.innovation(conn, "frailty-wards")
    rxn_site = await rows.child_site(conn, "RXN")
    rxn = await rows.adoption(conn, innovation, rxn_site)
    rqm = await rows.adoption(conn, innovation, "RQM")
    campaign = await make_campaign(client, admin, [str(innovation)], endsOn="2030-12-31")
    assert (await commit(client, admin, campaign["id"], "RXN", 100)).status_code == 201
    return {
        "campaign": campaign,
        "url": f"/v1/campaigns/{campaign['id']}",
        "rxn_site": rxn_site,
        "rxn_adoption": str(rxn),
        "rqm_adoption": str(rqm),
        "rxn_adaptation": str(await rows.adaptation(conn, rxn, "Huddle moved to eight")),
        "rqm_adaptation": str(await rows.adaptation(conn, rqm, "Added a pharmacist")),
    }


async def test_impediment_lifecycle(client: httpx.AsyncClient, setup, admin) -> None:
    url = setup["url"]
    today = dt.date.today().isoformat()
    # A hospital site of a committed trust may report.
    body = {"siteCode": setup["rxn_site"], "description": "No weekend cover", "category": "workforce"}
    r = await client.post(f"{url}/impediments", json=body, headers=admin)
    assert r.status_code == 201, r.text
    impediment = r.json()
    assert (impediment["status"], impediment["raisedOn"], impediment["supportOffered"]) == ("open", today, None)
    one = f"/v1/impediments/{impediment['id']}"
    r = await client.get(one, headers=admin)
    assert r.json() == impediment
    etag = r.headers["etag"]

    r = await client.patch(
        one,
        json={"status": "support_offered", "supportOffered": "Weekend rota from the hub"},
        headers={**admin, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["supportOfferedOn"], r.json()["supportOffered"]) == (
        "support_offered",
        today,
        "Weekend rota from the hub",
    )
    assert (
        await client.patch(one, json={"category": "resources"}, headers={**admin, "If-Match": etag})
    ).status_code == 412
    r = await client.patch(one, json={"status": "resolved"}, headers=admin)
    assert (r.json()["status"], r.json()["resolvedOn"]) == ("resolved", today)
    r = await client.patch(one, json={"status": "open"}, headers=admin)  # reopened: no longer resolved
    assert (r.json()["status"], r.json()["resolvedOn"]) == ("open", None)

    await client.post(f"{url}/impediments", json={**body, "siteCode": "RXN", "category": "data"}, headers=admin)
    r = await client.get(f"{url}/impediments", headers=admin)
    assert [i["category"] for i in r.json()["items"]] == ["data", "workforce"]
    r = await client.get(f"{url}/impediments?category=workforce&status=open", headers=admin)
    assert [i["id"] for i in r.json()["items"]] == [impediment["id"]]
    r = await client.get(f"{url}/impediments?site=rxn", headers=admin)
    assert [i["siteCode"] for i in r.json()["items"]] == ["RXN"]
    r = await client.get(f"{url}/impediments?limit=1", headers=admin)
    r = await client.get(f"{url}/impediments?limit=1&cursor={r.json()['nextCursor']}", headers=admin)
    assert [i["id"] for i in r.json()["items"]] == [impediment["id"]]


async def test_impediment_rules(client: httpx.AsyncClient, setup, admin, conn) -> None:
    url = setup["url"]
    base = {"siteCode": "RXN", "description": "Data feed broken", "category": "data"}
    cases = [
        ({"siteCode": "RQM"}, "siteCode"),  # not committed
        ({"siteCode": "ZZZ99"}, "siteCode"),
        ({"category": "money"}, "category"),
        ({"description": ""}, "description"),
        ({"raisedOn": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "raisedOn"),
        ({"status": "resolved"}, "status"),
    ]
    for overrides, field in cases:
        r = await client.post(f"{url}/impediments", json={**base, **overrides}, headers=admin)
        assert field in fields(r), (overrides, r.json())
    assert await rows.count(conn, "impediments") == 0

    r = await client.post(f"{url}/impediments", json={**base, "raisedOn": "2024-03-01"}, headers=admin)
    one = f"/v1/impediments/{r.json()['id']}"
    cases = [
        ({"status": "resolved", "resolvedOn": "2024-02-01"}, "resolvedOn"),
        ({"resolvedOn": "2024-05-01"}, "resolvedOn"),  # still open
        ({"status": "support_offered", "supportOfferedOn": "2024-01-01"}, "supportOfferedOn"),
        ({"status": "closed"}, "status"),
    ]
    for body, field in cases:
        r = await client.patch(one, json=body, headers=admin)
        assert field in fields(r), (body, r.json())
    r = await client.patch(f"/v1/impediments/{uuid.uuid4()}", json={"status": "resolved"}, headers=admin)
    assert r.status_code == 404
    assert (await client.get(f"/v1/impediments/{uuid.uuid4()}", headers=admin)).status_code == 404


async def test_breakthroughs(client: httpx.AsyncClient, setup, admin, conn) -> None:
    url = setup["url"]
    r = await client.post(
        f"{url}/breakthroughs",
        json={
            "siteCode": "RXN",
            "title": "Huddle at eight",
            "story": "Moving the multidisciplinary huddle to eight o'clock freed beds before the morning rush.",
            "adaptationId": setup["rxn_adaptation"],
            "celebratedOn": "2024-05-01",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    huddle = r.json()
    assert huddle["adoptionId"] == setup["rxn_adoption"]  # taken from the adaptation
    assert r.headers["location"] == f"/v1/breakthroughs/{huddle['id']}"
    assert (await client.get(f"/v1/breakthroughs/{huddle['id']}", headers=admin)).json() == huddle
    r = await client.post(
        f"{url}/breakthroughs",
        json={
            "siteCode": setup["rxn_site"],
            "title": "Pharmacists on ward rounds",
            "story": "Medicines reviewed daily.",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    pharmacy = r.json()

    async def titles(query: str) -> list[str]:
        r = await client.get(f"{url}/breakthroughs?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [b["title"] for b in r.json()["items"]]

    assert await titles("") == ["Pharmacists on ward rounds", "Huddle at eight"]
    assert await titles("q=beds") == ["Huddle at eight"]  # from the story
    assert await titles("q=pharmacist") == ["Pharmacists on ward rounds"]  # stemmed
    assert await titles("q=huddle -beds") == []
    assert await titles(f"site={setup['rxn_site']}") == ["Pharmacists on ward rounds"]
    r = await client.get(f"{url}/breakthroughs?limit=1", headers=admin)
    r = await client.get(f"{url}/breakthroughs?limit=1&cursor={r.json()['nextCursor']}", headers=admin)
    assert [b["id"] for b in r.json()["items"]] == [huddle["id"]]
    assert pharmacy["celebratedOn"] == dt.date.today().isoformat()

    base = {"siteCode": "RXN", "title": "t", "story": "s"}
    cases = [
        ({"adaptationId": setup["rqm_adaptation"]}, "adaptationId"),  # made at RQM
        ({"adaptationId": str(uuid.uuid4())}, "adaptationId"),
        ({"adoptionId": setup["rqm_adoption"]}, "adoptionId"),
        ({"adaptationId": setup["rxn_adaptation"], "adoptionId": setup["rqm_adoption"]}, "adoptionId"),
        ({"siteCode": "RQM"}, "siteCode"),
        ({"celebratedOn": "2023-06-01"}, "celebratedOn"),
        ({"title": ""}, "title"),
    ]
    for overrides, field in cases:
        r = await client.post(f"{url}/breakthroughs", json={**base, **overrides}, headers=admin)
        assert field in fields(r), (overrides, r.json())
    assert await rows.count(conn, "breakthroughs") == 2
    assert (await client.get(f"/v1/breakthroughs/{uuid.uuid4()}", headers=admin)).status_code == 404
