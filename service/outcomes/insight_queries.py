"""SQL for the insight endpoints (peers, measure effects, RE-AIM). Records never leave this module.

A "series" is one adoption's observations of one measure in one period kind, in time order
(see :mod:`service.outcomes.queries`).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.outcomes.insight_schemas import (
    AdaptationBrief,
    DiscontinuedAdoption,
    FidelityCounts,
    SiteBrief,
    StageCounts,
)
from service.outcomes.schemas import Period
from service.vocab import ImprovementDirection, Stage

# --- insight ---------------------------------------------------------------------------------


class SeriesRow(msgspec.Struct, frozen=True, kw_only=True):
    """One adoption's series of one measure, with what the insight endpoints report about it."""

    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    innovation_title: str
    stage: Stage
    started_on: dt.date
    site: SiteBrief
    measure_code: str
    improvement_direction: ImprovementDirection
    period: Period
    periods: list[dt.date]
    values: list[float]


def _series_row(r: asyncpg.Record) -> SeriesRow:
    return SeriesRow(
        adoption_id=r["adoption_id"],
        innovation_id=r["innovation_id"],
        innovation_title=r["innovation_title"],
        stage=r["stage"],
        started_on=r["started_on"],
        site=SiteBrief(
            code=r["site_code"],
            name=r["site_name"],
            kind=r["site_kind"],
            region_code=r["region_code"],
            icb_code=r["icb_code"],
        ),
        measure_code=r["measure_code"],
        improvement_direction=r["improvement_direction"],
        period=r["period"],
        periods=list(r["periods"]),
        values=list(r["values"]),
    )


# One pass over the observations, in the order of observations_measure_idx (measure, adoption,
# period kind, start; value included): each (adoption, measure, period kind) series aggregated,
# then the period kind of the latest observation kept. Only then the 1-row-per-series joins.
_SERIES_SELECT = """
picked AS (
    SELECT DISTINCT ON (g.adoption_id, g.measure_code) g.adoption_id, g.measure_code, g.period, g.periods, g.values
    FROM grouped g
    ORDER BY g.adoption_id, g.measure_code, g.latest DESC, g.period
)
SELECT a.id AS adoption_id, a.innovation_id, i.title AS innovation_title, a.stage, a.started_on,
       s.code AS site_code, s.name AS site_name, s.kind AS site_kind, s.region_code, s.icb_code,
       p.measure_code, m.improvement_direction, p.period, p.periods, p.values
FROM picked p
JOIN adoptions a ON a.id = p.adoption_id
JOIN innovations i ON i.id = a.innovation_id
JOIN sites s ON s.code = a.site_code
JOIN measures m ON m.code = p.measure_code
"""

_GROUPED = """
    SELECT o.adoption_id, o.measure_code, o.period, max(o.period_start) AS latest,
           array_agg(o.period_start ORDER BY o.period_start) AS periods,
           array_agg(o.value ORDER BY o.period_start) AS values
    FROM observations o
"""

# Every (filtered) adoption's series of one measure.
MEASURE_SERIES = (
    "WITH grouped AS ("
    + _GROUPED
    + """
    WHERE o.measure_code = $1
      AND o.adoption_id IN (
          SELECT a.id FROM adoptions a JOIN sites s ON s.code = a.site_code
          WHERE ($2::uuid IS NULL OR a.innovation_id = $2)
            AND ($3::text IS NULL OR s.region_code = $3)
            AND ($4::date IS NULL OR a.started_on >= $4))
    GROUP BY o.measure_code, o.adoption_id, o.period
),"""
    + _SERIES_SELECT
)


async def measure_series(
    conn: asyncpg.Connection, measure: str, innovation_id: uuid.UUID | None, region: str | None, since: dt.date | None
) -> list[SeriesRow]:
    rows = await conn.fetch(MEASURE_SERIES, measure, innovation_id, region, since)
    return [_series_row(r) for r in rows]


# Every series (each measure) of one innovation's adoptions: adoptions_innovation_idx, then the
# observations unique key (adoption, measure, period kind, start).
INNOVATION_SERIES = (
    "WITH grouped AS ("
    + _GROUPED
    + """
    WHERE o.adoption_id IN (SELECT a.id FROM adoptions a WHERE a.innovation_id = $1)
    GROUP BY o.adoption_id, o.measure_code, o.period
),"""
    + _SERIES_SELECT
)


async def innovation_series(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> list[SeriesRow]:
    rows = await conn.fetch(INNOVATION_SERIES, innovation_id)
    return [_series_row(r) for r in rows]


ADAPTATIONS_OF = """
SELECT ad.adoption_id, ad.id, ad.description, ad.made_on, ad.phase, ad.what_modified, ad.nature, ad.fidelity,
       ad.core_component_keys
FROM adaptations ad
WHERE ad.adoption_id = ANY($1::uuid[])
ORDER BY ad.adoption_id, ad.made_on NULLS LAST, ad.created_at, ad.id
"""


async def adaptations_of(
    conn: asyncpg.Connection, adoption_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[AdaptationBrief]]:
    out: dict[uuid.UUID, list[AdaptationBrief]] = {a: [] for a in adoption_ids}
    if not adoption_ids:
        return out
    for r in await conn.fetch(ADAPTATIONS_OF, adoption_ids):
        out[r["adoption_id"]].append(msgspec.convert(r, AdaptationBrief))
    return out


SITE_BRIEF = "SELECT code, name, kind, region_code, icb_code FROM sites WHERE code = $1"


async def site_brief(conn: asyncpg.Connection, code: str) -> SiteBrief | None:
    row = await conn.fetchrow(SITE_BRIEF, code)
    return None if row is None else msgspec.convert(row, SiteBrief)


# Candidate adoptions a site could learn from, with the distance between the two places.
# Coordinates: the site's own; else the mean of its child sites' (a trust's hospitals); else
# its ICB's centroid; else its region's. Adoptions by the same organisation (the site itself,
# a trust's own hospital sites, a hospital site's trust and sibling sites) are left out, as are
# those not yet piloting, and discontinued ones.
PEER_CANDIDATES = """
WITH target AS (
    SELECT code, kind, parent_code, region_code, icb_code FROM sites WHERE code = $2
),
cand AS (
    SELECT a.id AS adoption_id, a.stage, a.started_on, s.code, s.name, s.kind, s.region_code, s.icb_code
    FROM adoptions a
    JOIN sites s ON s.code = a.site_code
    CROSS JOIN target t
    WHERE a.innovation_id = $1
      AND a.stage IN ('piloting', 'implementing', 'sustaining')
      AND s.code <> t.code
      AND NOT (s.kind = 'trust_site' AND s.parent_code = t.code)
      AND NOT (t.kind = 'trust_site' AND (s.code = t.parent_code
                                         OR (s.kind = 'trust_site' AND s.parent_code = t.parent_code)))
),
points AS (
    SELECT x.code,
           coalesce(x.latitude, ch.lat, icb.latitude, reg.latitude) AS lat,
           coalesce(x.longitude, ch.lon, icb.longitude, reg.longitude) AS lon
    FROM sites x
    LEFT JOIN LATERAL (
        SELECT avg(c.latitude) AS lat, avg(c.longitude) AS lon FROM sites c
        WHERE c.parent_code = x.code AND c.latitude IS NOT NULL
    ) ch ON x.latitude IS NULL
    LEFT JOIN sites icb ON icb.code = x.icb_code
    LEFT JOIN sites reg ON reg.code = x.region_code
    WHERE x.code IN (SELECT code FROM cand UNION SELECT code FROM target)
)
SELECT c.adoption_id, c.stage, c.started_on, c.code, c.name, c.kind, c.region_code, c.icb_code,
       c.kind = t.kind AS same_kind,
       coalesce(c.icb_code = t.icb_code, false) AS same_icb,  -- never null: a site may have no ICB
       coalesce(c.region_code = t.region_code, false) AS same_region,
       2 * 6371.0088 * asin(sqrt(
           power(sin(radians(cp.lat - tp.lat) / 2), 2)
           + cos(radians(tp.lat)) * cos(radians(cp.lat)) * power(sin(radians(cp.lon - tp.lon) / 2), 2)
       )) AS distance_km
FROM cand c
CROSS JOIN target t
LEFT JOIN points cp ON cp.code = c.code
LEFT JOIN points tp ON tp.code = t.code
"""


class PeerCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """An adoption a site could learn from, and how near it is."""

    adoption_id: uuid.UUID
    stage: Stage
    started_on: dt.date
    code: str
    name: str
    kind: str
    region_code: str | None
    icb_code: str | None
    same_kind: bool
    same_icb: bool
    same_region: bool
    distance_km: float | None


async def peer_candidates(conn: asyncpg.Connection, innovation_id: uuid.UUID, site: str) -> list[PeerCandidate]:
    return [msgspec.convert(r, PeerCandidate) for r in await conn.fetch(PEER_CANDIDATES, innovation_id, site)]


# RE-AIM counts of one innovation in one statement. A trust has taken the innovation up when
# it, or one of its sites, has an adoption at any stage; an ICB when any site in it has.
# Denominators: open English trusts (those with a region) and open ICBs.
REAIM = """
WITH ad AS (
    SELECT a.id, a.site_code, a.stage, a.started_on, s.parent_code, s.region_code, s.icb_code
    FROM adoptions a JOIN sites s ON s.code = a.site_code
    WHERE a.innovation_id = $1
),
trusts AS (
    SELECT code, region_code FROM sites WHERE kind = 'trust' AND status = 'open' AND region_code IS NOT NULL
),
icbs AS (
    SELECT code, region_code FROM sites WHERE kind = 'icb' AND status = 'open'
),
adopted_trusts AS (
    SELECT DISTINCT t.code, t.region_code FROM trusts t
    JOIN ad ON t.code IN (ad.site_code, ad.parent_code)
),
adopted_icbs AS (
    SELECT DISTINCT i.code, i.region_code FROM icbs i JOIN ad ON ad.icb_code = i.code
),
sustaining_since AS (
    SELECT ad.id, max(h.on_date) AS since
    FROM ad JOIN adoption_stages h ON h.adoption_id = ad.id AND h.stage = 'sustaining'
    WHERE ad.stage = 'sustaining'
    GROUP BY ad.id
),
discontinued AS (
    SELECT ad.id, ad.site_code, a.discontinued_reason AS reason,
           (SELECT max(h.on_date) FROM adoption_stages h
             WHERE h.adoption_id = ad.id AND h.stage = 'discontinued') AS on_date
    FROM ad JOIN adoptions a ON a.id = ad.id
    WHERE ad.stage = 'discontinued'
)
SELECT
    (SELECT count(*) FROM ad)::int AS adoptions,
    (SELECT count(DISTINCT site_code) FROM ad)::int AS sites,
    (SELECT coalesce(array_agg(DISTINCT region_code) FILTER (WHERE region_code IS NOT NULL), '{}') FROM ad)
        AS region_codes,
    (SELECT coalesce(array_agg(DISTINCT icb_code) FILTER (WHERE icb_code IS NOT NULL), '{}') FROM ad) AS icb_codes,
    (SELECT count(*) FROM trusts)::int AS trusts,
    (SELECT count(*) FROM adopted_trusts)::int AS trusts_adopted,
    (SELECT count(*) FROM icbs)::int AS icbs,
    (SELECT count(*) FROM adopted_icbs)::int AS icbs_adopted,
    (SELECT coalesce(json_agg(json_build_object(
        'regionCode', r.code, 'regionName', r.name,
        'trusts', (SELECT count(*) FROM trusts t WHERE t.region_code = r.code),
        'trustsAdopted', (SELECT count(*) FROM adopted_trusts t WHERE t.region_code = r.code),
        'icbs', (SELECT count(*) FROM icbs i WHERE i.region_code = r.code),
        'icbsAdopted', (SELECT count(*) FROM adopted_icbs i WHERE i.region_code = r.code)
     ) ORDER BY r.code), '[]') FROM sites r WHERE r.kind = 'region') AS by_region,
    (SELECT coalesce(json_object_agg(stage, n), '{}') FROM (SELECT stage, count(*) AS n FROM ad GROUP BY stage) x)
        AS by_stage,
    (SELECT count(*) FROM adaptations d WHERE d.innovation_id = $1)::int AS adaptations,
    (SELECT coalesce(json_object_agg(fidelity, n), '{}')
       FROM (SELECT fidelity, count(*) AS n FROM adaptations d WHERE d.innovation_id = $1 GROUP BY fidelity) x)
        AS by_fidelity,
    (SELECT count(*) FROM ad WHERE stage = 'sustaining')::int AS sustaining,
    (SELECT count(*) FROM sustaining_since WHERE since <= $2::date - interval '12 months')::int AS sustained_12,
    (SELECT count(*) FROM discontinued)::int AS discontinued,
    (SELECT coalesce(json_agg(json_build_object('adoptionId', d.id, 'siteCode', d.site_code, 'on', d.on_date,
                                                'reason', d.reason) ORDER BY d.on_date DESC NULLS LAST, d.id), '[]')
       FROM (SELECT x.id, x.site_code, x.on_date, x.reason FROM discontinued x
             ORDER BY x.on_date DESC NULLS LAST, x.id LIMIT 200) d) AS discontinued_adoptions
"""


class RegionCounts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    region_code: str
    region_name: str
    trusts: int
    trusts_adopted: int
    icbs: int
    icbs_adopted: int


class ReaimCounts(msgspec.Struct, frozen=True, kw_only=True):
    """The counts behind one innovation's RE-AIM summary."""

    adoptions: int
    sites: int
    region_codes: list[str]
    icb_codes: list[str]
    trusts: int
    trusts_adopted: int
    icbs: int
    icbs_adopted: int
    by_region: list[RegionCounts]
    by_stage: StageCounts
    adaptations: int
    by_fidelity: FidelityCounts
    sustaining: int
    sustained_12: int
    discontinued: int
    discontinued_adoptions: list[DiscontinuedAdoption]


async def reaim_counts(conn: asyncpg.Connection, innovation_id: uuid.UUID, today: dt.date) -> ReaimCounts:
    row = await conn.fetchrow(REAIM, innovation_id, today)
    assert row is not None  # aggregates: always one row
    return msgspec.convert(row, ReaimCounts)
