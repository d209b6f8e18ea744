"""Reading lineage: one graph statement, then nodes, edges, stats, paths and variant in Python."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from service.errors import InvalidInputError, NotFoundError
from service.lineage import formats, graph, queries
from service.lineage.schemas import (
    AdoptionLineage,
    DerivationPoint,
    FamilyMember,
    InnovationFamily,
    InnovationLineage,
)


def _too_large(narrow: str) -> InvalidInputError:
    return InvalidInputError(
        f"This lineage has more than {queries.MAX_NODES:,} adoptions, too many for one answer. "
        f"Narrow it with {narrow}.",
        extra={"limit": queries.MAX_NODES},
    )


async def innovation_lineage(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    *,
    depth: int | None,
    stage: str | None,
    region: str | None,
    since: dt.date | None,
    fmt: str,
) -> InnovationLineage | bytes:
    meta = await queries.innovation_meta(conn, innovation_id)
    if meta is None:
        raise NotFoundError(f"no innovation has id '{innovation_id}'")
    found = await queries.innovation_graph(
        conn,
        innovation_id,
        adoption_count=meta.adoption_count,
        cap=queries.walk_cap(meta.adoption_count, depth),
        stage=stage,
        region=region,
        since=since,
    )
    if len(found.nodes) > queries.MAX_NODES:
        raise _too_large("`depth` (generations from the roots), `region` (e.g. region=Y56) or `since` (a date)")
    with graph.no_gc():
        g = graph.assemble(found.nodes, found.links)
        if fmt == "json":
            return InnovationLineage(innovation_id=innovation_id, nodes=g.nodes, edges=g.edges, stats=graph.stats(g))
    return await _render(conn, fmt, innovation_id, meta.title, g)


async def _render(conn: asyncpg.Connection, fmt: str, innovation_id: uuid.UUID, title: str, g: graph.Graph) -> bytes:
    adaptations = await queries.adaptations_of(conn, [n.adoption_id for n in g.nodes]) if fmt == "prov" else []
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
    found = await queries.adoption_graph(
        conn,
        meta.innovation_id,
        adoption_id,
        cap=queries.walk_cap(meta.adoption_count, None),
        depth=depth,
        upstream=upstream,
        downstream=downstream,
    )
    rows = found.nodes
    if len(rows) > queries.MAX_NODES:
        raise _too_large("`direction` (upstream or downstream alone) and `depth` (steps from this adoption)")
    limit = depth if depth is not None else len(rows) + 1
    view = [
        r
        for r in rows
        if (upstream and r.steps_up is not None and r.steps_up <= limit)
        or (downstream and r.steps_down is not None and r.steps_down <= limit)
    ]
    with graph.no_gc():
        g = graph.assemble(view, found.links)
    if fmt != "json":
        return await _render(conn, fmt, meta.innovation_id, meta.title, g)
    paths = variant = None
    truncated = False
    if upstream:
        closure = [r for r in rows if r.steps_up is not None and r.innovation_id == meta.innovation_id]
        paths, truncated = graph.paths_to(adoption_id, closure, found.links)
        adaptations = await queries.adaptations_of(conn, [r.id for r in closure])
        variant = graph.variant(adoption_id, meta.core_components, closure, found.links, adaptations)
    return AdoptionLineage(
        adoption_id=adoption_id,
        innovation_id=meta.innovation_id,
        direction=direction,  # type: ignore[arg-type]
        nodes=g.nodes,
        edges=g.edges,
        paths=paths,
        paths_truncated=truncated,
        variant=variant,
    )


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
            children.setdefault(r.derived_from_id, []).append(r.id)  # type: ignore[arg-type]

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
