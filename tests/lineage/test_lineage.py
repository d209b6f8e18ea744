"""Lineage on a hand-built spread: generations, edges, stats, paths, variants, family, limits."""

from __future__ import annotations

import uuid

import httpx
import pytest

from service.lineage import queries
from tests.lineage.spread import Spread, build


@pytest.fixture
async def spread(conn) -> Spread:
    return await build(conn)


def by_letter(s: Spread, nodes: list[dict]) -> dict[str, dict]:
    return {s.name(n["adoptionId"]): n for n in nodes}


def edge_set(s: Spread, edges: list[dict]) -> set[tuple[str, str, str]]:
    return {(s.name(e["from"]), s.name(e["to"]), e["channel"]) for e in edges}


@pytest.mark.parametrize("large", [False, True], ids=["index-joined-sites", "hash-joined-sites"])
async def test_innovation_lineage_nodes_edges_and_stats(
    client: httpx.AsyncClient, reader, spread: Spread, large: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if large:  # the statement used for spreads of over LARGE_SPREAD adoptions
        monkeypatch.setattr(queries, "LARGE_SPREAD", 0)
    s = spread
    r = await client.get(f"/v1/innovations/{s.x}/lineage", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["innovationId"] == str(s.x)
    nodes = by_letter(s, body["nodes"])
    assert [s.name(n["adoptionId"]) for n in body["nodes"]] == ["A", "E", "B", "C", "F", "D", "G", "H"]
    assert {k: n["generation"] for k, n in nodes.items()} == {
        "A": 1, "B": 2, "C": 2, "D": 3, "E": 1, "F": 2, "G": 3, "H": 4,
    }  # fmt: skip
    assert {k for k, n in nodes.items() if n["isRoot"]} == {"A", "E"}
    assert {k for k, n in nodes.items() if n["isOrigin"]} == {"A"}
    assert {k: n["directLearners"] for k, n in nodes.items()} == {
        "A": 2, "B": 1, "C": 1, "D": 2, "E": 1, "F": 1, "G": 0, "H": 0,
    }  # fmt: skip
    assert {k: n["descendants"] for k, n in nodes.items()} == {
        "A": 6, "B": 4, "C": 4, "D": 3, "E": 2, "F": 1, "G": 0, "H": 0,
    }  # fmt: skip
    assert {k: n["adaptationCount"] for k, n in nodes.items()} == {
        "A": 0, "B": 1, "C": 1, "D": 2, "E": 0, "F": 1, "G": 0, "H": 2,
    }  # fmt: skip
    a = nodes["A"]
    assert a["stage"] == "sustaining" and a["startedOn"] == "2020-01-01"
    assert a["innovationId"] == str(s.x)
    assert a["site"]["code"] == "RQM01" and a["site"]["kind"] == "trust_site"
    assert a["site"]["regionCode"] == "Y56" and a["site"]["icbCode"] == "QRV"
    assert a["site"]["latitude"] == pytest.approx(51.48431015)
    assert a["site"]["longitude"] == pytest.approx(-0.181629702)
    assert nodes["H"]["stage"] == "discontinued"

    assert edge_set(s, body["edges"]) == {
        ("A", "B", "peer_visit"),
        ("A", "C", "learning_network"),
        ("B", "D", "peer_visit"),
        ("C", "D", "collaborative"),
        ("D", "F", "peer_visit"),
        ("E", "F", "conference"),
        ("F", "G", "community_of_practice"),
        ("D", "H", "peer_visit"),
    }
    ab = next(e for e in body["edges"] if s.name(e["to"]) == "B")
    assert ab["on"] == "2020-02-15"
    assert next(e for e in body["edges"] if s.name(e["to"]) == "C")["on"] is None

    stats = body["stats"]
    assert stats["adoptions"] == 8
    assert stats["sites"] == 8
    assert stats["regions"] == 5  # Y56, Y62, Y60, Y63, Y59
    assert stats["icbs"] == 7  # QRV (twice), QE1, QOP, QKK, QHL, QHM, QU9
    assert stats["roots"] == 2
    assert stats["generations"] == [2, 3, 2, 1]
    assert stats["channels"] == {
        "peer_visit": 4,
        "learning_network": 1,
        "collaborative": 1,
        "community_of_practice": 1,
        "extension_agent": 0,
        "national_programme": 0,
        "publication": 0,
        "conference": 1,
        "direct_from_innovator": 0,
        "other": 0,
    }
    # gen 2: A->B 60, A->C 91 (2020 is a leap year), D->F 92, E->F 62; gen 3: B->D 92, C->D 61, F->G 122
    assert stats["tempoDays"] == [
        {"generation": 2, "medianDays": 76.5, "links": 4},
        {"generation": 3, "medianDays": 92.0, "links": 3},
        {"generation": 4, "medianDays": 61.0, "links": 1},
    ]
    assert stats["largestCascade"] == {"rootAdoptionId": str(s.a["A"]), "size": 7}
    assert [(s.name(i["adoptionId"]), i["directLearners"], i["descendants"]) for i in stats["mostInfluential"]] == [
        ("A", 2, 6),
        ("D", 2, 3),
        ("B", 1, 4),
        ("C", 1, 4),
        ("E", 1, 2),
    ]
    assert stats["mostInfluential"][0]["siteCode"] == "RQM01"


async def test_innovation_lineage_filters(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread

    async def get(query: str) -> dict:
        r = await client.get(f"/v1/innovations/{s.x}/lineage?{query}", headers=reader)
        assert r.status_code == 200, r.text
        return r.json()

    body = await get("depth=2")
    assert {s.name(n["adoptionId"]): n["generation"] for n in body["nodes"]} == {
        "A": 1, "E": 1, "B": 2, "C": 2, "F": 2,
    }  # fmt: skip
    assert edge_set(s, body["edges"]) == {
        ("A", "B", "peer_visit"),
        ("A", "C", "learning_network"),
        ("E", "F", "conference"),
    }
    assert body["stats"]["generations"] == [2, 3]
    assert body["stats"]["largestCascade"] == {"rootAdoptionId": str(s.a["A"]), "size": 3}

    body = await get("depth=1")
    assert s.names([n["adoptionId"] for n in body["nodes"]]) == ["A", "E"]
    assert body["edges"] == []

    # Filters pick adoptions; generations stay those of the whole spread.
    body = await get("region=y56")
    assert {s.name(n["adoptionId"]): n["generation"] for n in body["nodes"]} == {"A": 1, "D": 3, "H": 4}
    assert edge_set(s, body["edges"]) == {("D", "H", "peer_visit")}
    assert body["stats"]["generations"] == [1, 0, 1, 1]
    assert body["stats"]["regions"] == 1 and body["stats"]["roots"] == 1

    body = await get("stage=discontinued")
    assert s.names([n["adoptionId"] for n in body["nodes"]]) == ["H"]

    body = await get("since=2020-07-01")
    assert s.names([n["adoptionId"] for n in body["nodes"]]) == ["E", "F", "G", "H"]
    assert edge_set(s, body["edges"]) == {("E", "F", "conference"), ("F", "G", "community_of_practice")}

    body = await get("since=2020-07-01&stage=implementing&depth=2")
    assert s.names([n["adoptionId"] for n in body["nodes"]]) == ["F"]


async def test_cross_innovation_source_is_generation_zero(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/innovations/{s.y}/lineage", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    nodes = by_letter(s, body["nodes"])
    assert list(nodes) == ["D", "Y1", "Y2"]
    assert nodes["D"]["generation"] == 0 and nodes["D"]["innovationId"] == str(s.x)
    assert not nodes["D"]["isRoot"] and nodes["D"]["directLearners"] == 1 and nodes["D"]["descendants"] == 2
    assert nodes["Y1"]["generation"] == 1 and nodes["Y1"]["isRoot"] and nodes["Y1"]["isOrigin"]
    assert nodes["Y2"]["generation"] == 2 and nodes["Y2"]["innovationId"] == str(s.y)
    assert edge_set(s, body["edges"]) == {("D", "Y1", "other"), ("Y1", "Y2", "peer_visit")}
    stats = body["stats"]
    assert stats["adoptions"] == 2 and stats["roots"] == 1 and stats["generations"] == [1, 1]
    assert stats["sites"] == 2 and stats["regions"] == 1 and stats["icbs"] == 2  # RJ122 QKK, RQM91 QRV
    assert stats["tempoDays"] == [
        {"generation": 1, "medianDays": 122.0, "links": 1},
        {"generation": 2, "medianDays": 123.0, "links": 1},
    ]
    assert stats["largestCascade"] == {"rootAdoptionId": str(s.a["Y1"]), "size": 2}
    assert stats["channels"]["other"] == 1 and stats["channels"]["peer_visit"] == 1

    # The parent's own lineage does not reach into the derived innovation.
    r = await client.get(f"/v1/innovations/{s.x}/lineage", headers=reader)
    assert "Y1" not in {s.name(n["adoptionId"]) for n in r.json()["nodes"]}


async def test_upstream_paths_and_variant(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/adoptions/{s.a['H']}/lineage?direction=upstream", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["adoptionId"] == str(s.a["H"]) and body["innovationId"] == str(s.x)
    assert body["direction"] == "upstream"
    nodes = by_letter(s, body["nodes"])
    assert {k: n["generation"] for k, n in nodes.items()} == {"A": 1, "B": 2, "C": 2, "D": 3, "H": 4}
    assert edge_set(s, body["edges"]) == {
        ("A", "B", "peer_visit"),
        ("A", "C", "learning_network"),
        ("B", "D", "peer_visit"),
        ("C", "D", "collaborative"),
        ("D", "H", "peer_visit"),
    }
    assert [s.names(p) for p in body["paths"]] == [["A", "B", "D", "H"], ["A", "C", "D", "H"]]
    assert body["pathsTruncated"] is False

    variant = body["variant"]
    names = {v: k for k, v in s.ad.items()}

    def summary(items: list[dict]) -> list[tuple[str, str, bool]]:
        return [(names[uuid.UUID(i["adaptationId"])], s.name(i["adoptionId"]), i["inherited"]) for i in items]

    assert [(c["key"], c["name"], c["description"]) for c in variant["components"]] == [
        ("huddle", "Daily huddle", "Multidisciplinary, every morning"),
        ("monitoring", "Remote monitoring", ""),
        ("discharge", "Discharge planning", "From day one"),
    ]
    huddle, monitoring, discharge = variant["components"]
    assert summary(huddle["adaptations"]) == [("video_huddle", "B", True), ("short_huddle", "D", True)]
    assert summary(monitoring["adaptations"]) == [("pharmacists", "C", True), ("night_monitoring", "H", False)]
    assert discharge["adaptations"] == []
    assert summary(variant["otherAdaptations"]) == [("leaflet", "D", True), ("unknown_key", "H", False)]
    item = huddle["adaptations"][1]
    assert item == {
        "adaptationId": str(s.ad["short_huddle"]),
        "adoptionId": str(s.a["D"]),
        "siteCode": "RJ122",
        "inherited": True,
        "description": "Fifteen-minute huddle",
        "phase": "implementation",
        "whatModified": "content",
        "nature": "shortening",
        "fidelity": "consistent",
        "madeOn": "2020-06-10",
    }

    r = await client.get(f"/v1/adoptions/{s.a['G']}/lineage?direction=upstream", headers=reader)
    body = r.json()
    assert {s.name(n["adoptionId"]): n["generation"] for n in body["nodes"]} == {
        "A": 1, "E": 1, "B": 2, "C": 2, "F": 2, "D": 3, "G": 3,
    }  # fmt: skip
    assert [s.names(p) for p in body["paths"]] == [
        ["E", "F", "G"],
        ["A", "B", "D", "F", "G"],
        ["A", "C", "D", "F", "G"],
    ]
    huddle, monitoring, discharge = body["variant"]["components"]
    assert summary(huddle["adaptations"]) == [
        ("video_huddle", "B", True),
        ("short_huddle", "D", True),
        ("checklist", "F", True),
    ]
    assert summary(monitoring["adaptations"]) == [("pharmacists", "C", True)]
    assert summary(discharge["adaptations"]) == [("checklist", "F", True)]
    assert summary(body["variant"]["otherAdaptations"]) == [("leaflet", "D", True)]

    # depth limits nodes and edges, not the paths or the variant.
    r = await client.get(f"/v1/adoptions/{s.a['G']}/lineage?direction=upstream&depth=1", headers=reader)
    body = r.json()
    assert {s.name(n["adoptionId"]): n["generation"] for n in body["nodes"]} == {"F": 2, "G": 3}
    assert edge_set(s, body["edges"]) == {("F", "G", "community_of_practice")}
    assert len(body["paths"]) == 3
    assert len(body["variant"]["components"][0]["adaptations"]) == 3

    # A root: one path of itself, nothing inherited.
    r = await client.get(f"/v1/adoptions/{s.a['A']}/lineage?direction=upstream", headers=reader)
    body = r.json()
    assert s.names([n["adoptionId"] for n in body["nodes"]]) == ["A"]
    assert body["edges"] == [] and [s.names(p) for p in body["paths"]] == [["A"]]
    assert all(c["adaptations"] == [] for c in body["variant"]["components"])


async def test_downstream_and_both(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/adoptions/{s.a['D']}/lineage?direction=downstream", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    nodes = by_letter(s, body["nodes"])
    assert {k: n["generation"] for k, n in nodes.items()} == {"D": 3, "F": 2, "G": 3, "H": 4}
    assert edge_set(s, body["edges"]) == {
        ("D", "F", "peer_visit"),
        ("F", "G", "community_of_practice"),
        ("D", "H", "peer_visit"),
    }
    assert nodes["D"]["directLearners"] == 2 and nodes["D"]["descendants"] == 3
    assert body["paths"] is None and body["variant"] is None

    r = await client.get(f"/v1/adoptions/{s.a['D']}/lineage?direction=downstream&depth=1", headers=reader)
    assert s.names([n["adoptionId"] for n in r.json()["nodes"]]) == ["F", "D", "H"]

    r = await client.get(f"/v1/adoptions/{s.a['D']}/lineage", headers=reader)  # both is the default
    body = r.json()
    assert body["direction"] == "both"
    assert {s.name(n["adoptionId"]): n["generation"] for n in body["nodes"]} == {
        "A": 1, "B": 2, "C": 2, "F": 2, "D": 3, "G": 3, "H": 4,
    }  # fmt: skip
    assert len(body["edges"]) == 7
    assert [s.names(p) for p in body["paths"]] == [["A", "B", "D"], ["A", "C", "D"]]
    assert [a["description"] for a in body["variant"]["otherAdaptations"]] == ["Leaflet in Urdu"]

    r = await client.get(f"/v1/adoptions/{s.a['D']}/lineage?direction=both&depth=1", headers=reader)
    assert sorted(s.names([n["adoptionId"] for n in r.json()["nodes"]])) == ["B", "C", "D", "F", "H"]

    # Upstream of a derived innovation's adoption stops at the parent's adoption (generation 0).
    r = await client.get(f"/v1/adoptions/{s.a['Y2']}/lineage?direction=upstream", headers=reader)
    body = r.json()
    assert {s.name(n["adoptionId"]): n["generation"] for n in body["nodes"]} == {"D": 0, "Y1": 1, "Y2": 2}
    assert [s.names(p) for p in body["paths"]] == [["Y1", "Y2"]]
    assert [c["key"] for c in body["variant"]["components"]] == ["huddle", "monitoring", "discharge"]
    assert body["variant"]["otherAdaptations"] == []


async def test_family_tree(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    r = await client.get(f"/v1/innovations/{s.y}/family", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["innovationId"] == str(s.y)
    tree = body["tree"]
    assert tree["id"] == str(s.x) and tree["title"] == "Virtual wards"
    assert tree["derivedFromId"] is None and tree["derivedFromAdoption"] is None
    assert tree["adoptionCount"] == 8
    [child] = tree["children"]  # W is X's child but not in Y's family
    assert child["id"] == str(s.y) and child["derivedFromId"] == str(s.x) and child["adoptionCount"] == 2
    assert child["derivedFromAdoption"] == {
        "adoptionId": str(s.a["D"]),
        "siteCode": "RJ122",
        "siteName": "St Thomas' Hospital",
    }
    [grandchild] = child["children"]
    assert grandchild["id"] == str(s.z) and grandchild["children"] == []
    assert grandchild["derivedFromAdoption"] is None and grandchild["adoptionCount"] == 0

    r = await client.get(f"/v1/innovations/{s.x}/family", headers=reader)
    tree = r.json()["tree"]
    assert tree["id"] == str(s.x)
    assert [(c["title"], [g["title"] for g in c["children"]]) for c in tree["children"]] == [
        ("Virtual wards for children", ["Virtual wards for neonates"]),
        ("Virtual wards at home", []),
    ]

    r = await client.get(f"/v1/innovations/{s.z}/family", headers=reader)
    tree = r.json()["tree"]
    assert tree["id"] == str(s.x) and tree["children"][0]["children"][0]["id"] == str(s.z)


async def test_unknown_ids_and_bad_parameters(client: httpx.AsyncClient, reader, spread: Spread) -> None:
    s = spread
    unknown = uuid.uuid4()
    for url in (
        f"/v1/innovations/{unknown}/lineage",
        f"/v1/adoptions/{unknown}/lineage",
        f"/v1/innovations/{unknown}/family",
    ):
        r = await client.get(url, headers=reader)
        assert r.status_code == 404, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    for url in (
        f"/v1/adoptions/{s.a['A']}/lineage?direction=sideways",
        f"/v1/adoptions/{s.a['A']}/lineage?depth=0",
        f"/v1/adoptions/{s.a['A']}/lineage?depth=101",
        f"/v1/innovations/{s.x}/lineage?depth=0",
        f"/v1/innovations/{s.x}/lineage?depth=101",
        f"/v1/innovations/{s.x}/lineage?depth=two",
        f"/v1/innovations/{s.x}/lineage?format=xml",
        f"/v1/adoptions/{s.a['A']}/lineage?format=svg",
        f"/v1/innovations/{s.x}/lineage?stage=adopted",
        f"/v1/innovations/{s.x}/lineage?region=London",
        f"/v1/innovations/{s.x}/lineage?since=yesterday",
    ):
        r = await client.get(url, headers=reader)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["type"] == "/problems/invalid-input"
    r = await client.get("/v1/innovations/not-a-uuid/lineage", headers=reader)
    assert r.status_code == 404  # {id:uuid} does not match: no route
    assert r.json()["type"] == "/problems/not-found"
    r = await client.get(f"/v1/innovations/{s.x}/lineage")
    assert r.status_code == 401


async def test_graphs_over_the_limit_are_refused(
    client: httpx.AsyncClient, reader, spread: Spread, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = spread
    monkeypatch.setattr(queries, "MAX_NODES", 5)
    r = await client.get(f"/v1/innovations/{s.x}/lineage", headers=reader)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert "more than 5 adoptions" in problem["detail"]
    assert "depth" in problem["detail"] and "region" in problem["detail"] and "since" in problem["detail"]
    assert problem["limit"] == 5
    r = await client.get(f"/v1/innovations/{s.x}/lineage?format=geojson", headers=reader)
    assert r.status_code == 422
    r = await client.get(f"/v1/innovations/{s.x}/lineage?depth=2", headers=reader)
    assert r.status_code == 200 and len(r.json()["nodes"]) == 5
    r = await client.get(f"/v1/adoptions/{s.a['A']}/lineage?direction=downstream", headers=reader)
    assert r.status_code == 422 and "depth" in r.json()["detail"]
    r = await client.get(f"/v1/adoptions/{s.a['A']}/lineage?direction=downstream&depth=1", headers=reader)
    assert r.status_code == 200 and len(r.json()["nodes"]) == 3


async def test_empty_innovation(client: httpx.AsyncClient, reader, conn) -> None:
    from tests.lineage.spread import innovation

    x = await innovation(conn, "Nothing yet")
    r = await client.get(f"/v1/innovations/{x}/lineage", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["nodes"] == [] and body["edges"] == []
    assert body["stats"]["adoptions"] == 0 and body["stats"]["generations"] == []
    assert body["stats"]["largestCascade"] is None and body["stats"]["mostInfluential"] == []
    r = await client.get(f"/v1/innovations/{x}/family", headers=reader)
    assert r.json()["tree"]["children"] == []
