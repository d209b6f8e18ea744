"""NASSS complexity assessments: recording, refusing, and the innovation's summary by phase."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation

TODAY = dt.date.today()
ALL_SIMPLE = dict.fromkeys(
    [
        "condition",
        "technology",
        "valueProposition",
        "adopterSystem",
        "organisation",
        "widerContext",
        "embeddingOverTime",
    ],
    "simple",
)


def body(days_ago: int, **domains: str) -> dict[str, Any]:
    return {"assessedOn": (TODAY - dt.timedelta(days=days_ago)).isoformat(), "domains": {**ALL_SIMPLE, **domains}}


async def _adoption(client: httpx.AsyncClient, admin: dict[str, str], inn: str, site: str, stage: str) -> str:
    r = await adopt(client, admin, inn, site, (TODAY - dt.timedelta(days=300)).isoformat(), stage=stage)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_record_list_get(client: httpx.AsyncClient, conn: asyncpg.Connection, admin) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    a = await _adoption(client, admin, inn["id"], "RQM", "piloting")
    r = await client.post(f"/v1/adoptions/{a}/complexity", json=body(10, organisation="complex"), headers=admin)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["phase"] == "adoption" and got["domains"]["organisation"] == "complex"
    assert (await client.get(r.headers["location"], headers=admin)).json() == got
    listed = await client.get(f"/v1/adoptions/{a}/complexity", headers=admin)
    assert [i["id"] for i in listed.json()["items"]] == [got["id"]]
    entity = await conn.fetchval("SELECT entity FROM changes WHERE entity_id = $1", got["id"])
    assert entity == "complexity_assessment"


async def test_refusals_write_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, admin, make_key: KeyMaker
) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    a = await _adoption(client, admin, inn["id"], "RQM", "piloting")
    r = await client.post(f"/v1/adoptions/{a}/complexity", json=body(301), headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assessedOn", r.text
    r = await client.post(f"/v1/adoptions/{a}/complexity", json=body(1, technology="chaotic"), headers=admin)
    assert r.status_code == 422 and "domains.technology" in r.text, r.text
    other = await make_key("read,write", partner="Elsewhere", sites=["RJ1"])
    assert (await client.post(f"/v1/adoptions/{a}/complexity", json=body(1), headers=other)).status_code == 403
    assert await conn.fetchval("SELECT count(*) FROM complexity_assessments") == 0


async def test_summary_by_phase_uses_latest(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    piloting = await _adoption(client, admin, inn["id"], "RQM", "piloting")
    sustaining = await _adoption(client, admin, inn["id"], "RJ1", "implementing")
    stopped = await _adoption(client, admin, inn["id"], "RRK", "implementing")
    for a, b in (
        (piloting, body(50, organisation="complicated")),
        (piloting, body(5, organisation="complex")),  # the latest in the phase counts
        (sustaining, body(5, widerContext="complex")),
    ):
        assert (await client.post(f"/v1/adoptions/{a}/complexity", json=b, headers=admin)).status_code == 201
    r = await client.patch(
        f"/v1/adoptions/{stopped}", json={"stage": "discontinued", "discontinuedReason": "No staff"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/adoptions/{stopped}/complexity", json=body(0, adopterSystem="complex"), headers=admin)
    assert r.status_code == 201 and r.json()["phase"] == "abandonment", r.text
    summary = (await client.get(f"/v1/innovations/{inn['id']}/complexity", headers=admin)).json()
    phases = {p["phase"]: p for p in summary["phases"]}
    assert [p["phase"] for p in summary["phases"]] == ["adoption", "sustainment", "abandonment"]
    assert phases["adoption"]["adoptions"] == 1
    assert phases["adoption"]["domains"]["organisation"] == {"simple": 0, "complicated": 0, "complex": 1}
    assert phases["sustainment"]["domains"]["widerContext"] == {"simple": 0, "complicated": 0, "complex": 1}
    assert phases["abandonment"]["domains"]["adopterSystem"] == {"simple": 0, "complicated": 0, "complex": 1}
    assert phases["abandonment"]["domains"]["technology"] == {"simple": 1, "complicated": 0, "complex": 0}
    missing = await client.get("/v1/innovations/00000000-0000-0000-0000-000000000000/complexity", headers=admin)
    assert missing.status_code == 404
