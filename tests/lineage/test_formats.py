"""PROV-JSON (loaded with the `prov` package), GeoJSON and Mermaid renderings, and content negotiation."""

from __future__ import annotations

import httpx
import prov.model
import pytest

from service.lineage import formats
from tests.lineage.spread import Spread, build


@pytest.fixture
async def spread(conn) -> Spread:
    return await build(conn)


async def test_prov_json_loads_with_the_prov_package(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/innovations/{s.x}/lineage?format=prov", headers=reader)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/provenance+json")
    doc = prov.model.ProvDocument.deserialize(content=r.text, format="json")

    def ids(kind: type) -> set[str]:
        return {str(rec.identifier) for rec in doc.get_records(kind)}

    agents = ids(prov.model.ProvAgent)
    assert agents == {
        f"site:{code}" for code in ("RQM01", "RXN02", "R0A03", "RJ122", "RRK97", "RTD01", "RTH08", "RYJ01")
    }
    rqm = next(rec for rec in doc.get_records(prov.model.ProvAgent) if str(rec.identifier) == "site:RQM01")
    assert str(next(iter(rqm.get_attribute("prov:type")))) == "prov:Organization"
    assert ids(prov.model.ProvActivity) == {f"adoption:{s.a[k]}" for k in "ABCDEFGH"}
    entities = ids(prov.model.ProvEntity)
    assert f"innovation:{s.x}" in entities
    assert {e for e in entities if e.startswith("variant:")} == {f"variant:{s.a[k]}" for k in "ABCDEFGH"}

    informed = list(doc.get_records(prov.model.ProvCommunication))
    pairs = {
        (str(rec.get_attribute("prov:informant").pop()), str(rec.get_attribute("prov:informed").pop()))
        for rec in informed
    }
    assert len(informed) == 8
    assert (f"adoption:{s.a['A']}", f"adoption:{s.a['B']}") in pairs
    assert (f"adoption:{s.a['E']}", f"adoption:{s.a['F']}") in pairs

    derivations = list(doc.get_records(prov.model.ProvDerivation))
    revisions = [d for d in derivations if "prov:Revision" in {str(t) for t in d.get_attribute("prov:type")}]
    assert {str(d.identifier) for d in revisions} == {f"adaptation:{i}" for i in s.ad.values()}
    checklist = next(d for d in revisions if str(d.identifier) == f"adaptation:{s.ad['checklist']}")
    assert str(checklist.get_attribute("prov:generatedEntity").pop()) == f"variant:{s.a['F']}"
    assert str(checklist.get_attribute("prov:usedEntity").pop()) == f"innovation:{s.x}"
    # 8 learned-from derivations between variants, 2 roots deriving from the innovation, 7 revisions
    assert len(derivations) == 8 + 2 + 7
    assert len(list(doc.get_records(prov.model.ProvAssociation))) == 8
    assert len(list(doc.get_records(prov.model.ProvGeneration))) == 8

    # by Accept, and for one adoption's upstream lineage
    r = await client.get(
        f"/v1/adoptions/{s.a['H']}/lineage?direction=upstream",
        headers={**reader, "Accept": "application/provenance+json"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/provenance+json")
    doc = prov.model.ProvDocument.deserialize(content=r.text, format="json")
    assert {str(rec.identifier) for rec in doc.get_records(prov.model.ProvActivity)} == {
        f"adoption:{s.a[k]}" for k in "ABCDH"
    }
    innovation = next(e for e in doc.get_records(prov.model.ProvEntity) if str(e.identifier) == f"innovation:{s.x}")
    assert set(innovation.get_attribute("prov:label")) == {"Virtual wards"}


async def test_geojson(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/innovations/{s.x}/lineage", headers={**reader, "Accept": "application/geo+json"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    points = [f for f in body["features"] if f["geometry"] and f["geometry"]["type"] == "Point"]
    lines = [f for f in body["features"] if f["geometry"] and f["geometry"]["type"] == "LineString"]
    assert len(points) == 8 and len(lines) == 8 and len(body["features"]) == 16
    a = next(p for p in points if p["properties"]["adoptionId"] == str(s.a["A"]))
    assert a["geometry"]["coordinates"] == pytest.approx([-0.181629702, 51.48431015])
    assert a["properties"] == {
        "kind": "adoption",
        "adoptionId": str(s.a["A"]),
        "innovationId": str(s.x),
        "siteCode": "RQM01",
        "siteName": "Chelsea & Westminster Hospital",  # the reference name, tidied from CHELSEA & WESTMINSTER HOSPITAL
        "stage": "sustaining",
        "generation": 1,
        "startedOn": "2020-01-01",
        "isRoot": True,
    }
    ab = next(f for f in lines if f["properties"]["to"] == str(s.a["B"]))
    assert ab["properties"] == {
        "kind": "learnedFrom",
        "from": str(s.a["A"]),
        "to": str(s.a["B"]),
        "channel": "peer_visit",
        "on": "2020-02-15",
    }
    b = next(p for p in points if p["properties"]["adoptionId"] == str(s.a["B"]))
    assert ab["geometry"]["coordinates"] == [a["geometry"]["coordinates"], b["geometry"]["coordinates"]]


async def test_geojson_site_without_coordinates(client: httpx.AsyncClient, reader, conn) -> None:
    from tests.lineage.spread import adoption, innovation, link

    x = await innovation(conn, "Trust-level spread")
    first = await adoption(conn, x, "RQM", "2021-01-01", origin=True)  # trusts carry no coordinates
    second = await adoption(conn, x, "RXN02", "2021-02-01")
    await link(conn, second, first, "peer_visit")
    r = await client.get(f"/v1/innovations/{x}/lineage?format=geojson", headers=reader)
    features = r.json()["features"]
    assert [f["geometry"] is None for f in features] == [True, False, True]


async def test_mermaid(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/innovations/{s.x}/lineage?format=mermaid", headers=reader)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert lines[0] == "%% Virtual wards: how it spread (Spread lineage)"
    assert lines[1] == "flowchart TD"
    # nodes in order A E B C F D G H -> n1..n8
    assert lines[2] == '    n1["RQM01 Chelsea & Westminster Hospital<br/>gen 1 · sustaining · 2020-01-01"]'
    assert lines[9] == '    n8["RYJ01 St Mary\'s Hospital (HQ)<br/>gen 4 · discontinued · 2020-08-01"]'
    assert formats._label('A "quoted" <b>#1') == "A #34;quoted#34; #60;b#62;#35;1"
    edges = [line.strip() for line in lines if "-->" in line]
    assert edges == [
        "n1 -->|peer visit| n3",
        "n1 -->|learning network| n4",
        "n2 -->|conference| n5",
        "n6 -->|peer visit| n5",
        "n3 -->|peer visit| n6",
        "n4 -->|collaborative| n6",
        "n5 -->|community of practice| n7",
        "n6 -->|peer visit| n8",
    ]
    assert "    class n1,n2 root" in lines

    r = await client.get(f"/v1/innovations/{s.y}/lineage", headers={**reader, "Accept": "text/plain"})
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert "    class n1 entry" in lines  # D, the parent's adoption, comes first (generation 0)
    assert lines[2] == '    n1["RJ122 St Thomas\' Hospital<br/>parent innovation · implementing · 2020-06-01"]'
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


async def test_negotiation(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    url = f"/v1/innovations/{s.x}/lineage"
    r = await client.get(url, headers={**reader, "Accept": "*/*"})
    assert r.headers["content-type"].startswith("application/json") and "nodes" in r.json()
    r = await client.get(url, headers={**reader, "Accept": "text/html, application/geo+json;q=0.9"})
    assert r.headers["content-type"].startswith("application/geo+json")
    r = await client.get(url, headers={**reader, "Accept": "image/png"})
    assert r.headers["content-type"].startswith("application/json")
    r = await client.get(f"{url}?format=json", headers={**reader, "Accept": "text/plain"})
    assert r.headers["content-type"].startswith("application/json")
    r = await client.get(f"{url}?format=mermaid", headers={**reader, "Accept": "application/json"})
    assert r.headers["content-type"].startswith("text/plain")
    assert "Accept" in _vary(r)  # with the caching headers every read sends


async def test_adoption_lineage_formats(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    url = f"/v1/adoptions/{s.a['H']}/lineage?direction=upstream"
    r = await client.get(f"{url}&format=mermaid", headers=reader)
    lines = r.text.splitlines()
    assert lines[0] == "%% Virtual wards: how it spread (Spread lineage)"
    assert len([line for line in lines if line.startswith("    n") and "[" in line]) == 5
    assert len([line for line in lines if "-->" in line]) == 5
    r = await client.get(url, headers={**reader, "Accept": "application/geo+json"})
    features = r.json()["features"]
    assert sorted(f["properties"]["kind"] for f in features) == ["adoption"] * 5 + ["learnedFrom"] * 5


def _vary(r: httpx.Response) -> set[str]:
    """The Vary header's names, each once (the caching layer merges a handler's own)."""
    names = [n.strip() for n in r.headers["vary"].split(",")]
    assert len(names) == len(set(names)), r.headers["vary"]
    return set(names)
