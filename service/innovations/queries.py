"""SQL for innovations. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from service.innovations.schemas import Innovation

COLUMNS = """
    i.id, i.slug, i.title, i.summary, i.description, i.category, i.care_settings, i.themes,
    i.evidence_level, i.origin_site_code, i.originated_on, i.core_components, i.links, i.contacts,
    i.status, i.derived_from_id, i.derived_from_adoption_id, i.is_demo, i.adoption_count, i.site_count,
    i.created_at, i.updated_at, i.version
"""

GET_INNOVATION = f"SELECT {COLUMNS} FROM innovations i WHERE i.id = $1"


async def get_innovation(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> tuple[Innovation, int] | None:
    row = await conn.fetchrow(GET_INNOVATION, innovation_id)
    if row is None:
        return None
    return msgspec.convert(row, Innovation), row["version"]


GET_INNOVATIONS = f"SELECT {COLUMNS} FROM innovations i WHERE i.id = ANY($1::uuid[])"


async def get_innovations(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[Innovation]:
    """Several innovations in one statement (``expand=``), in no particular order."""
    rows = await conn.fetch(GET_INNOVATIONS, ids)
    return [msgspec.convert(row, Innovation) for row in rows]


# Filters shared by every sort order. `region` means "adopted at a site in that region": the
# regions are kept on the innovation by the adoptions trigger (innovations_region_codes_idx),
# because a semi-join over adoptions was the list's bottleneck in bench/registry.py.
_FILTERS = """
      ($1::text IS NULL OR i.category = $1)
  AND ($2::text IS NULL OR i.themes @> ARRAY[$2::text])
  AND ($3::text IS NULL OR i.evidence_level = $3)
  AND ($4::text IS NULL OR i.status = $4)
  AND ($5::text IS NULL OR i.origin_site_code = $5)
  AND ($6::uuid IS NULL OR i.derived_from_id = $6)
  AND ($7::text IS NULL OR i.slug = $7)
  AND ($8::text IS NULL OR i.region_codes @> ARRAY[$8::text])
"""

# One constant statement per sort order (keyset on the sort column, then id).
LIST_BY = {
    "-createdAt": f"""SELECT {COLUMNS} FROM innovations i WHERE {_FILTERS}
        AND ($9::timestamptz IS NULL OR (i.created_at, i.id) < ($9, $10::uuid))
        ORDER BY i.created_at DESC, i.id DESC LIMIT $11""",
    "createdAt": f"""SELECT {COLUMNS} FROM innovations i WHERE {_FILTERS}
        AND ($9::timestamptz IS NULL OR (i.created_at, i.id) > ($9, $10::uuid))
        ORDER BY i.created_at, i.id LIMIT $11""",
    "-adoptionCount": f"""SELECT {COLUMNS} FROM innovations i WHERE {_FILTERS}
        AND ($9::int IS NULL OR (i.adoption_count, i.id) < ($9, $10::uuid))
        ORDER BY i.adoption_count DESC, i.id DESC LIMIT $11""",
    "adoptionCount": f"""SELECT {COLUMNS} FROM innovations i WHERE {_FILTERS}
        AND ($9::int IS NULL OR (i.adoption_count, i.id) > ($9, $10::uuid))
        ORDER BY i.adoption_count, i.id LIMIT $11""",
}


async def list_innovations(
    conn: asyncpg.Connection, sort: str, filters: dict[str, Any], after: tuple[Any, uuid.UUID] | None, limit: int
) -> list[Innovation]:
    rows = await conn.fetch(
        LIST_BY[sort],
        filters.get("category"),
        filters.get("theme"),
        filters.get("evidence_level"),
        filters.get("status"),
        filters.get("origin_site"),
        filters.get("derived_from"),
        filters.get("slug"),
        filters.get("region"),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(r, Innovation) for r in rows]


SLUGS_LIKE = "SELECT slug FROM innovations WHERE slug = $1 OR slug LIKE $1 || '-%'"


async def taken_slugs(conn: asyncpg.Connection, base: str) -> set[str]:
    return {r["slug"] for r in await conn.fetch(SLUGS_LIKE, base)}


INSERT_INNOVATION = f"""
INSERT INTO innovations AS i (slug, title, summary, description, category, care_settings, themes, evidence_level,
    origin_site_code, originated_on, core_components, links, contacts, status, derived_from_id,
    derived_from_adoption_id, created_by_partner_id, is_demo)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
RETURNING {COLUMNS}
"""


async def insert_innovation(conn: asyncpg.Connection, v: dict[str, Any]) -> tuple[Innovation, int]:
    row = await conn.fetchrow(
        INSERT_INNOVATION,
        v["slug"],
        v["title"],
        v["summary"],
        v["description"],
        v["category"],
        v["care_settings"],
        v["themes"],
        v["evidence_level"],
        v["origin_site_code"],
        v["originated_on"],
        v["core_components"],
        v["links"],
        v["contacts"],
        v["status"],
        v["derived_from_id"],
        v["derived_from_adoption_id"],
        v["created_by_partner_id"],
        v.get("is_demo", False),
    )
    assert row is not None  # INSERT ... RETURNING gives its row
    return msgspec.convert(row, Innovation), row["version"]


INSERT_ORIGIN_ADOPTION = """
INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin, partner_id, notes)
VALUES ($1, $2, $3, $4, true, $5, 'Origin site')
RETURNING id
"""


async def insert_origin_adoption(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    site_code: str,
    stage: str,
    started_on: dt.date,
    partner_id: uuid.UUID | None,
) -> uuid.UUID:
    result: uuid.UUID = await conn.fetchval(
        INSERT_ORIGIN_ADOPTION, innovation_id, site_code, stage, started_on, partner_id
    )
    return result


_UPDATABLE = (
    "title",
    "slug",
    "summary",
    "description",
    "category",
    "care_settings",
    "themes",
    "evidence_level",
    "originated_on",
    "core_components",
    "links",
    "contacts",
    "status",
    "derived_from_id",
    "derived_from_adoption_id",
)

UPDATE_INNOVATION = f"""
UPDATE innovations AS i SET
    title = CASE WHEN $2 THEN $3 ELSE i.title END,
    slug = CASE WHEN $4 THEN $5 ELSE i.slug END,
    summary = CASE WHEN $6 THEN $7 ELSE i.summary END,
    description = CASE WHEN $8 THEN $9 ELSE i.description END,
    category = CASE WHEN $10 THEN $11 ELSE i.category END,
    care_settings = CASE WHEN $12 THEN $13::text[] ELSE i.care_settings END,
    themes = CASE WHEN $14 THEN $15::text[] ELSE i.themes END,
    evidence_level = CASE WHEN $16 THEN $17 ELSE i.evidence_level END,
    originated_on = CASE WHEN $18 THEN $19::date ELSE i.originated_on END,
    core_components = CASE WHEN $20 THEN $21::jsonb ELSE i.core_components END,
    links = CASE WHEN $22 THEN $23::jsonb ELSE i.links END,
    contacts = CASE WHEN $24 THEN $25::jsonb ELSE i.contacts END,
    status = CASE WHEN $26 THEN $27 ELSE i.status END,
    derived_from_id = CASE WHEN $28 THEN $29::uuid ELSE i.derived_from_id END,
    derived_from_adoption_id = CASE WHEN $30 THEN $31::uuid ELSE i.derived_from_adoption_id END,
    updated_at = now(),
    version = i.version + 1
WHERE i.id = $1 AND ($32::int[] IS NULL OR i.version = ANY($32::int[]))
RETURNING {COLUMNS}
"""


async def update_innovation(
    conn: asyncpg.Connection, innovation_id: uuid.UUID, changes: dict[str, Any], expected_versions: list[int] | None
) -> tuple[Innovation, int] | None:
    args: list[Any] = [innovation_id]
    for field in _UPDATABLE:
        args.extend([field in changes, changes.get(field)])
    args.append(expected_versions)
    row = await conn.fetchrow(UPDATE_INNOVATION, *args)
    if row is None:
        return None
    return msgspec.convert(row, Innovation), row["version"]


INNOVATION_META = """
SELECT i.id, i.version, i.created_by_partner_id, i.core_components,
       (SELECT coalesce(array_agg(DISTINCT k), '{}') FROM adaptations ad, unnest(ad.core_component_keys) k
         WHERE ad.innovation_id = i.id) AS used_component_keys,
       i.id IN (SELECT f.id FROM spread_innovation_family_up($2) AS f) AS is_ancestor_of_candidate
FROM innovations i WHERE i.id = $1
"""


class InnovationFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an innovation's write rules need (fetched under its lock)."""

    version: int
    created_by_partner_id: uuid.UUID | None
    used_component_keys: frozenset[str]
    parent_derives_from_this: bool


async def innovation_meta(
    conn: asyncpg.Connection, innovation_id: uuid.UUID, candidate_parent: uuid.UUID | None
) -> InnovationFacts | None:
    """What the write rules need: version, creator, component keys in use, and whether the
    proposed parent derives (directly or not) from this innovation (a derivation cycle)."""
    row = await conn.fetchrow(INNOVATION_META, innovation_id, candidate_parent)
    if row is None:
        return None
    return InnovationFacts(
        version=row["version"],
        created_by_partner_id=row["created_by_partner_id"],
        used_component_keys=frozenset(row["used_component_keys"]),
        parent_derives_from_this=bool(row["is_ancestor_of_candidate"]) if candidate_parent else False,
    )


# Locks, taken at the start of a write transaction (the write shape: lock, fetch, check, write).
# Creates that derive a slug from the same title take turns, so each sees the slug the other
# took; look-then-insert alone let two concurrent creates pick one slug (409).
LOCK_SLUG = "SELECT pg_advisory_xact_lock(hashtext('spread.innovation_slug'), hashtext($1))"
# A derivation cycle spans rows that need not be related before the write (A -> B while
# B -> A), so every change of derivedFromId takes one lock: they are rare, and each walks the
# family tree only after the previous one has committed. Taken before any row lock.
LOCK_DERIVATIONS = "SELECT pg_advisory_xact_lock(hashtext('spread.innovation_derivation'))"
# The innovation itself, against concurrent writers and against adaptations being created
# (they hold it FOR SHARE while they check the core components they name).
LOCK_INNOVATION = "SELECT 1 FROM innovations WHERE id = $1 FOR NO KEY UPDATE"


async def lock_slug(conn: asyncpg.Connection, base: str) -> None:
    await conn.execute(LOCK_SLUG, base)


async def lock_derivations(conn: asyncpg.Connection) -> None:
    await conn.execute(LOCK_DERIVATIONS)


async def lock_innovation(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> None:
    await conn.execute(LOCK_INNOVATION, innovation_id)


EXISTS = "SELECT EXISTS (SELECT 1 FROM innovations WHERE id = $1)"


async def exists(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(EXISTS, innovation_id))


ADOPTION_OF = "SELECT innovation_id FROM adoptions WHERE id = $1"


async def adoption_innovation(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> uuid.UUID | None:
    result: uuid.UUID | None = await conn.fetchval(ADOPTION_OF, adoption_id)
    return result
