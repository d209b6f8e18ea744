"""Sites: the NHS hierarchy partners' rights come from is the importer's and admins' alone.

RXN is a trust under ICB QE1 (region Y62); RQM is a trust under ICB QRV (region Y56).
"""

from __future__ import annotations

import httpx

from tests.conftest import KeyMaker
from tests.factories import make_innovation
from tests.security.helpers import changes_count, refused, site_row


async def test_partner_cannot_create_an_nhs_site(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    icb_partner = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    before = await changes_count(conn)
    for body in (
        {"code": "RZZ", "name": "Trust of my own", "kind": "trust", "parentCode": "QE1"},
        {"code": "QZZ", "name": "ICB of my own", "kind": "icb", "parentCode": "Y62"},
        {"code": "RXN99", "name": "New hospital site", "kind": "trust_site", "parentCode": "RXN"},
    ):
        r = await client.post("/v1/sites", json=body, headers=icb_partner)
        refused(r, 403, "forbidden", f"only an administrator may add a {body['kind']} site")
        assert await site_row(conn, body["code"]) is None
    assert await changes_count(conn) == before


async def test_partner_cannot_move_a_trust_to_another_icb(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    trust_partner = await make_key("read,write", partner="RXN's own team", sites=["RXN"])
    before, logged = await site_row(conn, "RXN"), await changes_count(conn)
    for move in ({"parentCode": "QRV"}, {"icbCode": "QRV"}, {"regionCode": "Y56"}, {"parentCode": None}):
        r = await client.patch("/v1/sites/RXN", json=move, headers=trust_partner)
        refused(r, 403, "forbidden", "only an administrator may change where a site sits")
    assert await site_row(conn, "RXN") == before
    assert await changes_count(conn) == logged


async def test_partner_cannot_take_a_site_by_naming_a_successor(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    trust_partner = await make_key("read,write", partner="RXN's own team", sites=["RXN"])
    before = await site_row(conn, "RXN")
    r = await client.patch("/v1/sites/RXN", json={"status": "closed", "successorCode": "RQM"}, headers=trust_partner)
    refused(r, 403, "forbidden", "(successorCode)")
    assert await site_row(conn, "RXN") == before


async def test_partner_cannot_edit_a_site_it_does_not_cover(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    london = await make_key("read,write", partner="London partner", sites=["QRV"])
    before = await site_row(conn, "RXN")
    r = await client.patch("/v1/sites/RXN", json={"name": "Renamed from London"}, headers=london)
    refused(r, 403, "forbidden", "'London partner' is not authorised for site RXN")
    assert await site_row(conn, "RXN") == before


async def test_partner_cannot_place_a_new_site_under_a_site_it_does_not_cover(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    before = await changes_count(conn)
    r = await client.post(
        "/v1/sites",
        json={"code": "HOP-IN", "name": "Squatter", "kind": "other", "parentCode": "RQM"},
        headers=lancashire,
    )
    refused(r, 403, "forbidden", "does not cover RQM (parentCode)")
    assert await site_row(conn, "HOP-IN") is None
    assert await changes_count(conn) == before


async def test_partner_adds_an_other_site_then_covers_it(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    charity = await make_key("read,write", partner="Carers charity")
    r = await client.post("/v1/sites", json={"name": "Carers Network", "kind": "other"}, headers=charity)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    me = (await client.get("/v1/me", headers=charity)).json()
    assert me["sites"] == [code]
    # it may now write for that site, and edit its descriptive fields
    innovation = await make_innovation(client, charity, originSiteCode=code)
    assert innovation["originSiteCode"] == code
    r = await client.patch(
        f"/v1/sites/{code}",
        json={"name": "Carers Network North", "postcode": "PR1 2HE", "latitude": 53.76, "longitude": -2.7},
        headers=charity,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["postcode"]) == ("Carers Network North", "PR1 2HE")
    r = await client.patch(f"/v1/sites/{code}", json={"status": "closed", "parentCode": None}, headers=charity)
    assert r.status_code == 200 and r.json()["status"] == "closed"  # parentCode unchanged: not a move


async def test_partner_places_a_new_site_under_a_site_it_covers(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    r = await client.post(
        "/v1/sites", json={"name": "Preston carers", "kind": "other", "parentCode": "QE1"}, headers=lancashire
    )
    assert r.status_code == 201, r.text
    assert (r.json()["icbCode"], r.json()["regionCode"]) == ("QE1", "Y62")


async def test_partner_edits_descriptive_fields_of_a_covered_nhs_site(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    r = await client.patch(
        "/v1/sites/RXN", json={"name": "Lancashire Teaching", "parentCode": "QE1"}, headers=lancashire
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Lancashire Teaching" and r.json()["parentCode"] == "QE1"


async def test_admin_adds_nhs_sites_and_moves_them(client: httpx.AsyncClient, admin, conn) -> None:
    r = await client.post(
        "/v1/sites", json={"code": "RZZ", "name": "New trust", "kind": "trust", "parentCode": "QE1"}, headers=admin
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        "/v1/sites/RZZ", json={"parentCode": "QRV", "icbCode": "QRV", "regionCode": "Y56"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (r.json()["icbCode"], r.json()["regionCode"]) == ("QRV", "Y56")
