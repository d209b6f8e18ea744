"""Campaigns: an admin starts one and names its lead; the lead apportions; sites report."""

from __future__ import annotations

import httpx
import pytest

from tests.campaigns import rows
from tests.campaigns.api import campaign_body, commit, make_campaign
from tests.conftest import KeyMaker
from tests.security.helpers import changes_count, refused


@pytest.fixture
async def innovation(conn) -> str:
    await rows.measure(conn)
    return str(await rows.innovation(conn, "frailty-wards"))


async def test_partner_cannot_create_a_campaign(
    client: httpx.AsyncClient, make_key: KeyMaker, innovation, conn
) -> None:
    partner = await make_key("read,write", partner="Ambitious HIN", sites=["QE1"])
    before = await changes_count(conn)
    for body in (campaign_body([innovation]), campaign_body([innovation], leadPartner="Ambitious HIN")):
        r = await client.post("/v1/campaigns", json=body, headers=partner)
        refused(r, 403, "forbidden", "needs a key with the 'admin' scope")
    assert await conn.fetchval("SELECT count(*) FROM campaigns") == 0
    assert await changes_count(conn) == before


async def test_lead_cannot_hand_the_lead_to_another_partner(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, innovation, conn
) -> None:
    lead = await make_key("read,write", partner="Lead HIN")
    await make_key("read,write", partner="Friend HIN")
    campaign = await make_campaign(client, admin, [innovation], leadPartner="Lead HIN")
    before = await changes_count(conn)
    r = await client.patch(f"/v1/campaigns/{campaign['id']}", json={"leadPartner": "Friend HIN"}, headers=lead)
    refused(r, 403, "forbidden", "only an administrator may change a campaign's lead partner")
    assert await changes_count(conn) == before
    r = await client.get(f"/v1/campaigns/{campaign['id']}", headers=lead)
    assert r.json()["leadPartner"] == "Lead HIN"
    # naming itself (no change) is not a change of lead; an admin may change it
    r = await client.patch(f"/v1/campaigns/{campaign['id']}", json={"leadPartner": "Lead HIN"}, headers=lead)
    assert r.status_code == 200, r.text
    r = await client.patch(f"/v1/campaigns/{campaign['id']}", json={"leadPartner": "Friend HIN"}, headers=admin)
    assert r.status_code == 200 and r.json()["leadPartner"] == "Friend HIN"


async def test_partner_cannot_commit_or_report_for_a_site_it_does_not_cover(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, innovation, conn
) -> None:
    await make_key("read,write", partner="Lead HIN")
    london = await make_key("read,write", partner="London partner", sites=["QRV"])
    campaign = await make_campaign(client, admin, [innovation], leadPartner="Lead HIN")
    url = f"/v1/campaigns/{campaign['id']}"
    assert (await commit(client, admin, campaign["id"], "RXN", 100)).status_code == 201
    before = await changes_count(conn)
    refusal = "'London partner' is not authorised for site RXN, nor does it lead this campaign"
    refused(await commit(client, london, campaign["id"], "RXN", 999), 403, "forbidden", refusal)
    imp = {"siteCode": "RXN", "description": "Blocked", "category": "workforce"}
    refused(await client.post(f"{url}/impediments", json=imp, headers=london), 403, "forbidden", refusal)
    story = {"siteCode": "RXN", "title": "Not ours", "story": "A story about someone else's site."}
    refused(await client.post(f"{url}/breakthroughs", json=story, headers=london), 403, "forbidden", refusal)
    assert await changes_count(conn) == before
    assert await conn.fetchval("SELECT target::float8 FROM commitments WHERE site_code = 'RXN'") == 100


async def test_lead_sets_commitments_for_any_site_and_reports_show_their_partner(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, innovation, conn
) -> None:
    lead = await make_key("read,write", partner="Lead HIN")
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    campaign = await make_campaign(client, admin, [innovation], leadPartner="Lead HIN")
    url = f"/v1/campaigns/{campaign['id']}"
    for site in ("RXN", "RQM"):
        assert (await commit(client, lead, campaign["id"], site, 100)).status_code == 201
    # the site's own partner still commits and reports for its site
    assert (await commit(client, lancashire, campaign["id"], "RXN", 120)).status_code == 200
    imp = {"siteCode": "RXN", "description": "No weekend cover", "category": "workforce"}
    r = await client.post(f"{url}/impediments", json=imp, headers=lancashire)
    assert r.status_code == 201 and r.json()["partner"] == "Lancashire HIN"
    story = {"siteCode": "RQM", "title": "Huddle at eight", "story": "Moving the huddle earlier freed beds."}
    r = await client.post(f"{url}/breakthroughs", json=story, headers=lead)
    assert r.status_code == 201 and r.json()["partner"] == "Lead HIN"
    r = await client.get(f"{url}/impediments", headers=lead)
    assert [i["partner"] for i in r.json()["items"]] == ["Lancashire HIN"]
