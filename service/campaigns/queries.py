"""SQL for campaigns and the places their writes name. Records never leave this module.

Commitments, impediments and breakthroughs: :mod:`commitment_queries`; progress: :mod:`progress_queries`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from service.campaigns.schemas import (
    Campaign,
    Milestone,
)


def exact(value: float | None) -> Decimal | None:
    """A float as the decimal it was written as (0.1 -> 0.1, not its binary neighbour), for numeric columns."""
    return None if value is None else Decimal(repr(value))


# --- campaigns -------------------------------------------------------------------------------

_CAMPAIGN_COLUMNS = """
    c.id, c.name, c.description, c.kind, p.name AS lead_partner, c.lead_partner_id, c.innovation_ids,
    c.starts_on, c.ends_on,
    json_build_object('measureCode', c.measure_code, 'baseline', c.baseline::float8,
                      'target', c.target::float8, 'dueOn', c.due_on) AS aim,
    c.milestones, c.status,
    (SELECT count(*) FROM commitments m WHERE m.campaign_id = c.id)::int AS commitment_count,
    c.created_at, c.updated_at, c.version
"""

GET_CAMPAIGN = f"""
SELECT {_CAMPAIGN_COLUMNS}
FROM campaigns c JOIN partners p ON p.id = c.lead_partner_id
WHERE c.id = $1
"""

# Keyset on (created_at, id), newest first; innovation and site filters use their indexes.
LIST_CAMPAIGNS = f"""
SELECT {_CAMPAIGN_COLUMNS}
FROM campaigns c JOIN partners p ON p.id = c.lead_partner_id
WHERE ($1::text IS NULL OR c.status = $1)
  AND ($2::text IS NULL OR c.kind = $2)
  AND ($3::uuid IS NULL OR EXISTS (
        SELECT 1 FROM campaign_innovations ci WHERE ci.campaign_id = c.id AND ci.innovation_id = $3))
  AND ($4::text IS NULL OR EXISTS (
        SELECT 1 FROM commitments m WHERE m.campaign_id = c.id AND m.site_code = $4))
  AND ($5::timestamptz IS NULL OR (c.created_at, c.id) < ($5, $6::uuid))
ORDER BY c.created_at DESC, c.id DESC
LIMIT $7
"""


def _campaign(row: asyncpg.Record) -> tuple[Campaign, int]:
    return msgspec.convert(row, Campaign), row["version"]


async def get_campaign(conn: asyncpg.Connection, campaign_id: uuid.UUID) -> tuple[Campaign, int] | None:
    row = await conn.fetchrow(GET_CAMPAIGN, campaign_id)
    return None if row is None else _campaign(row)


async def list_campaigns(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    kind: str | None,
    innovation: uuid.UUID | None,
    site: str | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Campaign, dt.datetime]]:
    rows = await conn.fetch(
        LIST_CAMPAIGNS,
        status,
        kind,
        innovation,
        site,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [(msgspec.convert(r, Campaign), r["created_at"]) for r in rows]


# What a write needs to know about its campaign. FOR SHARE holds off a concurrent close (or
# a change of lead) until the write commits; FOR UPDATE serialises edits of the campaign.
_CAMPAIGN_META = """
SELECT c.id, c.status, c.lead_partner_id, c.starts_on, c.ends_on, c.due_on, c.target::float8 AS target,
       c.baseline::float8 AS baseline, c.measure_code, c.milestones, c.innovation_ids, c.version
FROM campaigns c WHERE c.id = $1
"""
CAMPAIGN_META_SHARE = _CAMPAIGN_META + " FOR SHARE"
CAMPAIGN_META_UPDATE = _CAMPAIGN_META + " FOR UPDATE"


class CampaignFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules of a campaign write need to know about the campaign."""

    id: uuid.UUID
    status: str
    lead_partner_id: uuid.UUID
    starts_on: dt.date
    ends_on: dt.date
    due_on: dt.date
    target: float
    baseline: float
    measure_code: str
    milestones: list[Milestone]
    innovation_ids: list[uuid.UUID]
    version: int


async def campaign_meta(conn: asyncpg.Connection, campaign_id: uuid.UUID, *, for_update: bool) -> CampaignFacts | None:
    row = await conn.fetchrow(CAMPAIGN_META_UPDATE if for_update else CAMPAIGN_META_SHARE, campaign_id)
    return None if row is None else msgspec.convert(row, CampaignFacts, strict=False)


PARTNER_BY_NAME = "SELECT id FROM partners WHERE name = $1"


async def partner_id_by_name(conn: asyncpg.Connection, name: str) -> uuid.UUID | None:
    result: uuid.UUID | None = await conn.fetchval(PARTNER_BY_NAME, name)
    return result


MEASURE_EXISTS = "SELECT EXISTS (SELECT 1 FROM measures WHERE code = $1)"


async def measure_exists(conn: asyncpg.Connection, code: str) -> bool:
    return bool(await conn.fetchval(MEASURE_EXISTS, code))


MEASURE_UNIT = "SELECT unit FROM measures WHERE code = $1"


async def measure_unit(conn: asyncpg.Connection, code: str) -> str | None:
    result: str | None = await conn.fetchval(MEASURE_UNIT, code)
    return result


EXISTING_INNOVATIONS = "SELECT id FROM innovations WHERE id = ANY($1::uuid[])"


async def existing_innovations(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return {r["id"] for r in await conn.fetch(EXISTING_INNOVATIONS, ids)}


_SORTED_IDS = "(SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest($5::uuid[]) AS x)"

INSERT_CAMPAIGN = f"""
INSERT INTO campaigns (name, description, kind, lead_partner_id, innovation_ids, starts_on, ends_on,
                       measure_code, baseline, target, due_on, milestones, status, created_by_partner_id)
VALUES ($1, $2, $3, $4, {_SORTED_IDS}, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id
"""

# Links follow the list: the campaign row already carries the same sorted ids, so the sync
# trigger finds nothing to change and the change log gets one campaign row per write.
SYNC_INNOVATIONS = """
WITH gone AS (
    DELETE FROM campaign_innovations WHERE campaign_id = $1 AND NOT (innovation_id = ANY ($2::uuid[]))
)
INSERT INTO campaign_innovations (campaign_id, innovation_id)
SELECT $1, x FROM unnest($2::uuid[]) AS x
ON CONFLICT DO NOTHING
"""


async def insert_campaign(conn: asyncpg.Connection, values: dict[str, Any]) -> uuid.UUID:
    campaign_id: uuid.UUID = await conn.fetchval(
        INSERT_CAMPAIGN,
        values["name"],
        values["description"],
        values["kind"],
        values["lead_partner_id"],
        values["innovation_ids"],
        values["starts_on"],
        values["ends_on"],
        values["measure_code"],
        exact(values["baseline"]),
        exact(values["target"]),
        values["due_on"],
        values["milestones"],
        values["status"],
        values["created_by_partner_id"],
    )
    await conn.execute(SYNC_INNOVATIONS, campaign_id, values["innovation_ids"])
    return campaign_id


# A partial update: $n::bool flags say which columns the request set.
UPDATE_CAMPAIGN = """
UPDATE campaigns AS c SET
    name = CASE WHEN $2 THEN $3 ELSE c.name END,
    description = CASE WHEN $4 THEN $5 ELSE c.description END,
    kind = CASE WHEN $6 THEN $7 ELSE c.kind END,
    lead_partner_id = CASE WHEN $8 THEN $9::uuid ELSE c.lead_partner_id END,
    innovation_ids = CASE WHEN $10 THEN (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}')
                                         FROM unnest($11::uuid[]) AS x)
                          ELSE c.innovation_ids END,
    starts_on = CASE WHEN $12 THEN $13::date ELSE c.starts_on END,
    ends_on = CASE WHEN $14 THEN $15::date ELSE c.ends_on END,
    measure_code = CASE WHEN $16 THEN $17 ELSE c.measure_code END,
    baseline = CASE WHEN $16 THEN $18::numeric ELSE c.baseline END,
    target = CASE WHEN $16 THEN $19::numeric ELSE c.target END,
    due_on = CASE WHEN $16 THEN $20::date ELSE c.due_on END,
    milestones = CASE WHEN $21 THEN $22::jsonb ELSE c.milestones END,
    status = CASE WHEN $23 THEN $24 ELSE c.status END,
    updated_at = now(),
    version = c.version + 1
WHERE c.id = $1 AND ($25::int[] IS NULL OR c.version = ANY($25::int[]))
RETURNING c.id
"""


async def update_campaign(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, changes: dict[str, Any], expected_versions: list[int] | None
) -> bool:
    aim = changes.get("aim")
    args: list[Any] = [campaign_id]
    for field in ("name", "description", "kind", "lead_partner_id", "innovation_ids", "starts_on", "ends_on"):
        args.extend([field in changes, changes.get(field)])
    args.extend(
        [
            aim is not None,
            aim.measure_code if aim else None,
            exact(aim.baseline) if aim else None,
            exact(aim.target) if aim else None,
            aim.due_on if aim else None,
        ]
    )
    for field in ("milestones", "status"):
        args.extend([field in changes, changes.get(field)])
    args.append(expected_versions)
    updated = await conn.fetchval(UPDATE_CAMPAIGN, *args)
    if updated is None:
        return False
    if "innovation_ids" in changes:
        await conn.execute(SYNC_INNOVATIONS, campaign_id, changes["innovation_ids"])
    return True


# Commitments that new campaign dates would leave outside: due, or a milestone, out of range.
COMMITMENTS_OUTSIDE = """
SELECT m.site_code, m.due_on
FROM commitments m
WHERE m.campaign_id = $1
  AND (m.due_on < $2 OR m.due_on > $3
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(m.milestones) AS x
                  WHERE (x ->> 'on')::date < $2 OR (x ->> 'on')::date > $3))
ORDER BY m.site_code
LIMIT 5
"""


async def commitments_outside(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, starts_on: dt.date, ends_on: dt.date
) -> list[tuple[str, dt.date]]:
    rows = await conn.fetch(COMMITMENTS_OUTSIDE, campaign_id, starts_on, ends_on)
    return [(r["site_code"], r["due_on"]) for r in rows]


# --- sites -----------------------------------------------------------------------------------

# The commitment that covers a site: its own, else its parent's, its ICB's, its region's.
COVERING_COMMITMENT = """
SELECT m.site_code
FROM sites s
CROSS JOIN LATERAL unnest(ARRAY[s.code, s.parent_code, s.icb_code, s.region_code]) WITH ORDINALITY AS up(code, depth)
JOIN commitments m ON m.campaign_id = $1 AND m.site_code = up.code
WHERE s.code = $2
ORDER BY up.depth
LIMIT 1
"""


async def covering_commitment(conn: asyncpg.Connection, campaign_id: uuid.UUID, site_code: str) -> str | None:
    result: str | None = await conn.fetchval(COVERING_COMMITMENT, campaign_id, site_code)
    return result


# Where an adoption or an adaptation was made, and whether that is at (or under) a site.
ADOPTION_AT = """
SELECT a.id, a.site_code,
       $2 IN (s.code, s.parent_code, s.icb_code, s.region_code) AS under_site
FROM adoptions a JOIN sites s ON s.code = a.site_code
WHERE a.id = $1
"""
ADAPTATION_AT = """
SELECT ad.id, ad.adoption_id, a.site_code,
       $2 IN (s.code, s.parent_code, s.icb_code, s.region_code) AS under_site
FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id JOIN sites s ON s.code = a.site_code
WHERE ad.id = $1
"""


class Placed(msgspec.Struct, frozen=True, kw_only=True):
    """Where an adoption (or an adaptation, with its adoption) was made, and whether under a site."""

    id: uuid.UUID
    adoption_id: uuid.UUID
    site_code: str
    under_site: bool


async def adoption_at(conn: asyncpg.Connection, adoption_id: uuid.UUID, site_code: str) -> Placed | None:
    row = await conn.fetchrow(ADOPTION_AT, adoption_id, site_code)
    if row is None:
        return None
    return Placed(id=row["id"], adoption_id=row["id"], site_code=row["site_code"], under_site=row["under_site"])


async def adaptation_at(conn: asyncpg.Connection, adaptation_id: uuid.UUID, site_code: str) -> Placed | None:
    row = await conn.fetchrow(ADAPTATION_AT, adaptation_id, site_code)
    return None if row is None else msgspec.convert(row, Placed)
