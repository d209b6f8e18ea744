"""SQL for adoptions and their learned-from sources. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from service.adoptions.schemas import Adoption

# An adoption with its sources, stage history and adaptation count, in one statement.
# Nested keys are camelCase because msgspec reads nested dicts by their wire names.
_SELECT = """
SELECT a.id, a.innovation_id, a.site_code, s.name AS site_name, a.stage, a.started_on, a.is_origin,
       a.notes, a.discontinued_reason, a.external_id, p.name AS partner, a.created_at, a.updated_at, a.version,
       a.discontinued_criterion, a.discontinued_outcome,
       CASE WHEN a.replaced_by_innovation_id IS NOT NULL
            THEN json_build_object('innovationId', a.replaced_by_innovation_id,
                                   'adoptionId', a.replaced_by_adoption_id) END AS replaced_by,
       coalesce((SELECT json_agg(json_build_object('adoptionId', src.source_adoption_id, 'channel', src.channel,
                                                   'on', src.learned_on, 'siteCode', sa.site_code)
                                 ORDER BY sa.started_on, src.source_adoption_id)
                   FROM adoption_sources src JOIN adoptions sa ON sa.id = src.source_adoption_id
                  WHERE src.adoption_id = a.id), '[]') AS sources,
       coalesce((SELECT json_agg(json_build_object('stage', h.stage, 'on', h.on_date, 'reason', h.reason)
                                 ORDER BY h.id)
                   FROM adoption_stages h WHERE h.adoption_id = a.id), '[]') AS stage_history,
       (SELECT count(*) FROM adaptations ad WHERE ad.adoption_id = a.id)::int AS adaptation_count
FROM adoptions a
JOIN sites s ON s.code = a.site_code
LEFT JOIN partners p ON p.id = a.partner_id
"""

GET_ADOPTION = _SELECT + "WHERE a.id = $1"


async def get_adoption(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> tuple[Adoption, int] | None:
    row = await conn.fetchrow(GET_ADOPTION, adoption_id)
    if row is None:
        return None
    return msgspec.convert(row, Adoption), row["version"]


GET_ADOPTIONS = _SELECT + "WHERE a.id = ANY($1::uuid[])"


async def get_adoptions(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[Adoption]:
    """Several adoptions in one statement (``expand=``), in no particular order."""
    rows = await conn.fetch(GET_ADOPTIONS, ids)
    return [msgspec.convert(row, Adoption) for row in rows]


# Keyset on (started_on, id) within one innovation: adoptions_innovation_idx.
LIST_ADOPTIONS = (
    _SELECT
    + """
WHERE a.innovation_id = $1
  AND ($2::text IS NULL OR a.stage = $2)
  AND ($3::text IS NULL OR s.region_code = $3)
  AND ($4::text IS NULL OR s.icb_code = $4)
  AND ($5::text IS NULL OR a.site_code = $5)
  AND ($6::date IS NULL OR a.started_on >= $6)
  AND ($7::date IS NULL OR (a.started_on, a.id) > ($7, $8::uuid))
ORDER BY a.started_on, a.id
LIMIT $9
"""
)


async def list_adoptions(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    filters: dict[str, Any],
    after: tuple[dt.date, uuid.UUID] | None,
    limit: int,
) -> list[Adoption]:
    rows = await conn.fetch(
        LIST_ADOPTIONS,
        innovation_id,
        filters.get("stage"),
        filters.get("region"),
        filters.get("icb"),
        filters.get("site"),
        filters.get("since"),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(r, Adoption) for r in rows]


# What the write rules need about an adoption, and about each proposed source.
# Inside a write: FOR UPDATE serialises writes to one adoption (its stage, dates, sources).
ADOPTION_META = """
SELECT a.id, a.innovation_id, a.site_code, a.stage, a.started_on, a.version, a.is_origin, a.partner_id,
       a.discontinued_outcome
FROM adoptions a WHERE a.id = $1
FOR UPDATE
"""


class AdoptionFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an adoption's write rules need (fetched FOR UPDATE)."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    stage: str
    started_on: dt.date
    version: int
    is_origin: bool
    partner_id: uuid.UUID | None
    discontinued_outcome: str | None = None


async def adoption_meta(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionFacts | None:
    row = await conn.fetchrow(ADOPTION_META, adoption_id)
    return None if row is None else msgspec.convert(row, AdoptionFacts)


SOURCES_META = """
SELECT a.id, a.innovation_id, a.started_on,
       a.innovation_id IN (SELECT f.id FROM spread_innovation_family_up($2) AS f) AS in_family
FROM adoptions a WHERE a.id = ANY($1::uuid[])
"""


class SourceFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A proposed source adoption: when it started, and whether it is of the learner's family."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    started_on: dt.date
    in_family: bool


async def sources_meta(
    conn: asyncpg.Connection, source_ids: list[uuid.UUID], innovation_id: uuid.UUID
) -> dict[uuid.UUID, SourceFacts]:
    rows = await conn.fetch(SOURCES_META, source_ids, innovation_id)
    return {r["id"]: msgspec.convert(r, SourceFacts) for r in rows}


OPEN_ADOPTION_AT = """
SELECT id FROM adoptions WHERE innovation_id = $1 AND site_code = $2 AND stage <> 'discontinued'
"""


async def open_adoption_at(conn: asyncpg.Connection, innovation_id: uuid.UUID, site_code: str) -> uuid.UUID | None:
    result: uuid.UUID | None = await conn.fetchval(OPEN_ADOPTION_AT, innovation_id, site_code)
    return result


INSERT_ADOPTION = """
INSERT INTO adoptions (innovation_id, site_code, stage, started_on, notes, discontinued_reason, external_id, partner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""


async def insert_adoption(conn: asyncpg.Connection, v: dict[str, Any]) -> uuid.UUID:
    result: uuid.UUID = await conn.fetchval(
        INSERT_ADOPTION,
        v["innovation_id"],
        v["site_code"],
        v["stage"],
        v["started_on"],
        v["notes"],
        v["discontinued_reason"],
        v["external_id"],
        v["partner_id"],
    )
    return result


INSERT_SOURCES = """
INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel, learned_on)
SELECT $1, src, ch, d FROM unnest($2::uuid[], $3::text[], $4::date[]) AS u(src, ch, d)
"""


async def insert_sources(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, sources: list[tuple[uuid.UUID, str, dt.date | None]]
) -> None:
    if not sources:
        return
    await conn.execute(
        INSERT_SOURCES,
        adoption_id,
        [s[0] for s in sources],
        [s[1] for s in sources],
        [s[2] for s in sources],
    )


DELETE_SOURCE = "DELETE FROM adoption_sources WHERE adoption_id = $1 AND source_adoption_id = $2 RETURNING id"


async def delete_source(conn: asyncpg.Connection, adoption_id: uuid.UUID, source_id: uuid.UUID) -> bool:
    return await conn.fetchval(DELETE_SOURCE, adoption_id, source_id) is not None


UPDATE_ADOPTION = """
UPDATE adoptions AS a SET
    stage = CASE WHEN $2 THEN $3 ELSE a.stage END,
    started_on = CASE WHEN $4 THEN $5::date ELSE a.started_on END,
    notes = CASE WHEN $6 THEN $7 ELSE a.notes END,
    discontinued_reason = CASE WHEN $8 THEN $9 ELSE a.discontinued_reason END,
    external_id = CASE WHEN $10 THEN $11 ELSE a.external_id END,
    discontinued_criterion = CASE WHEN $12 THEN $13 ELSE a.discontinued_criterion END,
    discontinued_outcome = CASE WHEN $14 THEN $15 ELSE a.discontinued_outcome END,
    replaced_by_innovation_id = CASE WHEN $16 THEN $17::uuid ELSE a.replaced_by_innovation_id END,
    replaced_by_adoption_id = CASE WHEN $18 THEN $19::uuid ELSE a.replaced_by_adoption_id END,
    updated_at = now(),
    version = a.version + 1
WHERE a.id = $1 AND ($20::int[] IS NULL OR a.version = ANY($20::int[]))
RETURNING a.id
"""


async def update_adoption(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, changes: dict[str, Any], expected_versions: list[int] | None
) -> bool:
    args: list[Any] = [adoption_id]
    for field in (
        "stage",
        "started_on",
        "notes",
        "discontinued_reason",
        "external_id",
        "discontinued_criterion",
        "discontinued_outcome",
        "replaced_by_innovation_id",
        "replaced_by_adoption_id",
    ):
        args.extend([field in changes, changes.get(field)])
    args.append(expected_versions)
    return await conn.fetchval(UPDATE_ADOPTION, *args) is not None


EXISTS = "SELECT EXISTS (SELECT 1 FROM adoptions WHERE id = $1)"


async def exists(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(EXISTS, adoption_id))


class SiteAdoption(msgspec.Struct, frozen=True, kw_only=True):
    """An adoption of some innovation at a site (for ``replacedBy``)."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str


# The site's adoptions of an innovation, open ones first, then the latest.
SITE_ADOPTIONS_OF = """
SELECT a.id, a.innovation_id, a.site_code FROM adoptions a
WHERE a.innovation_id = $1 AND a.site_code = $2
ORDER BY a.stage = 'discontinued', a.started_on DESC, a.id
"""
ADOPTION_AT = "SELECT a.id, a.innovation_id, a.site_code FROM adoptions a WHERE a.id = $1"


async def site_adoptions_of(conn: asyncpg.Connection, innovation_id: uuid.UUID, site_code: str) -> list[SiteAdoption]:
    rows = await conn.fetch(SITE_ADOPTIONS_OF, innovation_id, site_code)
    return [msgspec.convert(r, SiteAdoption) for r in rows]


async def adoption_at(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> SiteAdoption | None:
    row = await conn.fetchrow(ADOPTION_AT, adoption_id)
    return None if row is None else msgspec.convert(row, SiteAdoption)
