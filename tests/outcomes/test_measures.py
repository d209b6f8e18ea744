"""Measures: create, read, list with filters, patch with ETags, authorisation, history."""

from __future__ import annotations

import httpx

from tests.conftest import KeyMaker
from tests.outcomes import rows

BODY = {
    "code": "AE_4HR",
    "name": "4-hour A&E performance (type 1)",
    "unit": "proportion",
    "improvementDirection": "increase",
    "reaimDimension": "effectiveness",
    "description": "1 - breaches / attendances",
    "source": "NHS England",
}


async def test_create_get_list_patch(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    # Measure codes are national: an admin of the defining partner defines them.
    writer = await make_key("read,write,admin", partner="Measure maker")
    r = await client.post("/v1/measures", json=BODY, headers=writer)
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["code"] == "AE_4HR" and m["improvementDirection"] == "increase" and m["innovationId"] is None
    assert r.headers["location"] == "/v1/measures/AE_4HR" and r.headers["etag"] == '"1"'

    r = await client.get("/v1/measures/ae_4hr", headers=writer)
    assert r.status_code == 200 and r.json()["name"] == BODY["name"]
    r = await client.get("/v1/measures/AE_4HR", headers={**writer, "If-None-Match": '"1"'})
    assert r.status_code == 304

    r = await client.post("/v1/measures", json=BODY, headers=writer)
    assert r.status_code == 409

    inno = await rows.innovation(conn)
    r = await client.post(
        "/v1/measures",
        json={
            "code": "FALLS_RATE",
            "name": "Falls per 1,000 bed days",
            "improvementDirection": "decrease",
            "innovationId": str(inno),
            "reaimDimension": "effectiveness",
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    await client.post(
        "/v1/measures",
        json={
            "code": "STAFF_TRAINED",
            "name": "Staff trained",
            "improvementDirection": "increase",
            "reaimDimension": "implementation",
        },
        headers=writer,
    )

    r = await client.get("/v1/measures", headers=writer)
    assert [x["code"] for x in r.json()["items"]] == ["AE_4HR", "FALLS_RATE", "STAFF_TRAINED"]
    r = await client.get(f"/v1/measures?innovation={inno}", headers=writer)
    assert [x["code"] for x in r.json()["items"]] == ["FALLS_RATE"]
    r = await client.get("/v1/measures?reaimDimension=implementation", headers=writer)
    assert [x["code"] for x in r.json()["items"]] == ["STAFF_TRAINED"]
    r = await client.get("/v1/measures?improvementDirection=decrease", headers=writer)
    assert [x["code"] for x in r.json()["items"]] == ["FALLS_RATE"]
    r = await client.get("/v1/measures?limit=2", headers=writer)
    assert len(r.json()["items"]) == 2 and 'rel="next"' in r.headers["link"]
    r = await client.get(f"/v1/measures?limit=2&cursor={r.json()['nextCursor']}", headers=writer)
    assert [x["code"] for x in r.json()["items"]] == ["STAFF_TRAINED"]

    # PATCH with If-Match: the current ETag works, a stale one is refused
    r = await client.patch(
        "/v1/measures/AE_4HR", json={"source": "NHS England A&E statistics"}, headers={**writer, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "NHS England A&E statistics" and r.headers["etag"] == '"2"'
    r = await client.patch("/v1/measures/AE_4HR", json={"unit": "%"}, headers={**writer, "If-Match": '"1"'})
    assert r.status_code == 412
    r = await client.patch("/v1/measures/FALLS_RATE", json={"innovationId": None}, headers=writer)
    assert r.status_code == 200 and r.json()["innovationId"] is None

    r = await client.get("/v1/measures/AE_4HR/history", headers=writer)
    assert [c["action"] for c in r.json()["items"]] == ["create", "update"]
    assert r.json()["items"][1]["before"]["source"] == "NHS England"


async def test_measure_rules(client: httpx.AsyncClient, make_key: KeyMaker, admin, reader) -> None:
    writer = await make_key("read,write,admin", partner="Measure maker")
    other = await make_key("read,write", partner="Someone else")
    r = await client.post("/v1/measures", json={**BODY, "code": "ae-4hr"}, headers=writer)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code"
    r = await client.post("/v1/measures", json={**BODY, "improvementDirection": "up"}, headers=writer)
    assert r.status_code == 422
    r = await client.post(
        "/v1/measures", json={**BODY, "innovationId": "00000000-0000-0000-0000-000000000001"}, headers=writer
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "innovationId"
    r = await client.post("/v1/measures", json={**BODY, "colour": "blue"}, headers=writer)
    assert r.status_code == 422
    r = await client.post("/v1/measures", json=BODY, headers=reader)
    assert r.status_code == 403
    r = await client.post("/v1/measures", json=BODY, headers=other)
    assert r.status_code == 403 and "'admin' scope" in r.json()["detail"]

    assert (await client.post("/v1/measures", json=BODY, headers=writer)).status_code == 201
    r = await client.patch("/v1/measures/AE_4HR", json={"name": "Renamed"}, headers=other)
    assert r.status_code == 403
    r = await client.patch("/v1/measures/AE_4HR", json={"name": "Renamed"}, headers=admin)
    assert r.status_code == 200
    r = await client.patch("/v1/measures/AE_4HR", json={"code": "X"}, headers=admin)
    assert r.status_code == 422

    for path in ("/v1/measures/NOPE", "/v1/measures/NOPE/history"):
        assert (await client.get(path, headers=reader)).status_code == 404
    assert (await client.patch("/v1/measures/NOPE", json={"name": "x"}, headers=admin)).status_code == 404
    r = await client.get("/v1/measures/a", headers=reader)
    assert r.status_code == 422  # shorter than any code can be
    assert r.json()["errors"][0]["field"] == "code"
