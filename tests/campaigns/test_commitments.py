"""Commitments: upsert, apportionment sums, dates inside the campaign, ETags, 404s."""

from __future__ import annotations

import httpx
import pytest

from tests.campaigns import rows
from tests.campaigns.api import commit, fields, make_campaign


@pytest.fixture
async def campaign(client: httpx.AsyncClient, conn, admin) -> dict:
    await rows.measure(conn)
    innovation = await rows.innovation(conn, "frailty-wards")
    return await make_campaign(
        client, admin, [str(innovation)], aim={"measureCode": rows.MEASURE, "target": 0.3, "dueOn": "2024-12-31"}
    )


async def test_apportionment_sums(client: httpx.AsyncClient, campaign, admin) -> None:
    url = f"/v1/campaigns/{campaign['id']}/commitments"

    async def apportionment() -> dict:
        r = await client.get(url, headers=admin)
        assert r.status_code == 200, r.text
        return r.json()["apportionment"]

    assert await apportionment() == {
        "status": "under",
        "campaignTarget": 0.3,
        "committed": 0,
        "difference": -0.3,
        "share": 0,
        "sites": 0,
    }
    assert (await commit(client, admin, campaign["id"], "RXN", 0.1)).status_code == 201
    a = await apportionment()
    assert (a["status"], a["committed"], a["sites"]) == ("under", 0.1, 1)
    assert a["difference"] == pytest.approx(-0.2) and a["share"] == pytest.approx(1 / 3)
    # 0.1 + 0.2 is exactly 0.3 here (in floating point it is not): fully apportioned.
    assert (await commit(client, admin, campaign["id"], "rqm", 0.2)).status_code == 201
    a = await apportionment()
    assert (a["status"], a["committed"], a["difference"], a["share"], a["sites"]) == ("fully", 0.3, 0, 1, 2)
    assert (await commit(client, admin, campaign["id"], "QE1", 0.05)).status_code == 201
    a = await apportionment()
    assert (a["status"], a["committed"], a["sites"]) == ("over", 0.35, 3)
    assert a["difference"] == pytest.approx(0.05)
    # Replacing a commitment replaces its share.
    assert (await commit(client, admin, campaign["id"], "QE1", 0.01)).status_code == 200
    a = await apportionment()
    assert (a["status"], a["committed"]) == ("over", 0.31)

    r = await client.get(url, headers=admin)
    items = r.json()["items"]
    assert [c["siteCode"] for c in items] == ["QE1", "RQM", "RXN"]
    assert items[0]["siteKind"] == "icb" and items[2]["siteName"]
    r = await client.get(f"{url}?limit=2", headers=admin)
    assert [c["siteCode"] for c in r.json()["items"]] == ["QE1", "RQM"]
    assert r.json()["apportionment"]["sites"] == 3  # the whole campaign, not the page
    r = await client.get(f"{url}?limit=2&cursor={r.json()['nextCursor']}", headers=admin)
    assert [c["siteCode"] for c in r.json()["items"]] == ["RXN"] and r.json()["nextCursor"] is None
    r = await client.get(f"/v1/campaigns/{campaign['id']}", headers=admin)
    assert r.json()["commitmentCount"] == 3


async def test_upsert_and_etags(client: httpx.AsyncClient, campaign, admin) -> None:
    url = f"/v1/campaigns/{campaign['id']}/commitments/RXN"
    body = {
        "target": 0.2,
        "dueOn": "2024-09-30",
        "milestones": [{"on": "2024-06-01", "target": 0.1}],
        "agreedOn": "2024-02-01",
    }
    r = await client.put(url, json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == url
    first = r.json()
    assert first["milestones"] == body["milestones"] and first["agreedOn"] == "2024-02-01"
    etag = r.headers["etag"]
    assert (await client.get(url, headers={**admin, "If-None-Match": etag})).status_code == 304

    # agreedOn left out keeps the agreement date; the rest is replaced.
    r = await client.put(url, json={"target": 0.25, "dueOn": "2024-10-31"}, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first["id"]
    assert (r.json()["target"], r.json()["milestones"], r.json()["agreedOn"]) == (0.25, [], "2024-02-01")
    r = await client.put(url, json=body, headers={**admin, "If-Match": etag})
    assert r.status_code == 412
    r = await client.put(
        f"/v1/campaigns/{campaign['id']}/commitments/RQM", json=body, headers={**admin, "If-Match": '"1"'}
    )
    assert r.status_code == 412

    r = await client.get(f"/v1/campaigns/{campaign['id']}/commitments/RQM", headers=admin)
    assert r.status_code == 404
    r = await client.put(f"/v1/campaigns/{campaign['id']}/commitments/ZZZ99", json=body, headers=admin)
    assert r.status_code == 404
    assert "ZZZ99" in r.json()["detail"]


async def test_commitment_rules(client: httpx.AsyncClient, campaign, admin, conn) -> None:
    url = f"/v1/campaigns/{campaign['id']}/commitments/RXN"
    base = {"target": 10, "dueOn": "2024-10-31", "agreedOn": "2024-02-01"}
    cases = [
        ({"target": 0}, "target"),
        ({"target": -5}, "target"),
        ({"dueOn": "2025-01-31"}, "dueOn"),
        ({"dueOn": "2023-12-31", "agreedOn": "2023-11-01"}, "dueOn"),
        ({"agreedOn": "2024-11-30"}, "agreedOn"),
        ({"milestones": [{"on": "2024-01-15", "target": 5}]}, "milestones[0].on"),  # before the agreement
        ({"milestones": [{"on": "2024-11-15", "target": 5}]}, "milestones[0].on"),  # after its due date
        ({"milestones": [{"on": "2024-06-01", "target": 11}]}, "milestones[0].target"),
        ({"milestones": [{"on": "2024-06-01", "target": 0}]}, "milestones[0].target"),
        (
            {"milestones": [{"on": "2024-06-01", "target": 5}, {"on": "2024-06-01", "target": 6}]},
            "milestones[1].on",
        ),
        ({"due": "2024-10-31"}, "due"),
    ]
    for overrides, field in cases:
        r = await client.put(url, json={**base, **overrides}, headers=admin)
        assert field in fields(r), (overrides, r.json())
    # agreedOn defaults to today, which is long after this campaign: the problem says so.
    r = await client.put(url, json={"target": 10, "dueOn": "2024-10-31"}, headers=admin)
    assert "agreedOn" in fields(r) and "give it" in r.json()["detail"]
    assert await rows.count(conn, "commitments") == 0

    # A campaign's dates cannot move out from under its commitments.
    assert (await client.put(url, json=base, headers=admin)).status_code == 201
    r = await client.patch(
        f"/v1/campaigns/{campaign['id']}",
        json={"endsOn": "2024-09-30", "aim": {"measureCode": rows.MEASURE, "target": 0.3, "dueOn": "2024-09-30"}},
        headers=admin,
    )
    assert "endsOn" in fields(r) and "RXN" in r.json()["detail"]
