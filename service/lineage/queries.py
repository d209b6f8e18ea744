"""SQL for lineage. Records never leave this module.

Each graph comes from ONE statement, bounded as it reads: it never produces more than
``MAX_WALK`` distinct adoptions or ``MAX_LINKS`` learned-from links, so a dense graph (every
adoption learning from many earlier ones) costs what its size costs, and a graph past either
bound is refused, not cut. Generations and steps are computed in Python by breadth-first
searches over the rows (``service.lineage.graph``): linear in the graph, where a recursive
walk over (adoption, generation) pairs grows with the number of paths (roughly N² pairs in a
dense graph) before any limit applies.

- The spread of an innovation is simply its adoptions: in a DAG every adoption is reached from
  a root (an adoption with no source among the innovation's own), and a path cannot leave the
  innovation and come back (a source belongs to its learner's own family line). The statement
  reads them by the innovation's index, with their links and the adoptions of other
  (ancestor) innovations they learned from, with those adoptions' links.
- Upstream of one adoption is a recursive walk over adoption ids only: ``UNION`` keeps each
  adoption once (the way the learned-from trigger walks), and the ``LIMIT`` of the CTE that
  reads it stops the recursion once past the bound. Sources in an ancestor innovation are
  included but not walked further.

A statement returns node rows and link rows in one result (``UNION ALL``; a link row has
``source`` set). Ordering is left to Python.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.vocab import Fidelity, Phase, WhatModified

# A graph larger than this is refused with a problem saying how to narrow it, never cut.
MAX_NODES = 20_000
# What one statement may read, whatever the filters: distinct adoptions and learned-from links.
MAX_WALK = 50_000
MAX_LINKS = 250_000


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
    """Node rows (``generation`` is 0 until the graph module computes it) and link rows;
    ``over`` when the statement stopped at ``MAX_WALK`` or ``MAX_LINKS``."""

    nodes: list[NodeRow]
    links: list[LinkRow]
    over: bool = False


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
    phase: Phase
    what_modified: WhatModified
    nature: str | None
    fidelity: Fidelity
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

_SITE_COLUMNS = """st.code AS site_code, st.name AS site_name, st.kind AS site_kind, st.region_code, st.icb_code,
           st.latitude, st.longitude"""

# ``nodes`` (id, innovation_id, stage, started_on, is_origin, site...) and ``links`` ->
# node rows (with their adaptation counts), then link rows. ``generation`` and the steps are
# placeholders the graph module fills in.
_OUTPUT = """
adapted AS (
    SELECT ad.adoption_id AS id, count(*)::int AS n
    FROM adaptations ad
    WHERE ad.adoption_id IN (SELECT x.id FROM nodes x)
    GROUP BY ad.adoption_id
)
SELECT x.id, x.innovation_id, x.stage, x.started_on, x.is_origin, 0 AS generation,
       x.site_code, x.site_name, x.site_kind, x.region_code, x.icb_code, x.latitude, x.longitude,
       coalesce(ad.n, 0) AS adaptation_count, NULL::int AS steps_up, NULL::int AS steps_down,
       NULL::uuid AS source, NULL::text AS channel, NULL::date AS learned_on
FROM nodes x
LEFT JOIN adapted ad ON ad.id = x.id
UNION ALL
SELECT l.adoption_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       l.source_adoption_id, l.channel, l.learned_on
FROM links l
"""


# $1 innovation, $2 adoption bound (MAX_WALK + 1), $3 link bound (MAX_LINKS + 1). The
# innovation's adoptions by its index; ``outside``: the adoptions of other (ancestor)
# innovations they learned from, whose own links are read too (an edge between two of them
# shows when both are nodes).
def _spread(sites: str) -> str:
    return f"""
WITH
own AS MATERIALIZED (
    SELECT a.id FROM adoptions a WHERE a.innovation_id = $1 LIMIT $2
),
own_links AS MATERIALIZED (
    SELECT s.adoption_id, s.source_adoption_id, s.channel, s.learned_on
    FROM own o
    JOIN adoption_sources s ON s.adoption_id = o.id
    LIMIT $3
),
outside AS MATERIALIZED (
    SELECT DISTINCT a.id
    FROM own_links l
    JOIN adoptions a ON a.id = l.source_adoption_id
    WHERE a.innovation_id <> $1
),
links AS (
    SELECT l.adoption_id, l.source_adoption_id, l.channel, l.learned_on FROM own_links l
    UNION ALL
    SELECT s.adoption_id, s.source_adoption_id, s.channel, s.learned_on
    FROM outside o
    JOIN adoption_sources s ON s.adoption_id = o.id
),
nodes AS (
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, {_SITE_COLUMNS}
    FROM own o
    JOIN adoptions a ON a.id = o.id
    JOIN {sites} st ON st.code = a.site_code
    UNION ALL
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, {_SITE_COLUMNS}
    FROM outside o
    JOIN adoptions a ON a.id = o.id
    JOIN sites st ON st.code = a.site_code
),{_OUTPUT}"""


# The planner cannot see how many adoptions the innovation has and joins sites by index, one
# probe per node; for a large spread one hash join over the sites table is faster (measured
# 10 ms of 57 on 10,000 nodes). OFFSET 0 keeps the subquery from being flattened.
_SITES_BY_HASH = """(SELECT code, name, kind, region_code, icb_code, latitude, longitude FROM sites OFFSET 0)"""
LARGE_SPREAD = 2_000
SPREAD = _spread("sites")
SPREAD_LARGE = _spread(_SITES_BY_HASH)

# Upstream of adoption $2 (innovation $1): its ancestors, each walked once (``UNION`` over ids;
# ``own`` follows from the id), the walk stopped by the ``LIMIT $3`` that reads it; $4 bounds the
# links. Each step probes sources and their adoptions by key, so a step costs its new rows, not
# the innovation's size. Sources in an ancestor innovation are included but not walked further.
ADOPTION_UPSTREAM = f"""
WITH RECURSIVE
up (id, own) AS (
    SELECT $2::uuid, true
    UNION
    SELECT s.source_adoption_id, src.innovation_id = $1
    FROM up u
    JOIN adoption_sources s ON s.adoption_id = u.id
    JOIN adoptions src ON src.id = s.source_adoption_id
    WHERE u.own
),
closure AS MATERIALIZED (
    SELECT u.id FROM up u LIMIT $3
),
links AS MATERIALIZED (
    SELECT s.adoption_id, s.source_adoption_id, s.channel, s.learned_on
    FROM closure c
    JOIN adoption_sources s ON s.adoption_id = c.id
    LIMIT $4
),
nodes AS (
    SELECT a.id, a.innovation_id, a.stage, a.started_on, a.is_origin, {_SITE_COLUMNS}
    FROM closure c
    JOIN adoptions a ON a.id = c.id
    JOIN sites st ON st.code = a.site_code
),{_OUTPUT}"""

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


def _graph(records: list[asyncpg.Record], own_innovation: uuid.UUID | None = None) -> GraphRows:
    nodes: list[NodeRow] = []
    links: list[LinkRow] = []
    for r in records:
        if r[16] is None:
            nodes.append(NodeRow(*r[:16]))
        else:
            links.append(LinkRow(r[0], r[16], r[17], r[18]))
    own = sum(1 for n in nodes if n.innovation_id == own_innovation) if own_innovation else len(nodes)
    return GraphRows(nodes=nodes, links=links, over=own > MAX_WALK or len(links) > MAX_LINKS)


async def innovation_meta(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> InnovationMeta | None:
    row = await conn.fetchrow(INNOVATION_META, innovation_id)
    return None if row is None else msgspec.convert(dict(row), InnovationMeta)


async def adoption_meta(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionMeta | None:
    row = await conn.fetchrow(ADOPTION_META, adoption_id)
    return None if row is None else msgspec.convert(dict(row), AdoptionMeta)


async def spread(conn: asyncpg.Connection, innovation_id: uuid.UUID, *, adoption_count: int) -> GraphRows:
    """Every adoption of the innovation, the ancestor-innovation adoptions they learned from, and
    the links of all of them (at most ``MAX_WALK`` adoptions and about ``MAX_LINKS`` links)."""
    statement = SPREAD_LARGE if adoption_count > LARGE_SPREAD else SPREAD
    records = await conn.fetch(statement, innovation_id, MAX_WALK + 1, MAX_LINKS + 1)
    return _graph(records, innovation_id)


async def upstream(conn: asyncpg.Connection, innovation_id: uuid.UUID, adoption_id: uuid.UUID) -> GraphRows:
    """The adoption and every adoption upstream of it (at most ``MAX_WALK``), with their links."""
    records = await conn.fetch(ADOPTION_UPSTREAM, innovation_id, adoption_id, MAX_WALK + 1, MAX_LINKS + 1)
    return _graph(records)


async def adaptations_of(conn: asyncpg.Connection, adoption_ids: list[uuid.UUID]) -> list[AdaptationRow]:
    rows = await conn.fetch(ADAPTATIONS_OF, adoption_ids)
    return [msgspec.convert(dict(r), AdaptationRow) for r in rows]


async def family(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> list[FamilyRow]:
    rows = await conn.fetch(FAMILY, innovation_id, FAMILY_CAP, MAX_FAMILY + 1)
    return [msgspec.convert(dict(r), FamilyRow) for r in rows]


class SpreadVersion(msgspec.Struct, frozen=True):
    """What an innovation's spread answer was built from, summed: equal versions, equal answers."""

    rows: int
    digest: int


# $1 innovation, $2 adoption bound, $3 link bound: the rows SPREAD reads (bounded the same
# way), counted, and the transactions that last wrote them (``xmin``) summed, with the
# innovation row's own (its title goes into the Mermaid and PROV forms). Between two reads,
# any committed insert, update or delete among those rows changes the pair: a row written
# since carries an xid newer than every row it replaces, so with the count unchanged the
# sum can only grow. Reading it costs the walk without the rows leaving the server
# (service.lineage.cache).
SPREAD_VERSION = """
WITH
own AS MATERIALIZED (
    SELECT a.id, a.xmin, a.site_code FROM adoptions a WHERE a.innovation_id = $1 LIMIT $2
),
own_links AS MATERIALIZED (
    SELECT s.source_adoption_id, s.xmin
    FROM own o
    JOIN adoption_sources s ON s.adoption_id = o.id
    LIMIT $3
),
outside AS MATERIALIZED (
    SELECT DISTINCT a.id, a.xmin::text AS x, a.site_code
    FROM own_links l
    JOIN adoptions a ON a.id = l.source_adoption_id
    WHERE a.innovation_id <> $1
),
parts (x) AS (
    SELECT o.xmin::text FROM own o
    UNION ALL
    SELECT st.xmin::text FROM own o JOIN sites st ON st.code = o.site_code
    UNION ALL
    SELECT o.x FROM outside o
    UNION ALL
    SELECT st.xmin::text FROM outside o JOIN sites st ON st.code = o.site_code
    UNION ALL
    SELECT l.xmin::text FROM own_links l
    UNION ALL
    SELECT s.xmin::text FROM outside o JOIN adoption_sources s ON s.adoption_id = o.id
    UNION ALL
    SELECT ad.xmin::text
    FROM adaptations ad
    WHERE ad.adoption_id IN (SELECT o.id FROM own o UNION ALL SELECT o.id FROM outside o)
    UNION ALL
    SELECT i.xmin::text FROM innovations i WHERE i.id = $1
)
SELECT count(*)::int AS rows, coalesce(sum(p.x::bigint), 0)::bigint AS digest FROM parts p
"""


async def spread_version(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> SpreadVersion:
    """The version of an innovation's spread as :data:`SPREAD_VERSION` computes it."""
    row = await conn.fetchrow(SPREAD_VERSION, innovation_id, MAX_WALK + 1, MAX_LINKS + 1)
    assert row is not None  # an aggregate always answers one row
    return SpreadVersion(rows=row["rows"], digest=row["digest"])
