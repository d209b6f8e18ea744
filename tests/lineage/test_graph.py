"""The lineage graph's rules on one hand-worked graph, as pure functions (no database, no app).

Depends on service/lineage/graph.py's public functions: set_generations, steps_from, assemble,
stats, paths_to, variant (and NodeRow/LinkRow/AdaptationRow from service/lineage/queries.py).

The graph (innovation I; X is an adoption of the innovation I derived from)::

    X(O) --publication--> A --peer_visit--> B --peer_visit--> D --learning_network--> F --peer_visit--> G
                          A --conference--> C --peer_visit--> D
                                                         E --other--> F

Every expected value below was worked out by hand from that picture (days between starts
counted on a calendar: 2020 is a leap year).
"""

from __future__ import annotations

import datetime as dt
import uuid

from service.lineage.graph import (
    MOST_INFLUENTIAL,
    assemble,
    chain_order,
    paths_to,
    set_generations,
    stats,
    steps_from,
    variant,
)
from service.lineage.queries import AdaptationRow, LinkRow, NodeRow
from service.vocab import CHANNELS

OWN, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)
X, A, B, C, D, E, F, G = (uuid.UUID(int=100 + k) for k in range(8))
E = uuid.UUID(int=99)  # below D: F's sources in id order (E, D) differ from chain order (D, E)
NAMES = {X: "X", A: "A", B: "B", C: "C", D: "D", E: "E", F: "F", G: "G"}


def node(
    id_: uuid.UUID, started: str, site: str, region: str | None, icb: str | None, innovation: uuid.UUID = OWN
) -> NodeRow:
    return NodeRow(
        id=id_,
        innovation_id=innovation,
        stage="sustaining",
        started_on=dt.date.fromisoformat(started),
        is_origin=False,
        generation=0,
        site_code=site,
        site_name=f"Site {site}",
        site_kind="trust",
        region_code=region,
        icb_code=icb,
        latitude=None,
        longitude=None,
        adaptation_count=0,
    )


def rows() -> list[NodeRow]:
    return [
        node(G, "2021-03-01", "S6", None, None),
        node(F, "2021-02-01", "S5", "R2", "C3"),
        node(E, "2021-01-01", "S1", "R1", "C1"),
        node(D, "2020-06-01", "S4", None, None),
        node(C, "2020-04-01", "S3", "R2", None),
        node(B, "2020-03-01", "S2", "R1", "C2"),
        node(A, "2020-01-01", "S1", "R1", "C1"),
        node(X, "2019-06-01", "SX", "R9", "C9", innovation=OTHER),
    ]


def link(learner: uuid.UUID, source: uuid.UUID, channel: str) -> LinkRow:
    return LinkRow(learner=learner, source=source, channel=channel, on=None)


LINKS = [
    link(G, F, "peer_visit"),
    link(F, D, "learning_network"),
    link(F, E, "other"),
    link(D, C, "peer_visit"),
    link(D, B, "peer_visit"),
    link(C, A, "conference"),
    link(B, A, "peer_visit"),
    link(A, X, "publication"),
    link(B, uuid.UUID(int=999), "peer_visit"),  # a source outside the rows: never an edge
]


def graph_rows() -> list[NodeRow]:
    out = rows()
    set_generations(out, LINKS, OWN)
    return out


def names(ids: list[uuid.UUID]) -> str:
    return "".join(NAMES[i] for i in ids)


def test_generation_is_one_plus_the_nearest_source_and_other_innovations_are_zero() -> None:
    generations = {NAMES[r.id]: r.generation for r in graph_rows()}
    # F learns from E (generation 1) and D (generation 3): the smaller decides, so 2.
    assert generations == {"X": 0, "A": 1, "E": 1, "B": 2, "C": 2, "F": 2, "D": 3, "G": 3}


def test_steps_from_walk_breadth_first_up_to_a_limit() -> None:
    nodes = {r.id: r for r in graph_rows() if r.innovation_id == OWN}
    learners: dict[uuid.UUID, list[uuid.UUID]] = {}
    for lk in LINKS:
        learners.setdefault(lk.source, []).append(lk.learner)
    everything = steps_from(A, nodes, learners, limit=None)
    assert {NAMES[k]: v for k, v in everything.items()} == {"A": 0, "B": 1, "C": 1, "D": 2, "F": 3, "G": 4}
    assert {NAMES[k]: v for k, v in steps_from(A, nodes, learners, limit=2).items()} == {
        "A": 0,
        "B": 1,
        "C": 1,
        "D": 2,
    }
    assert steps_from(A, nodes, learners, limit=0) == {A: 0}
    # X is not among the walked nodes: it is reached but not walked on from.
    assert {NAMES[k]: v for k, v in steps_from(D, nodes, {D: [F], F: [X], X: [A]}, limit=None).items()} == {
        "D": 0,
        "F": 1,
        "X": 2,
    }
    assert steps_from(X, nodes, learners, limit=None) == {X: 0}


def test_assemble_orders_nodes_and_edges_and_counts_learners_and_descendants() -> None:
    graph = assemble(graph_rows(), LINKS)
    assert names([n.adoption_id for n in graph.nodes]) == "XAEBCFDG"  # generation, then start
    assert [(NAMES[e.from_], NAMES[e.to], e.channel) for e in graph.edges] == [
        ("X", "A", "publication"),
        ("A", "B", "peer_visit"),
        ("A", "C", "conference"),
        ("E", "F", "other"),
        ("D", "F", "learning_network"),
        ("B", "D", "peer_visit"),
        ("C", "D", "peer_visit"),
        ("F", "G", "peer_visit"),
    ]
    by = {NAMES[n.adoption_id]: n for n in graph.nodes}
    assert {k: (n.direct_learners, n.descendants) for k, n in by.items()} == {
        "X": (1, 6),
        "A": (2, 5),  # B, C, D, F, G: D is reached twice and counted once
        "B": (1, 3),
        "C": (1, 3),
        "D": (1, 2),
        "E": (1, 2),
        "F": (1, 1),
        "G": (0, 0),
    }
    assert sorted(k for k, n in by.items() if n.is_root) == ["A", "E"]
    assert by["X"].innovation_id == OTHER
    assert (by["A"].site.code, by["A"].site.region_code, by["A"].site.icb_code) == ("S1", "R1", "C1")
    assert by["D"].generation == 3


def test_stats_of_the_innovations_own_adoptions() -> None:
    s = stats(assemble(graph_rows(), LINKS))
    assert (s.adoptions, s.sites, s.regions, s.icbs, s.roots) == (7, 6, 2, 3, 2)
    assert s.generations == [2, 3, 2]
    assert list(s.channels) == list(CHANNELS)  # every channel, zeros included
    assert {k: v for k, v in s.channels.items() if v} == {
        "publication": 1,
        "peer_visit": 4,
        "conference": 1,
        "other": 1,
        "learning_network": 1,
    }
    # days from source start to learner start, by the learner's generation:
    # 1: X->A 214; 2: A->B 60, A->C 91, E->F 31, D->F 245; 3: B->D 92, C->D 61, F->G 28
    assert [(t.generation, t.median_days, t.links) for t in s.tempo_days] == [(1, 214.0, 1), (2, 75.5, 4), (3, 61.0, 3)]
    assert s.largest_cascade is not None
    assert (NAMES[s.largest_cascade.root_adoption_id], s.largest_cascade.size) == ("A", 6)
    assert MOST_INFLUENTIAL == 5
    # by direct learners, then descendants, then earliest start: F (1 learner, 1 descendant) is sixth
    assert [(i.site_code, i.direct_learners, i.descendants) for i in s.most_influential] == [
        ("S1", 2, 5),
        ("S2", 1, 3),
        ("S3", 1, 3),
        ("S4", 1, 2),
        ("S1", 1, 2),
    ]
    assert names([i.adoption_id for i in s.most_influential]) == "ABCDE"


def test_stats_of_an_empty_graph() -> None:
    s = stats(assemble([], []))
    assert (s.adoptions, s.sites, s.regions, s.icbs, s.roots, s.generations) == (0, 0, 0, 0, 0, [])
    assert s.largest_cascade is None
    assert s.most_influential == []
    assert s.tempo_days == []


def test_the_largest_cascade_breaks_ties_by_the_earlier_start() -> None:
    two = [node(A, "2020-01-01", "S1", None, None), node(B, "2019-01-01", "S2", None, None)]
    set_generations(two, [], OWN)
    s = stats(assemble(two, []))
    assert s.largest_cascade is not None
    assert (NAMES[s.largest_cascade.root_adoption_id], s.largest_cascade.size) == ("B", 1)
    assert s.most_influential == []  # nobody learned from anybody


def own() -> list[NodeRow]:
    return [r for r in graph_rows() if r.innovation_id == OWN]


def test_paths_from_the_roots_to_an_adoption_shortest_first() -> None:
    paths, more = paths_to(G, own(), LINKS)
    assert ([names(p) for p in paths], more) == (["EFG", "ABDFG", "ACDFG"], False)
    closure = [r for r in own() if r.id in {A, B, C, D}]
    assert [names(p) for p in paths_to(D, closure, LINKS)[0]] == ["ABD", "ACD"]


def test_paths_are_bounded_in_count_and_in_length() -> None:
    paths, more = paths_to(G, own(), LINKS, limit=1)
    assert ([names(p) for p in paths], more) == (["ABDFG"], True)  # walked in chain order: D before E
    paths, more = paths_to(G, own(), LINKS, limit=3)
    assert (len(paths), more) == (3, False)
    paths, more = paths_to(G, own(), LINKS, max_steps=10)  # 5 + 5 adoptions; the third path is over
    assert ([names(p) for p in paths], more) == (["ABDFG", "ACDFG"], True)
    paths, more = paths_to(G, own(), LINKS, max_steps=13)
    assert (len(paths), more) == (3, False)


def test_a_root_is_its_own_path_and_an_unknown_adoption_has_none() -> None:
    assert paths_to(A, own(), LINKS) == ([[A]], False)
    assert paths_to(X, own(), LINKS) == ([], False)


def adaptation(on: uuid.UUID, description: str, keys: list[str], made: str | None = None) -> AdaptationRow:
    return AdaptationRow(
        id=uuid.uuid4(),
        adoption_id=on,
        description=description,
        phase="implementation",
        what_modified="content",
        nature="adding",
        fidelity="consistent",
        core_component_keys=keys,
        made_on=dt.date.fromisoformat(made) if made else None,
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )


def test_the_variant_an_adoption_runs_inherits_along_its_chain_then_adds_its_own() -> None:
    closure = [r for r in own() if r.id in {A, B, C, D}]
    components: list[dict[str, object]] = [
        {"key": "triage", "name": "Triage", "description": "Who is seen first"},
        {"key": "follow-up"},  # no name: the key stands in; no description: empty
        {"name": "no key"},  # not a component
        {"key": 7},  # not a component
    ]
    adaptations = [
        adaptation(D, "own change", ["triage", "triage", "unknown"]),
        adaptation(C, "C's change", ["follow-up", "triage"], made="2020-05-01"),
        adaptation(A, "A's change", ["triage"]),
        adaptation(B, "B's untargeted change", []),
        adaptation(B, "B's change to an unknown component", ["gone"]),
        adaptation(X, "outside the chain", ["triage"]),
    ]
    v = variant(D, components, closure, LINKS, adaptations)
    assert [(c.key, c.name, c.description) for c in v.components] == [
        ("triage", "Triage", "Who is seen first"),
        ("follow-up", "follow-up", ""),
    ]
    triage, follow_up = v.components
    # chain order A, B, C, then D's own last; a key listed twice counts once
    assert [(a.description, a.site_code, a.inherited) for a in triage.adaptations] == [
        ("A's change", "S1", True),
        ("C's change", "S3", True),
        ("own change", "S4", False),
    ]
    by_description = {a.description: a for a in adaptations}
    for shown in triage.adaptations:
        source = by_description[shown.description]
        assert (shown.adaptation_id, shown.adoption_id, shown.phase, shown.what_modified) == (
            source.id,
            source.adoption_id,
            source.phase,
            source.what_modified,
        )
        assert (shown.nature, shown.fidelity, shown.made_on) == (source.nature, source.fidelity, source.made_on)
    assert [a.description for a in follow_up.adaptations] == ["C's change"]
    assert [a.description for a in v.other_adaptations] == [
        "B's untargeted change",
        "B's change to an unknown component",
    ]


def test_a_node_and_an_edge_show_what_the_adoption_and_the_link_say() -> None:
    a = node(A, "2020-01-01", "S1", "R1", "C1")
    a.stage, a.is_origin, a.adaptation_count = "scaling", True, 3
    a.site_name, a.site_kind, a.latitude, a.longitude = "Leeds General", "trust_site", 53.8, -1.55
    b = node(B, "2020-03-01", "S2", None, None)
    links = [LinkRow(learner=B, source=A, channel="peer_visit", on=dt.date(2020, 2, 14))]
    set_generations([a, b], links, OWN)
    graph = assemble([a, b], links)
    first = graph.nodes[0]
    assert (first.adoption_id, first.innovation_id, first.stage, first.started_on) == (
        A,
        OWN,
        "scaling",
        dt.date(2020, 1, 1),
    )
    assert (first.is_origin, first.adaptation_count, first.is_root, first.generation) == (True, 3, True, 1)
    site = first.site
    assert (site.code, site.name, site.kind, site.region_code, site.icb_code, site.latitude, site.longitude) == (
        "S1",
        "Leeds General",
        "trust_site",
        "R1",
        "C1",
        53.8,
        -1.55,
    )
    (edge,) = graph.edges
    assert (edge.from_, edge.to, edge.channel, edge.on) == (A, B, "peer_visit", dt.date(2020, 2, 14))


def test_steps_from_walk_on_past_a_node_it_may_not_walk_from() -> None:
    nodes = {r.id: r for r in own()}
    steps = steps_from(A, nodes, {A: [X, B], X: [G], B: [C]}, limit=None)
    assert {NAMES[k]: v for k, v in steps.items()} == {"A": 0, "X": 1, "B": 1, "C": 2}


def test_tempo_counts_only_links_into_the_innovations_own_adoptions() -> None:
    """Y, an adoption of another innovation, learned from A: an edge and a channel, no tempo."""
    y = uuid.UUID(int=500)
    rows_ = [node(A, "2020-01-01", "S1", None, None), node(y, "2020-02-01", "SY", None, None, innovation=OTHER)]
    links = [LinkRow(learner=y, source=A, channel="conference", on=None)]
    set_generations(rows_, links, OWN)
    s = stats(assemble(rows_, links))
    assert s.channels["conference"] == 1
    assert s.tempo_days == []
    assert (s.adoptions, s.roots) == (1, 1)


def test_the_largest_cascade_is_the_root_with_most_descendants_not_the_first() -> None:
    rows_ = [
        node(A, "2020-01-01", "S1", None, None),
        node(B, "2021-01-01", "S2", None, None),
        node(C, "2021-02-01", "S3", None, None),
    ]
    links = [link(C, B, "peer_visit")]
    set_generations(rows_, links, OWN)
    s = stats(assemble(rows_, links))
    assert s.largest_cascade is not None
    assert (NAMES[s.largest_cascade.root_adoption_id], s.largest_cascade.size) == ("B", 2)


def test_chain_order_puts_sources_first_and_still_places_a_cycle() -> None:
    closure = [r for r in own() if r.id in {A, B, C, D}]
    sources = {A: [], B: [A], C: [A], D: [B, C]}
    assert {NAMES[k]: v for k, v in chain_order(closure, sources).items()} == {"A": 0, "B": 1, "C": 2, "D": 3}
    # a cycle (the registry refuses them) leaves nobody out: by start, after the rest
    looped = {A: [], B: [A, D], C: [A], D: [B, C]}
    assert {NAMES[k]: v for k, v in chain_order(closure, looped).items()} == {"A": 0, "C": 1, "B": 2, "D": 3}


def test_paths_of_equal_length_come_in_chain_order_not_id_order() -> None:
    early, late = uuid.UUID(int=300), uuid.UUID(int=200)  # the later-starting one has the smaller id
    closure = [
        node(A, "2020-01-01", "S1", None, None),
        node(early, "2020-03-01", "S2", None, None),
        node(late, "2020-04-01", "S3", None, None),
        node(D, "2020-06-01", "S4", None, None),
    ]
    links = [link(early, A, "peer_visit"), link(late, A, "peer_visit"), link(D, late, "other"), link(D, early, "other")]
    assert paths_to(D, closure, links) == ([[A, early, D], [A, late, D]], False)
