"""From the rows of one graph statement to nodes, edges, stats, paths and variants (pure Python).

Everything here runs over the one result the statement returned: no database access, and
the service runs it in a worker thread. Generations and steps come from breadth-first
searches (each node and link looked at once); descendant counts use one bitset per node (a
Python int), filled in reverse topological order, so a node reached along two routes is
counted once; paths are enumerated on one shared chain (push and pop, never a copy per step)
and bounded in count and in total length.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import statistics
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from service.lineage.queries import AdaptationRow, LinkRow, NodeRow
from service.lineage.schemas import (
    Cascade,
    Influence,
    LineageEdge,
    LineageNode,
    LineageSite,
    LineageStats,
    Tempo,
    Variant,
    VariantAdaptation,
    VariantComponent,
)
from service.vocab import CHANNELS

MOST_INFLUENTIAL = 5
MAX_PATHS = 1_000
MAX_PATH_STEPS = 100_000  # adoptions over all paths of one answer


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around a synchronous bulk build (no awaits inside,
    so no other task runs meanwhile). Building a 10,000-node graph allocates ~100,000
    objects, enough to set off full collections that were measured at 50-60 ms each."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Graph(msgspec.Struct, kw_only=True):
    """The assembled graph: response nodes and edges, plus what stats need (internal)."""

    rows: list[NodeRow]
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    links: list[tuple[int, int]]  # (source index, learner index) per edge


def set_generations(rows: list[NodeRow], links: list[LinkRow], innovation_id: uuid.UUID) -> None:
    """Each of the innovation's adoptions gets its generation: 1 for a root (no source among
    the innovation's adoptions in ``rows``), else 1 + the smallest generation among its sources,
    which is its breadth-first level from the roots. Other innovations' adoptions get 0, and so
    would adoptions on a cycle (which the registry refuses), left unreached."""
    own = {r.id: r for r in rows if r.innovation_id == innovation_id}
    learners: dict[uuid.UUID, list[uuid.UUID]] = {}
    has_source: set[uuid.UUID] = set()
    for link in links:
        if link.learner in own and link.source in own:
            learners.setdefault(link.source, []).append(link.learner)
            has_source.add(link.learner)
    for r in rows:
        r.generation = 0
    level = [node for node in own if node not in has_source]
    generation = 1
    while level:
        following = []
        for node in level:
            own[node].generation = generation
        for node in level:
            for learner in learners.get(node, ()):
                r = own[learner]
                if r.generation == 0:
                    r.generation = -1  # queued
                    following.append(learner)
        level = following
        generation += 1


def steps_from(
    start: uuid.UUID, nodes: dict[uuid.UUID, NodeRow], edges: dict[uuid.UUID, list[uuid.UUID]], *, limit: int | None
) -> dict[uuid.UUID, int]:
    """Fewest steps from ``start`` to each node reached over ``edges`` (at most ``limit``);
    only nodes in ``nodes`` are walked on from."""
    steps = {start: 0}
    level = [start]
    count = 0
    while level and (limit is None or count < limit):
        count += 1
        following = []
        for node in level:
            if node not in nodes:
                continue
            for other in edges.get(node, ()):
                if other not in steps:
                    steps[other] = count
                    following.append(other)
        level = following
    return steps


def _node_key(r: NodeRow) -> tuple[int, Any, int]:
    return (r.generation, r.started_on, r.id.int)


def assemble(rows: list[NodeRow], links: list[LinkRow]) -> Graph:
    """Nodes (by generation, start, id) and edges (by learner, then source) over ``rows``;
    the edges are the links whose learner and source are both nodes."""
    rows = sorted(rows, key=_node_key)
    index = {r.id: i for i, r in enumerate(rows)}
    n = len(rows)
    shown = []
    for link in links:
        j = index.get(link.learner)
        i = index.get(link.source)
        if i is not None and j is not None:
            shown.append((j * n + i, i, j, link))
    shown.sort()  # the first item is unique (one link per pair), so links are never compared
    learners: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    pairs: list[tuple[int, int]] = []
    edges: list[LineageEdge] = []
    for _, i, j, link in shown:
        learners[i].append(j)
        indegree[j] += 1
        pairs.append((i, j))
        edges.append(LineageEdge(from_=link.source, to=link.learner, channel=link.channel, on=link.on))  # type: ignore[arg-type]  # channels come from the database, constrained to the vocabulary

    # Kahn's order; nodes on a cycle (which the registry refuses) would simply be left out.
    order = [i for i in range(n) if indegree[i] == 0]
    remaining = indegree[:]
    for v in order:
        for w in learners[v]:
            remaining[w] -= 1
            if remaining[w] == 0:
                order.append(w)
    reach = [0] * n
    for v in reversed(order):
        bits = 0
        for w in learners[v]:
            bits |= reach[w] | (1 << w)
        reach[v] = bits

    nodes = [
        LineageNode(
            adoption_id=r.id,
            innovation_id=r.innovation_id,
            site=LineageSite(
                code=r.site_code,
                name=r.site_name,
                kind=r.site_kind,  # type: ignore[arg-type]  # site kinds come from the database, constrained to the vocabulary
                region_code=r.region_code,
                icb_code=r.icb_code,
                latitude=r.latitude,
                longitude=r.longitude,
            ),
            stage=r.stage,  # type: ignore[arg-type]  # stages come from the database, constrained to the vocabulary
            started_on=r.started_on,
            is_origin=r.is_origin,
            is_root=r.generation == 1,  # only the innovation's own adoptions have generation >= 1
            generation=r.generation,
            adaptation_count=r.adaptation_count,
            direct_learners=len(learners[i]),
            descendants=reach[i].bit_count(),
        )
        for i, r in enumerate(rows)
    ]
    return Graph(rows=rows, nodes=nodes, edges=edges, links=pairs)


def stats(graph: Graph) -> LineageStats:
    """Spread statistics over the innovation's own adoptions in the graph (generation 0 left out)."""
    rows, nodes = graph.rows, graph.nodes
    # Own adoptions are exactly those of generation >= 1 (other innovations' nodes are 0); an
    # int test, where comparing UUIDs of two classes (asyncpg's and the path's) runs in Python.
    own = [i for i, r in enumerate(rows) if r.generation > 0]
    max_generation = max((rows[i].generation for i in own), default=0)
    generations = [0] * max_generation
    for i in own:
        generations[rows[i].generation - 1] += 1

    channels = dict.fromkeys(CHANNELS, 0)
    tempo: dict[int, list[int]] = {}
    for edge, (i, j) in zip(graph.edges, graph.links, strict=True):
        channels[edge.channel] = channels.get(edge.channel, 0) + 1
        if rows[j].generation > 0:
            tempo.setdefault(rows[j].generation, []).append((rows[j].started_on - rows[i].started_on).days)

    roots = [i for i in own if nodes[i].is_root]
    cascade = None
    if roots:
        best = min(roots, key=lambda i: (-nodes[i].descendants, rows[i].started_on, rows[i].id.int))
        cascade = Cascade(root_adoption_id=rows[best].id, size=1 + nodes[best].descendants)

    influential = heapq.nsmallest(
        MOST_INFLUENTIAL,
        (i for i in own if nodes[i].direct_learners > 0),
        key=lambda i: (-nodes[i].direct_learners, -nodes[i].descendants, rows[i].started_on, rows[i].id.int),
    )

    return LineageStats(
        adoptions=len(own),
        sites=len({rows[i].site_code for i in own}),
        regions=len({rows[i].region_code for i in own if rows[i].region_code}),
        icbs=len({rows[i].icb_code for i in own if rows[i].icb_code}),
        roots=len(roots),
        generations=generations,
        channels=channels,
        tempo_days=[
            Tempo(generation=g, median_days=float(statistics.median(days)), links=len(days))
            for g, days in sorted(tempo.items())
        ],
        largest_cascade=cascade,
        most_influential=[
            Influence(
                adoption_id=rows[i].id,
                site_code=rows[i].site_code,
                direct_learners=nodes[i].direct_learners,
                descendants=nodes[i].descendants,
            )
            for i in influential
        ],
    )


def _order_key(r: NodeRow) -> tuple[Any, int, str]:
    return (r.started_on, r.generation, str(r.id))


def sources_within(closure: list[NodeRow], links: list[LinkRow]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each adoption's sources among ``closure``."""
    members = {r.id for r in closure}
    sources: dict[uuid.UUID, list[uuid.UUID]] = {r.id: [] for r in closure}
    for link in links:
        if link.learner in members and link.source in members:
            sources[link.learner].append(link.source)
    return sources


def chain_order(closure: list[NodeRow], sources: dict[uuid.UUID, list[uuid.UUID]]) -> dict[uuid.UUID, int]:
    """A position for each adoption such that every source comes before its learners
    (topological), earliest start first among those free to go next."""
    by_id = {r.id: r for r in closure}
    waiting = {r.id: len(sources[r.id]) for r in closure}
    learners: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in closure:
        for s in sources[r.id]:
            learners.setdefault(s, []).append(r.id)
    ready = [(_order_key(r), r.id) for r in closure if waiting[r.id] == 0]
    heapq.heapify(ready)
    position: dict[uuid.UUID, int] = {}
    while ready:
        _, node = heapq.heappop(ready)
        position[node] = len(position)
        for w in learners.get(node, []):
            waiting[w] -= 1
            if waiting[w] == 0:
                heapq.heappush(ready, (_order_key(by_id[w]), w))
    for r in sorted(closure, key=_order_key):  # only on a cycle, which the registry refuses
        position.setdefault(r.id, len(position))
    return position


def paths_to(
    target: uuid.UUID,
    closure: list[NodeRow],
    links: list[LinkRow],
    limit: int = MAX_PATHS,
    max_steps: int = MAX_PATH_STEPS,
) -> tuple[list[list[uuid.UUID]], bool]:
    """Every chain from a root to ``target`` through the innovation's own adoptions, root first.

    ``closure`` is the target's upstream closure (own adoptions only). A depth-first search on
    one shared chain: each step pushes or pops one adoption, and a chain is copied only when
    it reaches a root (every branch of an upstream closure does). At most ``limit`` paths and
    ``max_steps`` adoptions over all of them; the flag says whether more were left out.
    """
    by_id = {r.id: r for r in closure}
    if target not in by_id:
        return [], False
    sources = sources_within(closure, links)
    position = chain_order(closure, sources)
    for ups in sources.values():
        ups.sort(key=position.__getitem__)
    found: list[list[uuid.UUID]] = []
    chain: list[uuid.UUID] = [target]
    on_chain = {target}
    stack: list[Iterator[uuid.UUID]] = [iter(sources[target])]
    truncated = False
    steps = 0
    if not sources[target]:
        return [[target]], False
    while stack:
        s = next(stack[-1], None)
        if s is None:
            stack.pop()
            on_chain.discard(chain.pop())
            continue
        if s in on_chain:  # only on a cycle, which the registry refuses
            continue
        if not sources[s]:
            steps += len(chain) + 1
            if len(found) == limit or steps > max_steps:
                truncated = True
                break
            found.append([s, *reversed(chain)])
            continue
        chain.append(s)
        on_chain.add(s)
        stack.append(iter(sources[s]))
    found.sort(key=lambda p: (len(p), [position[x] for x in p]))
    return found, truncated


def _components(raw: Iterable[Any]) -> list[tuple[str, str, str]]:
    out = []
    for c in raw:
        if isinstance(c, dict) and isinstance(c.get("key"), str):
            key = c["key"]
            name = c.get("name") if isinstance(c.get("name"), str) else key
            description = c.get("description") if isinstance(c.get("description"), str) else ""
            out.append((key, str(name), str(description)))
    return out


def variant(
    target: uuid.UUID,
    core_components: list[dict[str, object]],
    closure: list[NodeRow],
    links: list[LinkRow],
    adaptations: list[AdaptationRow],
) -> Variant:
    """The innovation as the target runs it: each core component with the adaptations that
    touched it along the chain (inherited in chain order, then the target's own), and the
    adaptations that touched no (known) core component."""
    by_id = {r.id: r for r in closure}
    position = chain_order(closure, sources_within(closure, links))
    ordered = sorted(
        (a for a in adaptations if a.adoption_id in by_id),
        key=lambda a: (a.adoption_id == target, position[a.adoption_id]),
    )  # stable: keeps made_on / created_at order within an adoption
    components = _components(core_components)
    keys = {key for key, _, _ in components}
    touched: dict[str, list[VariantAdaptation]] = {key: [] for key in keys}
    other: list[VariantAdaptation] = []
    for a in ordered:
        item = VariantAdaptation(
            adaptation_id=a.id,
            adoption_id=a.adoption_id,
            site_code=by_id[a.adoption_id].site_code,
            inherited=a.adoption_id != target,
            description=a.description,
            phase=a.phase,
            what_modified=a.what_modified,
            nature=a.nature,
            fidelity=a.fidelity,
            made_on=a.made_on,
        )
        hits = [k for k in dict.fromkeys(a.core_component_keys) if k in keys]
        if not hits:
            other.append(item)
        for k in hits:
            touched[k].append(item)
    return Variant(
        components=[
            VariantComponent(key=key, name=name, description=description, adaptations=touched[key])
            for key, name, description in components
        ],
        other_adaptations=other,
    )
