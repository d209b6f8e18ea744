"""SQL for lineage. Records never leave this module.

Each graph comes from ONE statement: a recursive CTE walks learned-from links from the roots
(``UNION`` over ``(adoption, generation)`` pairs, capped at a depth), and a node's generation
is the smallest generation the walk reached it at, which is 1 + the smallest generation of its
sources. The cap is the caller's ``depth`` or else the innovation's adoption count (no simple
path is longer), so the walk stops even if a cycle ever slipped past the triggers.

Every row carries the node's own learned-from links as arrays (``source_ids``,
``source_channels``, ``source_ons``): edges are those links whose source is also a node, so
the graph needs no second query and never a query per node.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

# A graph larger than this is refused with a problem saying how to narrow it, never cut.
MAX_NODES = 20_000


class NodeRow(msgspec.Struct, kw_only=True):
    """One adoption as the graph statements return it (internal)."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    stage: str
    started_on: dt.date
    is_origin: bool
    generation: int
    site_code: str
    site_name: str
    site_kind: str
    region_code: str | None
    icb_code: str | None
    latitude: float | None
    longitude: float | None
    adaptation_count: int
    source_ids: list[uuid.UUID]
    source_channels: list[str]
    source_ons: list[dt.date | None]
    steps_up: int | None = None
    steps_down: int | None = None


class InnovationMeta(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: str
    adoption_count: int
    core_components: list[dict[str, object]]


class AdoptionMeta(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    innovation_id: uuid.UUID
    adoption_count: int
    core_components: list[dict[str, object]]


class AdaptationRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    adoption_id: uuid.UUID
    description: str
    phase: str
    what_modified: str
    nature: str | None
    fidelity: str
    core_component_keys: list[str]
    made_on: dt.date | None
    created_at: dt.datetime


class FamilyRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: str
    derived_from_id: uuid.UUID | None
    adoption_count: int
    derived_from_adoption_id: uuid.UUID | None
    derivation_site_code: str | None
    derivation_site_name: str | None
    steps_up: int | None


INNOVATION_META = """
SELECT i.id, i.title, i.adoption_count, i.core_components
FROM innovations i
WHERE i.id = $1
"""

ADOPTION_META = """
SELECT a.id, a.innovation_id, i.adoption_count, i.core_components
FROM adoptions a
JOIN innovations i ON i.id = a.innovation_id
WHERE a.id = $1
"""

# The node columns every graph statement ends with; ``n`` has (id, generation[, steps...]).
_NODE_COLUMNS = """
    n.id, a.innovation_id, a.stage, a.started_on, a.is_origin, n.generation,
    st.code AS site_code, st.name AS site_name, st.kind AS site_kind, st.region_code, st.icb_code,
    st.latitude, st.longitude,
    (SELECT count(*) FROM adaptations ad WHERE ad.adoption_id = n.id)::int AS adaptation_count,
    coalesce(src.ids, '{}') AS source_ids,
    coalesce(src.channels, '{}') AS source_channels,
    coalesce(src.ons, '{}') AS source_ons
"""

_NODE_JOINS = """
JOIN adoptions a ON a.id = n.id
JOIN sites st ON st.code = a.site_code
LEFT JOIN LATERAL (
    SELECT array_agg(s.source_adoption_id ORDER BY s.source_adoption_id) AS ids,
           array_agg(s.channel ORDER BY s.source_adoption_id) AS channels,
           array_agg(s.learned_on ORDER BY s.source_adoption_id) AS ons
    FROM adoption_sources s
    WHERE s.adoption_id = n.id
) src ON true
"""

# The generation walk over one innovation ($1), capped at $2 generations. Roots: adoptions
# with no source among the innovation's own adoptions (a source in an ancestor innovation
# does not count: that is where the idea came in, generation 0).
_WALK = """
walk (id, generation) AS (
    SELECT a.id, 1
    FROM adoptions a
    WHERE a.innovation_id = $1
      AND NOT EXISTS (
          SELECT 1
          FROM adoption_sources s
          JOIN adoptions src ON src.id = s.source_adoption_id
          WHERE s.adoption_id = a.id AND src.innovation_id = $1)
    UNION
    SELECT s.adoption_id, w.generation + 1
    FROM walk w
    JOIN adoption_sources s ON s.source_adoption_id = w.id
    JOIN adoptions l ON l.id = s.adoption_id
    WHERE l.innovation_id = $1 AND w.generation < $2
),
gens AS (
    SELECT w.id, min(w.generation) AS generation FROM walk w GROUP BY w.id
)"""

# $1 innovation, $2 depth cap, $3 stage, $4 region, $5 since, $6 row limit.
# Filters pick nodes; generations stay those of the whole spread.
INNOVATION_GRAPH = f"""
WITH RECURSIVE
{_WALK},
kept AS (
    SELECT g.id, g.generation
    FROM gens g
    JOIN adoptions a ON a.id = g.id
    JOIN sites st ON st.code = a.site_code
    WHERE ($3::text IS NULL OR a.stage = $3)
      AND ($4::text IS NULL OR st.region_code = $4)
      AND ($5::date IS NULL OR a.started_on >= $5)
),
entry AS (
    SELECT DISTINCT s.source_adoption_id AS id, 0 AS generation
    FROM kept k
    JOIN adoption_sources s ON s.adoption_id = k.id
    JOIN adoptions src ON src.id = s.source_adoption_id
    WHERE src.innovation_id <> $1
),
n AS (
    SELECT id, generation FROM kept
    UNION ALL
    SELECT id, generation FROM entry
)
SELECT {_NODE_COLUMNS}
FROM n
{_NODE_JOINS}
ORDER BY n.generation, a.started_on, n.id
LIMIT $6
"""

# Upstream of adoption $3 (innovation $1, cycle cap $2): every ancestor, each with its fewest
# steps from the adoption; sources in an ancestor innovation are included but not walked
# further. Generations are computed within that closure, which holds every path to a root,
# so they equal the generations of the whole spread.
ADOPTION_UPSTREAM = f"""
WITH RECURSIVE
up (id, steps) AS (
    SELECT $3::uuid, 0
    UNION
    SELECT s.source_adoption_id, u.steps + 1
    FROM up u
    JOIN adoptions a ON a.id = u.id
    JOIN adoption_sources s ON s.adoption_id = u.id
    WHERE a.innovation_id = $1 AND u.steps < $2
),
anc AS (
    SELECT u.id, min(u.steps) AS steps, bool_and(a.innovation_id = $1) AS own
    FROM up u
    JOIN adoptions a ON a.id = u.id
    GROUP BY u.id
),
walk (id, generation) AS (
    SELECT c.id, 1
    FROM anc c
    WHERE c.own
      AND NOT EXISTS (
          SELECT 1 FROM adoption_sources s JOIN anc c2 ON c2.id = s.source_adoption_id AND c2.own
          WHERE s.adoption_id = c.id)
    UNION
    SELECT s.adoption_id, w.generation + 1
    FROM walk w
    JOIN adoption_sources s ON s.source_adoption_id = w.id
    JOIN anc c ON c.id = s.adoption_id AND c.own
    WHERE w.generation < $2
),
gens AS (
    SELECT w.id, min(w.generation) AS generation FROM walk w GROUP BY w.id
),
n AS (
    SELECT c.id, coalesce(g.generation, 0) AS generation, c.steps AS steps_up, NULL::int AS steps_down
    FROM anc c
    LEFT JOIN gens g ON g.id = c.id
)
SELECT {_NODE_COLUMNS}, n.steps_up, n.steps_down
FROM n
{_NODE_JOINS}
ORDER BY n.generation, a.started_on, n.id
LIMIT $4
"""

# Around adoption $3 (innovation $1, cycle cap $2): its descendants within the innovation up
# to $6 steps and, when $5, its whole upstream closure too; generations from the walk over the
# whole innovation (a descendant's other sources may lie anywhere in the spread).
ADOPTION_AROUND = f"""
WITH RECURSIVE
{_WALK},
down (id, steps) AS (
    SELECT $3::uuid, 0
    UNION
    SELECT s.adoption_id, d.steps + 1
    FROM down d
    JOIN adoption_sources s ON s.source_adoption_id = d.id
    JOIN adoptions l ON l.id = s.adoption_id
    WHERE l.innovation_id = $1 AND d.steps < $6
),
up (id, steps) AS (
    SELECT $3::uuid, 0 WHERE $5
    UNION
    SELECT s.source_adoption_id, u.steps + 1
    FROM up u
    JOIN adoptions a ON a.id = u.id
    JOIN adoption_sources s ON s.adoption_id = u.id
    WHERE a.innovation_id = $1 AND u.steps < $2
),
ups AS (SELECT u.id, min(u.steps) AS steps FROM up u GROUP BY u.id),
downs AS (SELECT d.id, min(d.steps) AS steps FROM down d GROUP BY d.id),
n AS (
    SELECT coalesce(ups.id, downs.id) AS id, coalesce(g.generation, 0) AS generation,
           ups.steps AS steps_up, downs.steps AS steps_down
    FROM ups
    FULL JOIN downs ON downs.id = ups.id
    LEFT JOIN gens g ON g.id = coalesce(ups.id, downs.id)
)
SELECT {_NODE_COLUMNS}, n.steps_up, n.steps_down
FROM n
{_NODE_JOINS}
ORDER BY n.generation, a.started_on, n.id
LIMIT $4
"""

ADAPTATIONS_OF = """
SELECT ad.id, ad.adoption_id, ad.description, ad.phase, ad.what_modified, ad.nature, ad.fidelity,
       ad.core_component_keys, ad.made_on, ad.created_at
FROM adaptations ad
WHERE ad.adoption_id = ANY($1::uuid[])
ORDER BY ad.made_on NULLS LAST, ad.created_at, ad.id
"""

# The innovation's ancestors (derivedFrom chain) and descendants, in one walk each way;
# UNION plus a cap keeps both finite even if the family ever held a cycle.
FAMILY = """
WITH RECURSIVE
up (id, steps) AS (
    SELECT i.id, 0 FROM innovations i WHERE i.id = $1
    UNION
    SELECT i.derived_from_id, u.steps + 1
    FROM up u
    JOIN innovations i ON i.id = u.id
    WHERE i.derived_from_id IS NOT NULL AND u.steps < $2
),
down (id, steps) AS (
    SELECT i.id, 0 FROM innovations i WHERE i.id = $1
    UNION
    SELECT i.id, d.steps + 1
    FROM down d
    JOIN innovations i ON i.derived_from_id = d.id
    WHERE d.steps < $2
),
members AS (
    SELECT m.id, max(m.steps_up) AS steps_up
    FROM (SELECT id, steps AS steps_up FROM up UNION ALL SELECT id, NULL::int FROM down) m
    GROUP BY m.id
)
SELECT i.id, i.title, i.derived_from_id, i.adoption_count, i.derived_from_adoption_id,
       st.code AS derivation_site_code, st.name AS derivation_site_name, m.steps_up
FROM members m
JOIN innovations i ON i.id = m.id
LEFT JOIN adoptions a ON a.id = i.derived_from_adoption_id
LEFT JOIN sites st ON st.code = a.site_code
ORDER BY i.created_at, i.id
LIMIT $3
"""
FAMILY_CAP = 200  # generations of derivation walked each way
MAX_FAMILY = 5_000


def _node(r: asyncpg.Record) -> NodeRow:
    return NodeRow(
        id=r[0],
        innovation_id=r[1],
        stage=r[2],
        started_on=r[3],
        is_origin=r[4],
        generation=r[5],
        site_code=r[6],
        site_name=r[7],
        site_kind=r[8],
        region_code=r[9],
        icb_code=r[10],
        latitude=r[11],
        longitude=r[12],
        adaptation_count=r[13],
        source_ids=r[14],
        source_channels=r[15],
        source_ons=r[16],
        steps_up=r[17] if len(r) > 17 else None,
        steps_down=r[18] if len(r) > 18 else None,
    )


async def innovation_meta(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> InnovationMeta | None:
    row = await conn.fetchrow(INNOVATION_META, innovation_id)
    return None if row is None else msgspec.convert(dict(row), InnovationMeta)


async def adoption_meta(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionMeta | None:
    row = await conn.fetchrow(ADOPTION_META, adoption_id)
    return None if row is None else msgspec.convert(dict(row), AdoptionMeta)


def walk_cap(adoption_count: int, depth: int | None) -> int:
    """The walk's generation cap: the depth asked for, else the longest possible simple path."""
    return depth if depth is not None else max(adoption_count, 1)


async def innovation_graph(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    *,
    cap: int,
    stage: str | None,
    region: str | None,
    since: dt.date | None,
) -> list[NodeRow]:
    rows = await conn.fetch(INNOVATION_GRAPH, innovation_id, cap, stage, region, since, MAX_NODES + 1)
    return [_node(r) for r in rows]


async def adoption_graph(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    adoption_id: uuid.UUID,
    *,
    cap: int,
    depth: int | None,
    upstream: bool,
    downstream: bool,
) -> list[NodeRow]:
    if downstream:
        rows = await conn.fetch(ADOPTION_AROUND, innovation_id, cap, adoption_id, MAX_NODES + 1, upstream, depth or cap)
    else:
        rows = await conn.fetch(ADOPTION_UPSTREAM, innovation_id, cap, adoption_id, MAX_NODES + 1)
    return [_node(r) for r in rows]


async def adaptations_of(conn: asyncpg.Connection, adoption_ids: list[uuid.UUID]) -> list[AdaptationRow]:
    rows = await conn.fetch(ADAPTATIONS_OF, adoption_ids)
    return [msgspec.convert(dict(r), AdaptationRow) for r in rows]


async def family(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> list[FamilyRow]:
    rows = await conn.fetch(FAMILY, innovation_id, FAMILY_CAP, MAX_FAMILY + 1)
    return [msgspec.convert(dict(r), FamilyRow) for r in rows]
