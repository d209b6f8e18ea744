"""SQL for a campaign's progress: one statement per request. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.campaigns.schemas import (
    Progress,
)

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
