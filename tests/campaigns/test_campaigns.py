"""Campaigns: create, read, list, update with ETags, history; input rules; authorisation; closed is read-only."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.campaigns import rows
from tests.campaigns.api import campaign_body, commit, fields, make_campaign
from tests.conftest import KeyMaker


@pytest.fixture
async def innovations(conn) -> list[str]:
    await rows.measure(conn)
    return [str(await rows.innovation(conn, slug)) for slug in ("frailty-wards", "falls-bundle", "sepsis-alert")]


async def test_create_read_list_update(client: httpx.AsyncClient, make_key: KeyMaker, innovations, admin) -> None:
    lead = await make_key("read,write", partner="North West HIN")
    body = campaign_body(
        innovations[:2],
        milestones=[{"on": "2024-04-01", "target": 300}, {"on": "2024-08-01", "target": 800}],
        status="planned",
        leadPartner="North West HIN",
    )
    r = await client.post("/v1/campaigns", json=body, headers=admin)
    assert r.status_code == 201, r.text
    campaign = r.json()
    assert r.headers["location"] == f"/v1/campaigns/{campaign['id']}"
    assert campaign["leadPartner"] == "North West HIN"
    assert sorted(campaign["innovationIds"]) == sorted(innovations[:2])
    assert campaign["aim"] == {"measureCode": rows.MEASURE, "baseline": 0.0, "target": 1200.0, "dueOn": "2024-12-31"}
    assert campaign["milestones"] == body["milestones"]
    assert campaign["status"] == "planned" and campaign["commitmentCount"] == 0
    etag = r.headers["etag"]

    r = await client.get(f"/v1/campaigns/{campaign['id']}", headers=lead)
    assert r.status_code == 200 and r.json() == campaign
    r = await client.get(f"/v1/campaigns/{campaign['id']}", headers={**lead, "If-None-Match": etag})
    assert r.status_code == 304

    other = await make_campaign(client, admin, [innovations[2]], name="Sepsis sprint", kind="collaborative")
    r = await client.get("/v1/campaigns", headers=lead)
    assert [c["id"] for c in r.json()["items"]] == [other["id"], campaign["id"]]
    r = await client.get(f"/v1/campaigns?innovation={innovations[0]}", headers=lead)
    assert [c["id"] for c in r.json()["items"]] == [campaign["id"]]
    r = await client.get("/v1/campaigns?kind=collaborative&status=active", headers=lead)
    assert [c["id"] for c in r.json()["items"]] == [other["id"]]
    r = await client.get("/v1/campaigns?limit=1", headers=lead)
    assert [c["id"] for c in r.json()["items"]] == [other["id"]] and 'rel="next"' in r.headers["link"]
    r = await client.get(f"/v1/campaigns?limit=1&cursor={r.json()['nextCursor']}", headers=lead)
    assert [c["id"] for c in r.json()["items"]] == [campaign["id"]]

    r = await client.patch(
        f"/v1/campaigns/{campaign['id']}",
        json={"status": "active", "innovationIds": innovations[1:]},
        headers={**lead, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert sorted(r.json()["innovationIds"]) == sorted(innovations[1:])
    assert r.headers["etag"] != etag
    r = await client.patch(f"/v1/campaigns/{campaign['id']}", json={"name": "x"}, headers={**lead, "If-Match": etag})
    assert r.status_code == 412

    r = await client.get(f"/v1/campaigns?innovation={innovations[0]}", headers=lead)
    assert r.json()["items"] == []
    r = await client.get(f"/v1/campaigns/{campaign['id']}/history", headers=lead)
    changes = r.json()["items"]
    assert [c["action"] for c in changes] == ["create", "update"]
    assert changes[1]["before"]["status"] == "planned" and changes[1]["after"]["status"] == "active"
    assert sorted(changes[1]["after"]["innovationIds"]) == sorted(innovations[1:])
    assert changes[1]["actor"]["partner"] == "North West HIN"


async def test_each_bad_input_is_named_and_nothing_is_written(
    client: httpx.AsyncClient, innovations, admin, conn
) -> None:
    missing = str(uuid.uuid4())
    aim = {"measureCode": rows.MEASURE, "baseline": 0, "target": 1200, "dueOn": "2024-12-31"}
    cases = [
        ({"endsOn": "2023-12-31", "aim": {**aim, "dueOn": "2023-12-31"}}, "endsOn"),
        ({"endsOn": "2040-01-01"}, "endsOn"),
        ({"aim": {**aim, "dueOn": "2025-01-31"}}, "aim.dueOn"),
        ({"aim": {**aim, "baseline": 1200}}, "aim.target"),
        ({"aim": {**aim, "measureCode": "NO_SUCH"}}, "aim.measureCode"),
        ({"aim": {**aim, "target": 0}}, "aim.target"),
        ({"innovationIds": [innovations[0], missing]}, "innovationIds[1]"),
        ({"innovationIds": [innovations[0], innovations[0]]}, "innovationIds[1]"),
        ({"innovationIds": []}, "innovationIds"),
        ({"milestones": [{"on": "2025-02-01", "target": 10}]}, "milestones[0].on"),
        ({"milestones": [{"on": "2024-01-01", "target": 10}]}, "milestones[0].on"),
        ({"milestones": [{"on": "2024-03-01", "target": 1500}]}, "milestones[0].target"),
        ({"milestones": [{"on": "2024-03-01", "target": 0}]}, "milestones[0].target"),
        (
            {"milestones": [{"on": "2024-06-01", "target": 500}, {"on": "2024-03-01", "target": 600}]},
            "milestones[1].on",
        ),
        (
            {"milestones": [{"on": "2024-03-01", "target": 500}, {"on": "2024-06-01", "target": 400}]},
            "milestones[1].target",
        ),
        ({"kind": "crusade"}, "kind"),
        ({"status": "finished"}, "status"),
        ({"leadPartner": "Nobody at all"}, "leadPartner"),
        ({"colour": "blue"}, "colour"),
    ]
    for overrides, field in cases:
        r = await client.post("/v1/campaigns", json=campaign_body(innovations, **overrides), headers=admin)
        assert field in fields(r), (overrides, r.json())
    # Several faults at once: each is named.
    r = await client.post(
        "/v1/campaigns",
        json=campaign_body(
            [missing],
            aim={**aim, "measureCode": "NO_SUCH", "dueOn": "2025-06-01"},
            milestones=[{"on": "2023-06-01", "target": 5}],
        ),
        headers=admin,
    )
    assert set(fields(r)) == {"innovationIds[0]", "aim.measureCode", "aim.dueOn", "milestones[0].on"}
    assert await rows.count(conn, "campaigns") == 0
    assert await conn.fetchval("SELECT count(*) FROM changes WHERE entity = 'campaign'") == 0

    campaign = await make_campaign(client, admin, innovations)
    url = f"/v1/campaigns/{campaign['id']}"
    r = await client.patch(url, json={"endsOn": "2024-06-30"}, headers=admin)
    assert "aim.dueOn" in fields(r)
    r = await client.patch(url, json={"milestones": [{"on": "2024-05-01", "target": 2000}]}, headers=admin)
    assert "milestones[0].target" in fields(r)
    assert (await client.get(url, headers=admin)).json() == campaign

    for path in ("", "/commitments", "/impediments", "/breakthroughs", "/progress", "/history"):
        r = await client.get(f"/v1/campaigns/{missing}{path}", headers=admin)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.patch(f"/v1/campaigns/{missing}", json={"name": "x"}, headers=admin)
    assert r.status_code == 404
    r = await client.get("/v1/campaigns/not-a-uuid", headers=admin)
    assert r.status_code == 404  # {id:uuid} does not match: no route
    assert r.json()["type"] == "/problems/not-found"


async def test_who_may_write(client: httpx.AsyncClient, make_key: KeyMaker, innovations, reader, admin, conn) -> None:
    lead = await make_key("read,write", partner="Lead HIN")
    lancashire = await make_key("read,write", partner="Lancashire partner", sites=["QE1"])
    london = await make_key("read,write", partner="London partner", sites=["RQM"])
    await make_key("read", partner="Someone else")

    r = await client.post("/v1/campaigns", json=campaign_body(innovations), headers=reader)
    assert r.status_code == 403
    r = await client.post("/v1/campaigns", json=campaign_body(innovations, leadPartner="Lead HIN"), headers=london)
    assert r.status_code == 403
    assert "administrator" in r.json()["detail"]
    r = await client.post("/v1/campaigns", json=campaign_body(innovations, leadPartner="Lead HIN"), headers=admin)
    assert r.status_code == 201 and r.json()["leadPartner"] == "Lead HIN"
    campaign = r.json()
    url = f"/v1/campaigns/{campaign['id']}"

    # Campaign edits: the lead partner or an admin.
    r = await client.patch(url, json={"name": "Taken over"}, headers=london)
    assert r.status_code == 403
    assert (await client.patch(url, json={"name": "Renamed by lead"}, headers=lead)).status_code == 200
    assert (await client.patch(url, json={"description": "By admin"}, headers=admin)).status_code == 200

    # Commitments: the site's partner (RXN is under QE1), the lead partner or an admin.
    assert (await commit(client, lancashire, campaign["id"], "RXN", 100)).status_code == 201
    r = await commit(client, london, campaign["id"], "RXN", 200)
    assert r.status_code == 403 and "not authorised for site RXN, nor does it lead" in r.json()["detail"]
    assert (await commit(client, london, campaign["id"], "RQM", 100)).status_code == 201
    assert (await commit(client, lead, campaign["id"], "R0A", 100)).status_code == 201
    assert (await commit(client, admin, campaign["id"], "RW6", 100)).status_code == 201
    r = await commit(client, reader, campaign["id"], "RQM", 100)
    assert r.status_code == 403

    # Impediments: the same three.
    imp = {"siteCode": "RXN", "description": "No weekend cover", "category": "workforce"}
    r = await client.post(f"{url}/impediments", json=imp, headers=london)
    assert r.status_code == 403
    r = await client.post(f"{url}/impediments", json=imp, headers=lancashire)
    assert r.status_code == 201, r.text
    impediment = r.json()
    assert r.headers["location"] == f"/v1/impediments/{impediment['id']}"
    r = await client.patch(f"/v1/impediments/{impediment['id']}", json={"status": "support_offered"}, headers=london)
    assert r.status_code == 403
    r = await client.patch(
        f"/v1/impediments/{impediment['id']}",
        json={"status": "support_offered", "supportOffered": "Regional weekend rota"},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(f"/v1/impediments/{impediment['id']}", json={"status": "resolved"}, headers=lancashire)
    assert r.status_code == 200 and r.json()["resolvedOn"] is not None

    # Breakthroughs: the same three.
    story = {"siteCode": "RQM", "title": "Huddle at eight", "story": "Moving the huddle earlier freed beds."}
    assert (await client.post(f"{url}/breakthroughs", json=story, headers=lancashire)).status_code == 403
    assert (await client.post(f"{url}/breakthroughs", json=story, headers=london)).status_code == 201
    assert await conn.fetchval("SELECT count(*) FROM commitments") == 4


async def test_closed_campaign_is_read_only(
    client: httpx.AsyncClient, make_key: KeyMaker, innovations, admin, conn
) -> None:
    lead = await make_key("read,write", partner="Lead HIN", sites=["RXN"])
    campaign = await make_campaign(client, admin, innovations, leadPartner="Lead HIN")
    url = f"/v1/campaigns/{campaign['id']}"
    assert (await commit(client, lead, campaign["id"], "RXN", 100)).status_code == 201
    r = await client.post(
        f"{url}/impediments", json={"siteCode": "RXN", "description": "x", "category": "data"}, headers=lead
    )
    impediment = r.json()
    # Closing in the same request as a last change of innovations.
    r = await client.patch(url, json={"status": "closed", "innovationIds": innovations[:1]}, headers=lead)
    assert r.status_code == 200, r.text
    assert r.json()["innovationIds"] == innovations[:1]
    before = await conn.fetchval("SELECT count(*) FROM changes")

    attempts = [
        await commit(client, lead, campaign["id"], "RXN", 150),
        await commit(client, admin, campaign["id"], "RQM", 150),
        await client.post(
            f"{url}/impediments", json={"siteCode": "RXN", "description": "y", "category": "data"}, headers=lead
        ),
        await client.patch(f"/v1/impediments/{impediment['id']}", json={"status": "resolved"}, headers=lead),
        await client.post(f"{url}/breakthroughs", json={"siteCode": "RXN", "title": "t", "story": "s"}, headers=lead),
        await client.patch(url, json={"name": "Renamed"}, headers=lead),
        await client.patch(url, json={"status": "active"}, headers=lead),
        await client.patch(url, json={"status": "active", "name": "Renamed"}, headers=admin),
        await client.patch(url, json={"innovationIds": innovations}, headers=admin),
    ]
    for r in attempts:
        assert r.status_code == 409, r.text
        assert "closed" in r.json()["detail"]
    assert await conn.fetchval("SELECT count(*) FROM changes") == before

    # Also refused below the API.
    with pytest.raises(Exception, match="closed"):
        await conn.execute("UPDATE commitments SET target = 1")

    r = await client.patch(url, json={"status": "active"}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert (await commit(client, lead, campaign["id"], "RXN", 150)).status_code == 200


async def test_changes_are_logged_by_entity(client: httpx.AsyncClient, innovations, admin, conn) -> None:
    campaign = await make_campaign(client, admin, innovations)
    url = f"/v1/campaigns/{campaign['id']}"
    await commit(client, admin, campaign["id"], "RXN", 100)
    r = await client.post(
        f"{url}/impediments", json={"siteCode": "RXN", "description": "x", "category": "data"}, headers=admin
    )
    assert r.status_code == 201
    r = await client.post(f"{url}/breakthroughs", json={"siteCode": "RXN", "title": "t", "story": "s"}, headers=admin)
    assert r.status_code == 201
    # (Read from the table: the feed holds back rows while any transaction on the server is open.)
    logged = await conn.fetch(
        "SELECT entity, action, after FROM changes WHERE entity IN ('campaign', 'commitment', 'impediment', 'breakthrough') ORDER BY seq"
    )
    assert [(c["entity"], c["action"]) for c in logged] == [
        ("campaign", "create"),
        ("commitment", "create"),
        ("impediment", "create"),
        ("breakthrough", "create"),
    ]
    assert "searchVector" not in logged[-1]["after"] and logged[-1]["after"]["title"] == "t"
