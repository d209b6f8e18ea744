"""SQL for lineage. Records never leave this module.

Each graph comes from ONE statement. A recursive CTE walks learned-from links from the roots
(``UNION`` over ``(adoption, generation)`` pairs, capped at a depth) and a node's generation is
the smallest generation the walk reached it at, which is 1 + the smallest generation of its
sources. The cap is the caller's ``depth`` or else the innovation's adoption count (no simple
path is longer), so the walk ends even if a cycle ever slipped past the triggers.

The walk follows links on the base tables (index scans), not through CTEs: measured, a
recursive step joined to a materialised CTE was several times slower. It does not check
that a learner belongs to the innovation; learners in derived innovations are walked and
then dropped by the final filter. A path cannot come back into the innovation, since a source
must belong to the learner's own family line, so the generations are unaffected.

A statement returns node rows and link rows in one result (``UNION ALL``; a link row has
``source`` set): the links are those of every node, and the edges are the links whose source
is a node too. Ordering is left to Python.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

# A graph larger than this is refused with a problem saying how to narrow it, never cut.
MAX_NODES = 20_000


class NodeRow(msgspec.Struct, gc=False):
    """One adoption in a graph (internal). ``steps_up``/``steps_down``: fewest steps from the
    adoption an adoption lineage is about (None when not on that side)."""

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
    steps_up: int | None = None
    steps_down: int | None = None


class LinkRow(msgspec.Struct, gc=False):
    """A learned-from link: ``learner`` learned from ``source`` (internal)."""

    learner: uuid.UUID
    source: uuid.UUID
    channel: str
    on: dt.date | None


class GraphRows(msgspec.Struct):
    nodes: list[NodeRow]
    links: list[LinkRow]


class InnovationMeta(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: str
    adoption_count: int
    core_components: list[dict[str, object]]


class AdoptionMeta(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    innovation_id: uuid.UUID
    title: str
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
SELECT a.id, a.innovation_id, i.title, i.adoption_count, i.core_components
FROM adoptions a
JOIN innovations i ON i.id = a.innovation_id
WHERE a.id = $1
"""

# Roots: adoptions with no source among the innovation's own adoptions (a source in an
# ancestor innovation does not count: that is where the idea came in, generation 0).
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
    WHERE w.generation < $2
),
gens AS (
    SELECT w.id, min(w.generation) AS generation FROM walk w GROUP BY w.id
)"""

_SITE_COLUMNS = """st.code AS site_code, st.name AS site_name, st.kind AS site_kind, st.region_code, st.icb_code,
           st.latitude, st.longitude"""

# ``nodes`` (id, innovation_id, stage, started_on, is_origin, generation, site..., steps_up,
# steps_down) and ``adapted`` (id, n) -> node rows, then the links of every node.
_OUTPUT = """
links AS (
    SELECT s.adoption_id, s.source_adoption_id, s.channel, s.learned_on
    FROM nodes x
    JOIN adoption_sources s ON s.adoption_id = x.id
)
SELECT x.id, x.innovation_id, x.stage, x.started_on, x.is_origin, x.generation,
       x.site_code, x.site_name, x.site_kind, x.region_code, x.icb_code, x.latitude, x.longitude,
       coalesce(ad.n, 0) AS adaptation_count, x.steps_up, x.steps_down,
       NULL::uuid AS source, NULL::text AS channel, NULL::date AS learned_on
FROM nodes x
LEFT JOIN adapted ad ON ad.id = x.id
UNION ALL
SELECT l.adoption_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       l.source_adoption_id, l.channel, l.learned_on
FROM links l
"""

# Adaptation counts by the innovation's index, plus those of the few nodes of other innovations.
_ADAPTED_BY_INNOVATION = """
adapted AS (
    SELECT ad.adoption_id AS id, count(*)::int AS n
    FROM adaptations ad
    WHERE ad.innovation_id = $1
       OR ad.adoption_id IN (SELECT x.id FROM nodes x WHERE x.innovation_id <> $1)
    GROUP BY ad.adoption_id
),"""


# $1 innovation, $2 depth cap, $3 stage, $4 region, $5 since, $6 node limit.
# Filters pick nodes; generations stay those of the whole spread.
def _innovation_graph(sites: str) -> str:
    return (
        "WITH RECURSIVE"
        + _WALK
        + f""",
kept AS MATERIALIZED (
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, g.generation, {_SITE_COLUMNS},
           NULL::int AS steps_up, NULL::int AS steps_down
    FROM gens g
    JOIN adoptions a ON a.id = g.id
    JOIN {sites} st ON st.code = a.site_code
    WHERE a.innovation_id = $1
      AND ($3::text IS NULL OR a.stage = $3)
      AND ($4::text IS NULL OR st.region_code = $4)
      AND ($5::date IS NULL OR a.started_on >= $5)
    LIMIT $6
),
nodes AS (
    SELECT k.id, k.innovation_id, k.stage, k.started_on, k.is_origin, k.generation, k.site_code, k.site_name,
           k.site_kind, k.region_code, k.icb_code, k.latitude, k.longitude, k.steps_up, k.steps_down
    FROM kept k
    UNION ALL
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, 0, {_SITE_COLUMNS}, NULL::int, NULL::int
    FROM adoptions a
    JOIN sites st ON st.code = a.site_code
    WHERE a.innovation_id <> $1
      AND a.id IN (SELECT s.source_adoption_id FROM kept k JOIN adoption_sources s ON s.adoption_id = k.id)
),"""
        + _ADAPTED_BY_INNOVATION
        + _OUTPUT
    )


# The planner cannot see how many adoptions the walk yields and joins sites by index, one
# probe per node; for a large spread one hash join over the sites table is faster (measured
# 10 ms of 57 on 10,000 nodes). OFFSET 0 keeps the subquery from being flattened.
_SITES_BY_HASH = """(SELECT code, name, kind, region_code, icb_code, latitude, longitude FROM sites OFFSET 0)"""
LARGE_SPREAD = 2_000
INNOVATION_GRAPH = _innovation_graph("sites")
INNOVATION_GRAPH_LARGE = _innovation_graph(_SITES_BY_HASH)

# Upstream of adoption $3 (innovation $1, cycle cap $2, node limit $4): every ancestor with its
# fewest steps from the adoption; sources in an ancestor innovation are included but not
# walked further. Generations are computed within that closure, which holds every path to a
# root, so they equal the generations of the whole spread. Closures are small: the recursive
# step may join the closure CTE here.
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
closure AS MATERIALIZED (
    SELECT u.id, min(u.steps) AS steps FROM up u GROUP BY u.id LIMIT $4
),
own AS MATERIALIZED (
    SELECT c.id FROM closure c JOIN adoptions a ON a.id = c.id WHERE a.innovation_id = $1
),
walk (id, generation) AS (
    SELECT o.id, 1
    FROM own o
    WHERE NOT EXISTS (
        SELECT 1 FROM adoption_sources s JOIN own o2 ON o2.id = s.source_adoption_id WHERE s.adoption_id = o.id)
    UNION
    SELECT s.adoption_id, w.generation + 1
    FROM walk w
    JOIN adoption_sources s ON s.source_adoption_id = w.id
    JOIN own o ON o.id = s.adoption_id
    WHERE w.generation < $2
),
gens AS (
    SELECT w.id, min(w.generation) AS generation FROM walk w GROUP BY w.id
),
nodes AS (
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, coalesce(g.generation, 0) AS generation,
           {_SITE_COLUMNS}, c.steps AS steps_up, NULL::int AS steps_down
    FROM closure c
    JOIN adoptions a ON a.id = c.id
    JOIN sites st ON st.code = a.site_code
    LEFT JOIN gens g ON g.id = c.id
),
adapted AS (
    SELECT x.id, (SELECT count(*) FROM adaptations ad WHERE ad.adoption_id = x.id)::int AS n FROM nodes x
),{_OUTPUT}"""

# Around adoption $3 (innovation $1, cycle cap $2, node limit $4): its descendants within the
# innovation up to $6 steps and, when $5, its whole upstream closure too; generations from the
# walk over the whole innovation (a descendant's other sources may lie anywhere in the spread).
ADOPTION_AROUND = (
    "WITH RECURSIVE"
    + _WALK
    + f""",
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
reach AS MATERIALIZED (
    SELECT coalesce(ups.id, downs.id) AS id, ups.steps AS steps_up, downs.steps AS steps_down
    FROM (SELECT u.id, min(u.steps) AS steps FROM up u GROUP BY u.id) ups
    FULL JOIN (SELECT d.id, min(d.steps) AS steps FROM down d GROUP BY d.id) downs ON downs.id = ups.id
    LIMIT $4
),
nodes AS MATERIALIZED (
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, coalesce(g.generation, 0) AS generation,
           {_SITE_COLUMNS}, r.steps_up, r.steps_down
    FROM reach r
    JOIN adoptions a ON a.id = r.id
    JOIN sites st ON st.code = a.site_code
    LEFT JOIN gens g ON g.id = r.id AND a.innovation_id = $1
),"""
    + _ADAPTED_BY_INNOVATION
    + _OUTPUT
)

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


def _graph(records: list[asyncpg.Record]) -> GraphRows:
    nodes: list[NodeRow] = []
    links: list[LinkRow] = []
    for r in records:
        if r[16] is None:
            nodes.append(NodeRow(*r[:16]))
        else:
            links.append(LinkRow(r[0], r[16], r[17], r[18]))
    return GraphRows(nodes=nodes, links=links)


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
    adoption_count: int,
    cap: int,
    stage: str | None,
    region: str | None,
    since: dt.date | None,
) -> GraphRows:
    statement = INNOVATION_GRAPH_LARGE if adoption_count > LARGE_SPREAD else INNOVATION_GRAPH
    records = await conn.fetch(statement, innovation_id, cap, stage, region, since, MAX_NODES + 1)
    return _graph(records)


async def adoption_graph(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    adoption_id: uuid.UUID,
    *,
    cap: int,
    depth: int | None,
    upstream: bool,
    downstream: bool,
) -> GraphRows:
    if downstream:
        records = await conn.fetch(
            ADOPTION_AROUND, innovation_id, cap, adoption_id, MAX_NODES + 1, upstream, depth or cap
        )
    else:
        records = await conn.fetch(ADOPTION_UPSTREAM, innovation_id, cap, adoption_id, MAX_NODES + 1)
    return _graph(records)


async def adaptations_of(conn: asyncpg.Connection, adoption_ids: list[uuid.UUID]) -> list[AdaptationRow]:
    rows = await conn.fetch(ADAPTATIONS_OF, adoption_ids)
    return [msgspec.convert(dict(r), AdaptationRow) for r in rows]


async def family(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> list[FamilyRow]:
    rows = await conn.fetch(FAMILY, innovation_id, FAMILY_CAP, MAX_FAMILY + 1)
    return [msgspec.convert(dict(r), FamilyRow) for r in rows]
