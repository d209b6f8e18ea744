"""Who may submit for which sites, and who may read a submission back."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import KeyMaker
from tests.submissions.helpers import adoption_at, counts, errors_of, innovation, report, submit


async def test_partners_write_only_for_their_sites(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    inn = await innovation(conn)
    # authorised for the North West London ICB (QRV): covers RQM, not RW6 (Greater Manchester)
    partner = await make_key("read,write", partner="Imperial College Health Partners", sites=["QRV"])
    rows = [report("RQM"), report("RW6"), report("R0A", learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}])]
    r = await submit(client, partner, rows, mode="partial")
    assert r.status_code == 201, r.text
    body = r.json()
    assert [x["status"] for x in body["rows"]] == ["created", "rejected", "rejected"]
    assert errors_of(body, 2) == [
        (
            "siteCode",
            "partner 'Imperial College Health Partners' is not authorised for site RW6; "
            "ask an administrator to add it (`spread partners create NAME --sites CODE`)",
        )
    ]
    assert (
        await conn.fetchval(
            "SELECT p.name FROM adoptions a JOIN partners p ON p.id = a.partner_id WHERE a.id = $1",
            uuid.UUID(body["rows"][0]["adoptionId"]),
        )
        == "Imperial College Health Partners"
    )
    # learning from a site the partner does not cover is fine; writing for one is not
    r = await submit(client, partner, [report("RQM", learnedFrom=[{"siteCode": "RXN", "channel": "conference"}])])
    assert r.status_code == 201, r.text
    # atomic: one unauthorised row refuses the batch
    before = await counts(conn)
    r = await submit(client, partner, [report("RQM", stage="sustaining"), report("RW6")])
    assert r.status_code == 422
    assert await counts(conn) == before
    assert await adoption_at(conn, inn, "RW6") is None


async def test_admins_write_anything_and_readers_nothing(
    client: httpx.AsyncClient, admin, reader, make_key: KeyMaker, conn
) -> None:
    await innovation(conn)
    r = await submit(client, admin, [report("RW6"), report("RJ1")])
    assert r.status_code == 201
    r = await submit(client, reader, [report("RQM")])
    assert r.status_code == 403
    no_sites = await make_key("read,write", partner="Nowhere")
    r = await submit(client, no_sites, [report("RQM")], mode="partial")
    assert r.json()["summary"]["rejected"] == 1


async def test_get_submission(client: httpx.AsyncClient, admin, make_key: KeyMaker, conn) -> None:
    await innovation(conn)
    partner = await make_key("read,write", partner="Imperial College Health Partners", sites=["QRV"])
    posted = await submit(client, partner, [report("RQM"), report("RW6")], mode="partial")
    assert posted.status_code == 201
    location = posted.headers["location"]
    r = await client.get(location, headers=partner)
    assert r.status_code == 200
    assert r.json() == posted.json()
    r = await client.get(location, headers=admin)
    assert r.status_code == 200
    # another partner's key cannot see it
    other = await make_key("read,write", partner="Another HIN", sites=["Y62"])
    r = await client.get(location, headers=other)
    assert r.status_code == 404
    r = await client.get(f"/v1/submissions/{uuid.uuid4()}", headers=admin)
    assert r.status_code == 404
    assert r.json()["type"] == "/problems/not-found"
    r = await client.get("/v1/submissions/not-a-uuid", headers=admin)
    assert r.status_code == 404  # {id:uuid} does not match: no route
    assert r.json()["type"] == "/problems/not-found"
