"""Outcome demo data: real A&E figures on labelled demo adoptions, idempotent, visible through the API."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from service.demo.outcomes import CODE, PLAN, SLUG, read_type1_performance
from service.demo.outcomes import load_outcomes_demo as load

_COUNTS = """
SELECT (SELECT count(*) FROM observations) AS observations, (SELECT count(*) FROM aims) AS aims,
       (SELECT count(*) FROM changes) AS changes, (SELECT count(*) FROM adoptions) AS adoptions
"""


async def test_demo_loads_real_figures_once(conn, client: httpx.AsyncClient, reader) -> None:
    lines: list[str] = []
    await load(conn, echo=lines.append)
    assert any("Open Government Licence" in line for line in lines)

    innovation = await conn.fetchrow("SELECT id, title, is_demo FROM innovations WHERE slug = $1", SLUG)
    assert innovation["title"].startswith("[Demo] ") and innovation["is_demo"]
    adoptions = await conn.fetch(
        "SELECT id, site_code, notes, stage FROM adoptions WHERE innovation_id = $1", innovation["id"]
    )
    assert sorted(a["site_code"] for a in adoptions) == sorted(p.site for p in PLAN)
    assert all("Demo data" in a["notes"] for a in adoptions if a["site_code"] != "RXC")
    assert {a["stage"] for a in adoptions} >= {"sustaining", "implementing", "discontinued"}

    performance = read_type1_performance()
    expected = sum(len(performance[p.site]) for p in PLAN)
    counts = await conn.fetchrow(_COUNTS)
    assert counts["observations"] == expected and counts["aims"] == len(PLAN)
    # the figures are the CSV's: 1 - breaches / attendances, with numerator and denominator
    rxc = next(a["id"] for a in adoptions if a["site_code"] == "RXC")
    month, attendances, breaches = performance["RXC"][0]
    row = await conn.fetchrow(
        "SELECT value, numerator, denominator FROM observations WHERE adoption_id = $1 AND period_start = $2",
        rxc,
        month,
    )
    assert row["value"] == 1 - breaches / attendances
    assert (row["numerator"], row["denominator"]) == (attendances - breaches, attendances)

    # a second run changes nothing, and writes nothing to the change log
    lines.clear()
    await load(conn, echo=lines.append)
    assert await conn.fetchrow(_COUNTS) == counts
    assert "present" in lines[0] and "0 AE_4HR observations and 0 aims" in lines[0]
    assert not any("already loaded" in line for line in lines)

    # and the insight endpoints have something real to show
    r = await client.get(f"/v1/insights/exceptional?measure={CODE}", headers=reader)
    assert r.status_code == 200, r.text
    sites = [i["site"]["code"] for i in r.json()["items"]]
    assert len(sites) >= 3 and "RXC" in sites
    r = await client.get(f"/v1/adoptions/{rxc}/measures/{CODE}/spc?rebaseAtAdoption=true", headers=reader)
    assert r.status_code == 200, r.text
    assert len(r.json()["phases"]) == 2 and r.json()["target"] == 0.95
    r = await client.get(f"/v1/adoptions/{rxc}/measures/{CODE}/spc?format=svg", headers=reader)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(r.text).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314 (SVG this API rendered)
    r = await client.get(f"/v1/adoptions/{rxc}/aims", headers=reader)
    assert r.json()["items"][0]["status"] in ("met", "on_track", "off_track")
    statuses = set()
    for a in adoptions:
        r = await client.get(f"/v1/adoptions/{a['id']}/aims", headers=reader)
        statuses |= {x["status"] for x in r.json()["items"]}
    assert {"on_track", "off_track"} <= statuses
    r = await client.get(f"/v1/innovations/{innovation['id']}/reaim", headers=reader)
    assert r.json()["effectiveness"]["improving"] >= 3
    r = await client.get(f"/v1/innovations/{innovation['id']}/peers?site=RXR", headers=reader)
    assert r.json()["items"] and r.json()["items"][0]["improving"]
