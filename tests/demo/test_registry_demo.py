"""Demo data: labelled demo innovations with multi-generation spread and adaptations; idempotent."""

from __future__ import annotations

import httpx

from service.demo import DEMO_INNOVATIONS, DEMO_SLUGS, load_demo
from tests.demo.helpers import counts, max_generation

_DEMO = """
SELECT id, slug, title, is_demo, core_components, derived_from_id, derived_from_adoption_id
FROM innovations WHERE slug = ANY($1::text[]) ORDER BY slug
"""
_ADOPTIONS = """
SELECT count(*) AS adoptions, count(DISTINCT s.region_code) AS regions,
       min(a.started_on) AS first, max(a.started_on) AS last,
       count(*) FILTER (WHERE a.stage = 'discontinued' AND a.discontinued_reason <> '') AS discontinued
FROM adoptions a JOIN sites s ON s.code = a.site_code WHERE a.innovation_id = $1
"""
_CHANNELS = """
SELECT DISTINCT src.channel FROM adoption_sources src JOIN adoptions a ON a.id = src.adoption_id
WHERE a.innovation_id = ANY($1::uuid[])
"""
_ADAPTATIONS = """
SELECT ad.adoption_id, ad.core_component_keys, ad.fidelity, ad.phase, ad.what_modified
FROM adaptations ad WHERE ad.innovation_id = ANY($1::uuid[])
"""
_CROSS_FAMILY = """
SELECT count(*) FROM adoption_sources src
JOIN adoptions a ON a.id = src.adoption_id JOIN adoptions sa ON sa.id = src.source_adoption_id
WHERE a.innovation_id = $1 AND sa.innovation_id = $2
"""


async def test_load_demo_builds_a_living_registry(conn, client: httpx.AsyncClient, reader) -> None:
    lines: list[str] = []
    await load_demo(conn, echo=lines.append)
    assert any("Open Government Licence" in line for line in lines)

    demo = await conn.fetch(_DEMO, DEMO_SLUGS)
    assert 4 <= len(demo) <= 6
    ids = [r["id"] for r in demo]
    for r in demo:
        assert r["title"].startswith("[Demo] ") and r["is_demo"]
        assert 3 <= len(r["core_components"]) <= 4
        stats = await conn.fetchrow(_ADOPTIONS, r["id"])
        assert 11 <= stats["adoptions"] <= 26, (r["slug"], stats)  # the origin plus 10-25 learners
        assert stats["regions"] >= 4, r["slug"]
        assert stats["first"].year >= 2019 and stats["last"].year <= 2024
        assert await max_generation(conn, r["id"]) >= 3, r["slug"]

    discontinued = [(await conn.fetchrow(_ADOPTIONS, i))["discontinued"] for i in ids]
    assert sum(discontinued) >= 3
    channels = {r["channel"] for r in await conn.fetch(_CHANNELS, ids)}
    assert {"peer_visit", "learning_network", "collaborative", "national_programme"} <= channels
    assert len(channels) >= 6

    adaptations = await conn.fetch(_ADAPTATIONS, ids)
    adapted = {r["adoption_id"] for r in adaptations}
    learners = sum(r["adoptions"] for r in [await conn.fetchrow(_ADOPTIONS, i) for i in ids]) - len(ids)
    assert len(adapted) >= learners // 2
    assert any(r["core_component_keys"] for r in adaptations)
    assert any(not r["core_component_keys"] for r in adaptations)
    assert {r["fidelity"] for r in adaptations} == {"consistent", "inconsistent", "unknown"}
    assert {r["what_modified"] for r in adaptations} >= {"content", "context", "training", "evaluation"}

    derived = [r for r in demo if r["derived_from_id"] is not None]
    assert derived, "one demo innovation derives from another"
    child = derived[0]
    assert child["derived_from_adoption_id"] is not None
    assert await conn.fetchval(_CROSS_FAMILY, child["id"], child["derived_from_id"]) >= 1

    # and it reads through the API like any other record
    frailty = next(r for r in demo if r["slug"] == "demo-frailty-virtual-wards")
    r = await client.get(f"/v1/innovations/{frailty['id']}", headers=reader)
    assert r.status_code == 200, r.text
    assert r.json()["isDemo"] is True and r.json()["adoptionCount"] >= 11
    r = await client.get(f"/v1/innovations/{frailty['id']}/adoptions?limit=100", headers=reader)
    learned = [a for a in r.json()["items"] if a["sources"]]
    assert learned and all(s["channel"] for a in learned for s in a["sources"])


async def test_second_run_changes_nothing(conn) -> None:
    await load_demo(conn, echo=lambda _: None)
    first = await counts(conn)
    lines: list[str] = []
    await load_demo(conn, echo=lines.append)
    assert await counts(conn) == first
    for spec in DEMO_INNOVATIONS:
        assert f"  {spec.title}: already loaded" in lines
