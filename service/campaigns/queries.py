"""SQL for campaigns, commitments, impediments, breakthroughs and progress. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from service.campaigns.schemas import (
    ApportionmentSummary,
    Breakthrough,
    Campaign,
    Commitment,
    Impediment,
    Progress,
)


def _exact(value: float | None) -> Decimal | None:
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


async def campaign_meta(conn: asyncpg.Connection, campaign_id: uuid.UUID, *, for_update: bool) -> dict[str, Any] | None:
    row = await conn.fetchrow(CAMPAIGN_META_UPDATE if for_update else CAMPAIGN_META_SHARE, campaign_id)
    return None if row is None else dict(row)


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
        _exact(values["baseline"]),
        _exact(values["target"]),
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
            _exact(aim.baseline) if aim else None,
            _exact(aim.target) if aim else None,
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


async def adoption_at(conn: asyncpg.Connection, adoption_id: uuid.UUID, site_code: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(ADOPTION_AT, adoption_id, site_code)
    return None if row is None else dict(row)


async def adaptation_at(conn: asyncpg.Connection, adaptation_id: uuid.UUID, site_code: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(ADAPTATION_AT, adaptation_id, site_code)
    return None if row is None else dict(row)


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
        _exact(values["target"]),
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


async def impediment_meta(conn: asyncpg.Connection, impediment_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(IMPEDIMENT_META, impediment_id)
    return None if row is None else dict(row)


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


# --- progress --------------------------------------------------------------------------------

# One statement answers the whole progress request: $1 campaign, $2 asOf, $3 series period
# (week|month|quarter), $4 site filter (stalled|ahead|off_track or NULL).
#
# - cm: the commitments; observations count from the later of the commitment date and the
#   campaign start, and up to asOf or the campaign end, whichever is earlier.
# - ad: every adoption of the campaign's innovations at a committed site, under the most
#   specific commitment covering it (its own site's, else its parent's, ICB's, region's), so
#   an ICB's share counts its sites that did not commit themselves and nothing counts twice.
# - finest, grouped: the counted observations of the campaign measure on those adoptions, summed
#   per site and per period start in one pass. An adoption that reports the measure at several
#   period lengths counts at its shortest only (never twice).
# - expected: spread_trajectory_expected (migration 0006) along baseline -> milestones -> target.
# - stalled: no counted observation in the last two whole periods before asOf (the site's own
#   reporting period; months for a site with none), for a site counting since before then.
PROGRESS = """
WITH c AS (
    SELECT id, measure_code, starts_on, ends_on, due_on, baseline::float8 AS baseline, target::float8 AS target,
           milestones, least($2::date, ends_on) AS upto
    FROM campaigns WHERE id = $1
), cm AS (
    SELECT m.site_code, s.name AS site_name, m.target::float8 AS target, m.due_on, m.milestones,
           greatest(m.agreed_on, c.starts_on) AS counts_from
    FROM commitments m JOIN c ON c.id = m.campaign_id JOIN sites s ON s.code = m.site_code
), ad AS (
    SELECT DISTINCT ON (a.id) a.id AS adoption_id, cm.site_code, cm.counts_from
    FROM campaign_innovations ci
    JOIN adoptions a ON a.innovation_id = ci.innovation_id
    JOIN sites s ON s.code = a.site_code
    CROSS JOIN LATERAL unnest(ARRAY[s.code, s.parent_code, s.icb_code, s.region_code])
        WITH ORDINALITY AS up(code, depth)
    JOIN cm ON cm.site_code = up.code
    WHERE ci.campaign_id = $1
    ORDER BY a.id, up.depth
), finest AS (
    SELECT o.adoption_id, min(CASE o.period WHEN 'week' THEN 1 WHEN 'month' THEN 2 ELSE 3 END) AS grain
    FROM ad
    JOIN observations o ON o.adoption_id = ad.adoption_id AND o.measure_code = (SELECT measure_code FROM c)
    WHERE o.period_start >= ad.counts_from AND o.period_start <= (SELECT upto FROM c)
    GROUP BY o.adoption_id
), grouped AS (
    -- One pass over the counted observations, two groupings: per site and per period start.
    SELECT GROUPING(ad.site_code) AS per_period, ad.site_code, o.period_start,
           sum(o.value) AS value, count(*) AS n, max(o.period_start) AS last_start,
           max(o.period_start) FILTER (WHERE o.period = 'week') AS last_week,
           max(o.period_start) FILTER (WHERE o.period = 'month') AS last_month
    FROM ad
    JOIN finest f ON f.adoption_id = ad.adoption_id
    JOIN observations o ON o.adoption_id = ad.adoption_id AND o.measure_code = (SELECT measure_code FROM c)
    WHERE o.period_start >= ad.counts_from AND o.period_start <= (SELECT upto FROM c)
      AND CASE o.period WHEN 'week' THEN 1 WHEN 'month' THEN 2 ELSE 3 END = f.grain
    GROUP BY GROUPING SETS ((ad.site_code), (o.period_start))
), per_site AS (
    SELECT site_code, value, n, last_start,
           CASE last_start WHEN last_week THEN 'week' WHEN last_month THEN 'month' ELSE 'quarter' END AS last_period
    FROM grouped WHERE per_period = 0
), by_period AS (
    SELECT period_start, value FROM grouped WHERE per_period = 1
), imp AS (
    SELECT x.site_code, count(*)::int AS open
    FROM (SELECT DISTINCT ON (i.id) i.id, cm.site_code
          FROM impediments i
          JOIN sites s ON s.code = i.site_code
          CROSS JOIN LATERAL unnest(ARRAY[s.code, s.parent_code, s.icb_code, s.region_code])
              WITH ORDINALITY AS up(code, depth)
          JOIN cm ON cm.site_code = up.code
          WHERE i.campaign_id = $1 AND i.raised_on <= $2 AND (i.resolved_on IS NULL OR i.resolved_on > $2)
          ORDER BY i.id, up.depth) x
    GROUP BY x.site_code
), site_rows AS (
    SELECT cm.site_code, cm.site_name, cm.target, coalesce(ps.value, 0)::float8 AS value,
           spread_trajectory_expected(cm.counts_from, 0, cm.due_on, cm.target, cm.milestones, $2) AS expected,
           coalesce(ps.n, 0) AS n, coalesce(imp.open, 0) AS open_impediments, cm.counts_from,
           ps.last_start, coalesce(ps.last_period, 'month') AS last_period
    FROM cm LEFT JOIN per_site ps ON ps.site_code = cm.site_code LEFT JOIN imp ON imp.site_code = cm.site_code
), judged AS (
    SELECT r.*,
           CASE WHEN r.n = 0 THEN 'no_data' WHEN r.value >= r.target THEN 'met'
                WHEN r.value >= r.expected THEN 'on_track' ELSE 'off_track' END AS status,
           coalesce(r.last_start, r.counts_from)
               < date_trunc(r.last_period, $2::date::timestamp)
                 - CASE r.last_period WHEN 'week' THEN interval '14 days'
                                      WHEN 'quarter' THEN interval '6 months' ELSE interval '2 months' END
               AS stalled
    FROM site_rows r
), overall AS MATERIALIZED (
    SELECT coalesce((SELECT sum(value) FROM per_site), 0)::float8 AS value,
           coalesce((SELECT sum(n) FROM per_site), 0) AS n,
           c.target, spread_trajectory_expected(c.starts_on, c.baseline, c.due_on, c.target, c.milestones, $2)
               AS expected,
           c.starts_on
    FROM c
), crossing AS (
    SELECT min(d.period_start) AS reached_on
    FROM (SELECT period_start, sum(value) OVER (ORDER BY period_start) AS cumulative FROM by_period) d, c
    WHERE d.cumulative >= c.target
), step AS (
    SELECT CASE $3::text WHEN 'week' THEN interval '7 days' WHEN 'quarter' THEN interval '3 months'
                ELSE interval '1 month' END AS size
), periods AS (
    SELECT p::date AS period_start, least((p + step.size)::date - 1, $2::date) AS period_end
    FROM c, step, generate_series(date_trunc($3::text, c.starts_on::timestamp),
                                  date_trunc($3::text, c.upto::timestamp), step.size) AS p
    WHERE c.upto >= c.starts_on
), binned AS (
    SELECT date_trunc($3::text, period_start::timestamp)::date AS period_start, sum(value) AS value
    FROM by_period GROUP BY 1
), series AS (
    SELECT p.period_start,
           (sum(coalesce(b.value, 0)) OVER (ORDER BY p.period_start))::float8 AS value,
           spread_trajectory_expected(c.starts_on, c.baseline, c.due_on, c.target, c.milestones, p.period_end)
               AS expected
    FROM periods p CROSS JOIN c LEFT JOIN binned b ON b.period_start = p.period_start
)
SELECT o.value, o.target, o.expected,
       CASE WHEN o.n = 0 THEN 'no_data' WHEN o.value >= o.target THEN 'met'
            WHEN o.value >= o.expected THEN 'on_track' ELSE 'off_track' END AS status,
       CASE WHEN o.value >= o.target THEN (SELECT reached_on FROM crossing)
            WHEN o.value > 0 AND $2::date > o.starts_on
                 AND (o.target - o.value) * ($2::date - o.starts_on) <= 36500 * o.value
            THEN $2::date + ceil((o.target - o.value) * ($2::date - o.starts_on) / o.value)::int
       END AS projected_completion,
       (SELECT coalesce(json_agg(json_build_object(
                   'siteCode', j.site_code, 'siteName', j.site_name, 'target', j.target, 'value', j.value,
                   'expectedByNow', j.expected, 'status', j.status, 'openImpediments', j.open_impediments,
                   'stalled', j.stalled, 'countsFrom', j.counts_from, 'lastPeriodStart', j.last_start)
               ORDER BY j.site_code), '[]')
        FROM judged j
        WHERE $4::text IS NULL
           OR ($4 = 'stalled' AND j.stalled)
           OR ($4 = 'ahead' AND j.n > 0 AND j.value > j.expected)
           OR ($4 = 'off_track' AND j.status = 'off_track')) AS sites,
       (SELECT coalesce(json_agg(json_build_object(
                   'periodStart', s.period_start, 'value', s.value, 'expected', s.expected)
               ORDER BY s.period_start), '[]')
        FROM series s) AS series
FROM overall o
"""


async def progress(
    conn: asyncpg.Connection,
    campaign_id: uuid.UUID,
    measure_code: str,
    as_of: dt.date,
    period: str,
    site_filter: str | None,
) -> Progress:
    row = await conn.fetchrow(PROGRESS, campaign_id, as_of, period, site_filter)
    assert row is not None  # an aggregate: always one row
    return msgspec.convert(
        {
            "campaignId": str(campaign_id),
            "measureCode": measure_code,
            "asOf": as_of.isoformat(),
            "period": period,
            "overall": {
                "value": row["value"],
                "target": row["target"],
                "expectedByNow": row["expected"],
                "status": row["status"],
                "projectedCompletion": row["projected_completion"].isoformat() if row["projected_completion"] else None,
            },
            "sites": row["sites"],
            "series": row["series"],
        },
        Progress,
    )
