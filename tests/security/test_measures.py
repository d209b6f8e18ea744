"""Measures: national codes, defined by admins; once observed, their meaning is fixed."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.conftest import KeyMaker
from tests.outcomes import rows
from tests.security.helpers import changes_count, refused

MEASURE = {"code": "AE_4HR", "name": "4-hour A&E", "unit": "proportion", "improvementDirection": "increase"}


async def test_partner_cannot_define_a_national_measure(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    partner = await make_key("read,write", partner="Squatting HIN", sites=["QE1"])
    before = await changes_count(conn)
    r = await client.post("/v1/measures", json=MEASURE, headers=partner)
    refused(r, 403, "forbidden", "needs a key with the 'admin' scope")
    assert await conn.fetchval("SELECT count(*) FROM measures") == 0
    assert await changes_count(conn) == before


async def test_measure_unit_and_direction_cannot_change_once_observed(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, conn
) -> None:
    assert (await client.post("/v1/measures", json=MEASURE, headers=admin)).status_code == 201
    # before any observation, the definer may still correct it
    r = await client.patch("/v1/measures/AE_4HR", json={"unit": "%"}, headers=admin)
    assert r.status_code == 200 and r.json()["unit"] == "%"
    adoption = await rows.adoption(conn, await rows.innovation(conn), "RXN", dt.date(2017, 6, 1))
    writer = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    observation = {"measureCode": "AE_4HR", "periodStart": "2018-01-01", "period": "month", "value": 80}
    r = await client.post(f"/v1/adoptions/{adoption}/observations", json=[observation], headers=writer)
    assert r.status_code == 200, r.text

    before = await changes_count(conn)
    for change, named in (
        ({"unit": "proportion"}, "its unit cannot change"),
        ({"improvementDirection": "decrease"}, "its improvementDirection cannot change"),
        ({"unit": "count", "improvementDirection": "neutral"}, "its unit and improvementDirection cannot change"),
    ):
        r = await client.patch("/v1/measures/AE_4HR", json=change, headers=admin)
        refused(r, 409, "conflict", named)
        assert "already has observations" in r.json()["detail"]
    assert await changes_count(conn) == before
    row = await conn.fetchrow("SELECT unit, improvement_direction FROM measures WHERE code = 'AE_4HR'")
    assert (row["unit"], row["improvement_direction"]) == ("%", "increase")
    # descriptive fields, and restating the same unit, still work
    r = await client.patch("/v1/measures/AE_4HR", json={"name": "4-hour A&E (all types)", "unit": "%"}, headers=admin)
    assert r.status_code == 200, r.text
