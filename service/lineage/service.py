"""Reading lineage: one bounded graph statement, then generations, steps, nodes, edges, stats,
paths and variant in Python, in a worker thread (``anyio.to_thread``), so a large graph does
not stop the event loop serving other requests while it is built."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial
from typing import TypeVar

import anyio.to_thread
import asyncpg
import msgspec

from service.errors import InvalidInputError, NotFoundError
from service.lineage import cache as answer_cache
from service.lineage import formats, graph, queries
from service.lineage.cache import Answer, AnswerCache
from service.lineage.queries import GraphRows, NodeRow
from service.lineage.schemas import (
    AdoptionLineage,
    DerivationPoint,
    FamilyMember,
    InnovationFamily,
    InnovationLineage,
    Variant,
)

T = TypeVar("T")


def _too_large(narrow: str) -> InvalidInputError:
    return InvalidInputError(
        f"This lineage has more than {queries.MAX_NODES:,} adoptions, too many for one answer. "
        f"Narrow it with {narrow}.",
        extra={"limit": queries.MAX_NODES},
    )


def _too_large_to_walk(found: GraphRows, instead: str) -> InvalidInputError:
    if found.links and len(found.links) > queries.MAX_LINKS:
        what, limit = f"{queries.MAX_LINKS:,} learned-from links", queries.MAX_LINKS
    else:
        what, limit = f"{queries.MAX_WALK:,} adoptions", queries.MAX_WALK
    return InvalidInputError(
        f"This lineage reaches more than {what}; one answer reads at most that many, whatever its filters. {instead}",
        extra={"limit": limit},
    )


async def _off_loop(func: partial[T]) -> T:
    return await anyio.to_thread.run_sync(func)


async def innovation_lineage(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    *,
    depth: int | None,
    stage: str | None,
    region: str | None,
    since: dt.date | None,
    fmt: str,
    cache: AnswerCache | None = None,
) -> Answer:
    """The encoded answer; from ``cache`` when one was built for this version of the spread."""
    meta = await queries.innovation_meta(conn, innovation_id)
    if meta is None:
        raise NotFoundError(f"no innovation has id '{innovation_id}'")
    key = None
    if cache is not None and meta.adoption_count < answer_cache.FROM_ADOPTIONS:
        cache = None
    if cache is not None:
        version = await queries.spread_version(conn, innovation_id)
        key = (innovation_id, version.rows, version.digest, depth, stage, region, since, fmt)
        kept = cache.get(key)
        if kept is not None:
            return kept
    found = await queries.spread(conn, innovation_id, adoption_count=meta.adoption_count)
    if found.over:
        raise _too_large_to_walk(found, "Read it one adoption at a time (`GET /v1/adoptions/{id}/lineage`).")
    g = await _off_loop(partial(_innovation_graph, found, innovation_id, depth, stage, region, since))
    if fmt == "json":
        body = await _off_loop(partial(_innovation_json, innovation_id, g))
    else:
        body = await _render(conn, fmt, innovation_id, meta.title, g)
    answer = Answer(body=body, media_type=formats.MEDIA_TYPES[fmt])
    if cache is not None:
        cache.put(key, answer)
    return answer


def _innovation_graph(
    found: GraphRows,
    innovation_id: uuid.UUID,
    depth: int | None,
    stage: str | None,
    region: str | None,
    since: dt.date | None,
) -> graph.Graph:
    """The filtered graph: filters pick adoptions; generations stay those of the whole spread."""
    with graph.no_gc():
        graph.set_generations(found.nodes, found.links, innovation_id)
        kept = [
            r
            for r in found.nodes
            if r.generation > 0
            and (depth is None or r.generation <= depth)
            and (stage is None or r.stage == stage)
            and (region is None or r.region_code == region)
            and (since is None or r.started_on >= since)
        ]
        ids = {r.id for r in kept}
        sources = {link.source for link in found.links if link.learner in ids}
        outside = [r for r in found.nodes if r.innovation_id != innovation_id and r.id in sources]
        if len(kept) + len(outside) > queries.MAX_NODES:
            raise _too_large("`depth` (generations from the roots), `region` (e.g. region=Y56) or `since` (a date)")
        return graph.assemble(kept + outside, found.links)


def _innovation_answer(innovation_id: uuid.UUID, g: graph.Graph) -> InnovationLineage:
    with graph.no_gc():
        return InnovationLineage(innovation_id=innovation_id, nodes=g.nodes, edges=g.edges, stats=graph.stats(g))


def _innovation_json(innovation_id: uuid.UUID, g: graph.Graph) -> bytes:
    answer = _innovation_answer(innovation_id, g)
    with graph.no_gc():
        return msgspec.json.encode(answer)


async def _render(conn: asyncpg.Connection, fmt: str, innovation_id: uuid.UUID, title: str, g: graph.Graph) -> bytes:
    adaptations = await queries.adaptations_of(conn, [n.adoption_id for n in g.nodes]) if fmt == "prov" else []
    return await _off_loop(partial(_render_sync, fmt, innovation_id, title, g, adaptations))


def _render_sync(
    fmt: str, innovation_id: uuid.UUID, title: str, g: graph.Graph, adaptations: list[queries.AdaptationRow]
) -> bytes:
    with graph.no_gc():
        if fmt == "geojson":
            return formats.geojson(innovation_id, g.nodes, g.edges)
        if fmt == "mermaid":
            return formats.mermaid(title, g.nodes, g.edges)
        return formats.prov(innovation_id, title, g.nodes, g.edges, adaptations)


async def adoption_lineage(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    *,
    direction: str,
    depth: int | None,
    fmt: str,
) -> AdoptionLineage | bytes:
    meta = await queries.adoption_meta(conn, adoption_id)
    if meta is None:
        raise NotFoundError(f"no adoption has id '{adoption_id}'")
    upstream = direction in ("upstream", "both")
    downstream = direction in ("downstream", "both")
    # Downstream generations need the whole spread (a learner's other sources may lie anywhere
    # in it); upstream alone needs only the closure, which holds every path to a root.
    if downstream:
        found = await queries.spread(conn, meta.innovation_id, adoption_count=meta.adoption_count)
    else:
        found = await queries.upstream(conn, meta.innovation_id, adoption_id)
    if found.over:
        raise _too_large_to_walk(found, "Ask for `direction=upstream` alone, or read a nearer adoption.")
    rows, g = await _off_loop(
        partial(_adoption_graph, found, meta.innovation_id, adoption_id, upstream, downstream, depth)
    )
    if fmt != "json":
        return await _render(conn, fmt, meta.innovation_id, meta.title, g)
    paths = variant = None
    truncated = False
    if upstream:
        closure = [r for r in rows if r.steps_up is not None and r.innovation_id == meta.innovation_id]
        adaptations = await queries.adaptations_of(conn, [r.id for r in closure])
        paths, truncated, variant = await _off_loop(
            partial(_paths_and_variant, adoption_id, meta.core_components, closure, found, adaptations)
        )
    return AdoptionLineage(
        adoption_id=adoption_id,
        innovation_id=meta.innovation_id,
        direction=direction,  # type: ignore[arg-type]  # validated as a Literal by the route
        nodes=g.nodes,
        edges=g.edges,
        paths=paths,
        paths_truncated=truncated,
        variant=variant,
    )


def _adoption_graph(
    found: GraphRows,
    innovation_id: uuid.UUID,
    adoption_id: uuid.UUID,
    upstream: bool,
    downstream: bool,
    depth: int | None,
) -> tuple[list[NodeRow], graph.Graph]:
    """The adoption's reach (all of its upstream closure, its downstream within ``depth``) and
    the graph shown (both within ``depth``)."""
    with graph.no_gc():
        graph.set_generations(found.nodes, found.links, innovation_id)
        own = {r.id: r for r in found.nodes if r.innovation_id == innovation_id}
        by_id = {r.id: r for r in found.nodes}
        if upstream:
            sources: dict[uuid.UUID, list[uuid.UUID]] = {}
            for link in found.links:
                sources.setdefault(link.learner, []).append(link.source)
            for node, steps in graph.steps_from(adoption_id, own, sources, limit=None).items():
                if node in by_id:
                    by_id[node].steps_up = steps
        if downstream:
            learners: dict[uuid.UUID, list[uuid.UUID]] = {}
            for link in found.links:
                if link.learner in own:
                    learners.setdefault(link.source, []).append(link.learner)
            for node, steps in graph.steps_from(adoption_id, own, learners, limit=depth).items():
                by_id[node].steps_down = steps
        rows = [r for r in found.nodes if r.steps_up is not None or r.steps_down is not None]
        if len(rows) > queries.MAX_NODES:
            raise _too_large("`direction` (upstream or downstream alone) and `depth` (steps from this adoption)")
        limit = depth if depth is not None else len(rows) + 1
        view = [
            r
            for r in rows
            if (upstream and r.steps_up is not None and r.steps_up <= limit)
            or (downstream and r.steps_down is not None and r.steps_down <= limit)
        ]
        return rows, graph.assemble(view, found.links)


def _paths_and_variant(
    adoption_id: uuid.UUID,
    core_components: list[dict[str, object]],
    closure: list[NodeRow],
    found: GraphRows,
    adaptations: list[queries.AdaptationRow],
) -> tuple[list[list[uuid.UUID]], bool, Variant]:
    with graph.no_gc():
        paths, truncated = graph.paths_to(adoption_id, closure, found.links)
        return paths, truncated, graph.variant(adoption_id, core_components, closure, found.links, adaptations)


async def innovation_family(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> InnovationFamily:
    rows = await queries.family(conn, innovation_id)
    if not rows:
        raise NotFoundError(f"no innovation has id '{innovation_id}'")
    if len(rows) > queries.MAX_FAMILY:
        raise InvalidInputError(f"This family has more than {queries.MAX_FAMILY:,} innovations; it cannot be shown.")
    by_id = {r.id: r for r in rows}
    # The tree's root: the oldest ancestor reached (most steps up); the innovation itself
    # when it derives from nothing.
    top = max((r for r in rows if r.steps_up is not None), key=lambda r: r.steps_up or 0)
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in rows:
        if r.derived_from_id in by_id and r.id != top.id:
            children.setdefault(r.derived_from_id, []).append(r.id)

    def member(node_id: uuid.UUID, seen: frozenset[uuid.UUID]) -> FamilyMember:
        r = by_id[node_id]
        point = (
            DerivationPoint(
                adoption_id=r.derived_from_adoption_id,
                site_code=r.derivation_site_code,
                site_name=r.derivation_site_name or r.derivation_site_code,
            )
            if r.derived_from_adoption_id and r.derivation_site_code
            else None
        )
        kids = [member(c, seen | {c}) for c in children.get(node_id, []) if c not in seen]
        return FamilyMember(
            id=r.id,
            title=r.title,
            derived_from_id=r.derived_from_id,
            adoption_count=r.adoption_count,
            derived_from_adoption=point,
            children=kids,
        )

    return InnovationFamily(innovation_id=innovation_id, tree=member(top.id, frozenset({top.id})))
