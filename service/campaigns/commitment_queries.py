"""SQL for a campaign's commitments, and its committed sites' impediments and breakthroughs. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from service.campaigns.queries import exact
from service.campaigns.schemas import (
    ApportionmentSummary,
    Breakthrough,
    Commitment,
    Impediment,
)

# --- commitments -----------------------------------------------------------------------------

_COMMITMENT_COLUMNS = """
    m.id, m.campaign_id, m.site_code, s.name AS site_name, s.kind AS site_kind, m.target::float8 AS target,
    m.due_on, m.milestones, m.agreed_on, m.created_at, m.updated_at, m.version
"""

GET_COMMITMENT = f"""
SELECT {_COMMITMENT_COLUMNS}
FROM commitments m JOIN sites s ON s.code = m.site_code
WHERE m.campaign_id = $1 AND m.site_code = $2
"""


async def get_commitment(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, site_code: str
) -> tuple[Commitment, int] | None:
    row = await conn.fetchrow(GET_COMMITMENT, campaign_id, site_code)
    return None if row is None else (msgspec.convert(row, Commitment), row["version"])


LIST_COMMITMENTS = f"""
SELECT {_COMMITMENT_COLUMNS}
FROM commitments m JOIN sites s ON s.code = m.site_code
WHERE m.campaign_id = $1 AND ($2::text IS NULL OR m.site_code > $2)
ORDER BY m.site_code
LIMIT $3
"""

# Exact sums (numeric): "fully" means the targets add up to the campaign's, to the last digit.
APPORTIONMENT = """
SELECT CASE WHEN t.committed < c.target THEN 'under' WHEN t.committed = c.target THEN 'fully' ELSE 'over' END
           AS status,
       c.target::float8 AS campaign_target, t.committed::float8 AS committed,
       (t.committed - c.target)::float8 AS difference, (t.committed / c.target)::float8 AS share, t.sites
FROM campaigns c
CROSS JOIN LATERAL (SELECT coalesce(sum(m.target), 0) AS committed, count(*)::int AS sites
                      FROM commitments m WHERE m.campaign_id = c.id) t
WHERE c.id = $1
"""


async def list_commitments(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, after_site: str | None, limit: int
) -> tuple[list[Commitment], ApportionmentSummary]:
    rows = await conn.fetch(LIST_COMMITMENTS, campaign_id, after_site, limit)
    summary = await conn.fetchrow(APPORTIONMENT, campaign_id)
    return [msgspec.convert(r, Commitment) for r in rows], msgspec.convert(summary, ApportionmentSummary)


# Two PUTs of one commitment are decided one after the other: the second waits here for the
# first to commit, then reads its version (and answers 412 when it sent the old ETag).
LOCK_COMMITMENT = "SELECT 1 FROM commitments WHERE campaign_id = $1 AND site_code = $2 FOR UPDATE"


async def lock_commitment(conn: asyncpg.Connection, campaign_id: uuid.UUID, site_code: str) -> None:
    await conn.execute(LOCK_COMMITMENT, campaign_id, site_code)


UPSERT_COMMITMENT = """
INSERT INTO commitments AS m (campaign_id, site_code, target, due_on, milestones, agreed_on, partner_id)
VALUES ($1, $2, $3, $4, $5, coalesce($6, current_date), $7)
ON CONFLICT (campaign_id, site_code) DO UPDATE SET
    target = excluded.target,
    due_on = excluded.due_on,
    milestones = excluded.milestones,
    agreed_on = coalesce($6, m.agreed_on),
    partner_id = excluded.partner_id,
    updated_at = now(),
    version = m.version + 1
WHERE ($8::int[] IS NULL OR m.version = ANY($8::int[]))
RETURNING (xmax = 0) AS inserted
"""


async def upsert_commitment(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, site_code: str, values: dict[str, Any], expected: list[int] | None
) -> bool | None:
    """True when created, False when updated, None when ``expected`` did not match."""
    result: bool | None = await conn.fetchval(
        UPSERT_COMMITMENT,
        campaign_id,
        site_code,
        exact(values["target"]),
        values["due_on"],
        values["milestones"],
        values["agreed_on"],
        values["partner_id"],
        expected,
    )
    return result


# --- impediments -----------------------------------------------------------------------------

_IMPEDIMENT_COLUMNS = """
    i.id, i.campaign_id, i.site_code, i.description, i.category, i.status, i.support_offered, i.raised_on,
    i.support_offered_on, i.resolved_on, (SELECT p.name FROM partners p WHERE p.id = i.partner_id) AS partner,
    i.created_at, i.updated_at, i.version
"""

GET_IMPEDIMENT = f"SELECT {_IMPEDIMENT_COLUMNS} FROM impediments i WHERE i.id = $1"


async def get_impediment(conn: asyncpg.Connection, impediment_id: uuid.UUID) -> tuple[Impediment, int] | None:
    row = await conn.fetchrow(GET_IMPEDIMENT, impediment_id)
    return None if row is None else (msgspec.convert(row, Impediment), row["version"])


LIST_IMPEDIMENTS = f"""
SELECT {_IMPEDIMENT_COLUMNS}
FROM impediments i
WHERE i.campaign_id = $1
  AND ($2::text IS NULL OR i.site_code = $2)
  AND ($3::text IS NULL OR i.status = $3)
  AND ($4::text IS NULL OR i.category = $4)
  AND ($5::timestamptz IS NULL OR (i.created_at, i.id) < ($5, $6::uuid))
ORDER BY i.created_at DESC, i.id DESC
LIMIT $7
"""


async def list_impediments(
    conn: asyncpg.Connection,
    campaign_id: uuid.UUID,
    *,
    site: str | None,
    status: str | None,
    category: str | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Impediment, dt.datetime]]:
    rows = await conn.fetch(
        LIST_IMPEDIMENTS,
        campaign_id,
        site,
        status,
        category,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [(msgspec.convert(r, Impediment), r["created_at"]) for r in rows]


INSERT_IMPEDIMENT = """
INSERT INTO impediments (campaign_id, site_code, description, category, raised_on, partner_id)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""


async def insert_impediment(conn: asyncpg.Connection, values: dict[str, Any]) -> uuid.UUID:
    result: uuid.UUID = await conn.fetchval(
        INSERT_IMPEDIMENT,
        values["campaign_id"],
        values["site_code"],
        values["description"],
        values["category"],
        values["raised_on"],
        values["partner_id"],
    )
    return result


IMPEDIMENT_META = """
SELECT i.id, i.campaign_id, i.site_code, i.status, i.raised_on, i.support_offered, i.support_offered_on,
       i.resolved_on, i.version
FROM impediments i WHERE i.id = $1
"""


class ImpedimentFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an impediment's rules need: its campaign, site, status and dates."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    site_code: str
    status: str
    raised_on: dt.date
    support_offered: str | None
    support_offered_on: dt.date | None
    resolved_on: dt.date | None
    version: int


async def impediment_meta(conn: asyncpg.Connection, impediment_id: uuid.UUID) -> ImpedimentFacts | None:
    row = await conn.fetchrow(IMPEDIMENT_META, impediment_id)
    return None if row is None else msgspec.convert(row, ImpedimentFacts)


UPDATE_IMPEDIMENT = """
UPDATE impediments AS i SET
    description = CASE WHEN $2 THEN $3 ELSE i.description END,
    category = CASE WHEN $4 THEN $5 ELSE i.category END,
    status = CASE WHEN $6 THEN $7 ELSE i.status END,
    support_offered = CASE WHEN $8 THEN $9 ELSE i.support_offered END,
    support_offered_on = CASE WHEN $10 THEN $11::date ELSE i.support_offered_on END,
    resolved_on = CASE WHEN $12 THEN $13::date ELSE i.resolved_on END,
    updated_at = now(),
    version = i.version + 1
WHERE i.id = $1 AND ($14::int[] IS NULL OR i.version = ANY($14::int[]))
RETURNING i.id
"""


async def update_impediment(
    conn: asyncpg.Connection, impediment_id: uuid.UUID, changes: dict[str, Any], expected: list[int] | None
) -> bool:
    args: list[Any] = [impediment_id]
    for field in ("description", "category", "status", "support_offered", "support_offered_on", "resolved_on"):
        args.extend([field in changes, changes.get(field)])
    args.append(expected)
    return await conn.fetchval(UPDATE_IMPEDIMENT, *args) is not None


# --- breakthroughs ---------------------------------------------------------------------------

_BREAKTHROUGH_COLUMNS = """
    b.id, b.campaign_id, b.site_code, b.title, b.story, b.adaptation_id, b.adoption_id, b.celebrated_on,
    (SELECT p.name FROM partners p WHERE p.id = b.partner_id) AS partner, b.created_at, b.updated_at, b.version
"""

GET_BREAKTHROUGH = f"SELECT {_BREAKTHROUGH_COLUMNS} FROM breakthroughs b WHERE b.id = $1"


async def get_breakthrough(conn: asyncpg.Connection, breakthrough_id: uuid.UUID) -> tuple[Breakthrough, int] | None:
    row = await conn.fetchrow(GET_BREAKTHROUGH, breakthrough_id)
    return None if row is None else (msgspec.convert(row, Breakthrough), row["version"])


# q: web-search syntax over title (weight A) and story (B), through the GIN index. Newest first.
LIST_BREAKTHROUGHS = f"""
SELECT {_BREAKTHROUGH_COLUMNS}
FROM breakthroughs b
WHERE b.campaign_id = $1
  AND ($2::text IS NULL OR b.site_code = $2)
  AND ($3::text IS NULL OR b.search_vector @@ websearch_to_tsquery('english', $3))
  AND ($4::date IS NULL OR (b.celebrated_on, b.id) < ($4, $5::uuid))
ORDER BY b.celebrated_on DESC, b.id DESC
LIMIT $6
"""


async def list_breakthroughs(
    conn: asyncpg.Connection,
    campaign_id: uuid.UUID,
    *,
    site: str | None,
    q: str | None,
    after: tuple[dt.date, uuid.UUID] | None,
    limit: int,
) -> list[Breakthrough]:
    rows = await conn.fetch(
        LIST_BREAKTHROUGHS,
        campaign_id,
        site,
        q,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(r, Breakthrough) for r in rows]


INSERT_BREAKTHROUGH = """
INSERT INTO breakthroughs (campaign_id, site_code, title, story, adaptation_id, adoption_id, celebrated_on, partner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""


async def insert_breakthrough(conn: asyncpg.Connection, values: dict[str, Any]) -> uuid.UUID:
    result: uuid.UUID = await conn.fetchval(
        INSERT_BREAKTHROUGH,
        values["campaign_id"],
        values["site_code"],
        values["title"],
        values["story"],
        values["adaptation_id"],
        values["adoption_id"],
        values["celebrated_on"],
        values["partner_id"],
    )
    return result
