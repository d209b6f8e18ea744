"""SQL for measures, observations and aims. Records never leave this module (insight: insight_queries).

A "series" is one adoption's observations of one measure in one period kind, in time order.
When an adoption has reported a measure in more than one period kind (monthly, then weekly),
the series used by default is the period kind of its latest observation (by period start;
``month`` before ``quarter`` before ``week`` when two start on the same day).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from service.outcomes.schemas import Measure, Observation, ObservationIn, Period

# --- measures --------------------------------------------------------------------------------

_MEASURE_COLUMNS = """
    m.code, m.name, m.unit, m.improvement_direction, m.reaim_dimension, m.description, m.source,
    m.innovation_id, m.created_at, m.updated_at, m.version, m.created_by_partner_id
"""

GET_MEASURE = f"SELECT {_MEASURE_COLUMNS} FROM measures m WHERE m.code = $1"

# What a change to a measure needs: the row, locked, and then whether anyone has observed it.
# Two statements on purpose: the lock waits for any write of an observation in flight (its
# foreign key holds a KEY SHARE lock on the measure), and only a statement started after that
# wait sees the observation it committed; a subquery in the locking statement would not.
MEASURE_FOR_UPDATE = GET_MEASURE + " FOR UPDATE"
MEASURE_OBSERVED = "SELECT EXISTS (SELECT 1 FROM observations o WHERE o.measure_code = $1)"


class MeasureRow(msgspec.Struct, frozen=True):
    measure: Measure
    version: int
    created_by_partner_id: uuid.UUID | None


def _measure_row(row: asyncpg.Record) -> MeasureRow:
    return MeasureRow(msgspec.convert(row, Measure), row["version"], row["created_by_partner_id"])


async def measure_for_change(conn: asyncpg.Connection, code: str) -> tuple[MeasureRow, bool] | None:
    """Inside a write transaction: the measure locked FOR UPDATE, and whether it has observations."""
    row = await conn.fetchrow(MEASURE_FOR_UPDATE, code)
    if row is None:
        return None
    return _measure_row(row), bool(await conn.fetchval(MEASURE_OBSERVED, code))


async def get_measure(conn: asyncpg.Connection, code: str) -> MeasureRow | None:
    row = await conn.fetchrow(GET_MEASURE, code)
    return _measure_row(row) if row else None


# Keyset on code; each filter has an index led by its column, then code.
LIST_MEASURES = f"""
SELECT {_MEASURE_COLUMNS} FROM measures m
WHERE ($1::uuid IS NULL OR m.innovation_id = $1)
  AND ($2::text IS NULL OR m.reaim_dimension = $2)
  AND ($3::text IS NULL OR m.improvement_direction = $3)
  AND ($4::text IS NULL OR m.code > $4)
ORDER BY m.code
LIMIT $5
"""


async def list_measures(
    conn: asyncpg.Connection,
    *,
    innovation_id: uuid.UUID | None,
    dimension: str | None,
    direction: str | None,
    after_code: str | None,
    limit: int,
) -> list[Measure]:
    rows = await conn.fetch(LIST_MEASURES, innovation_id, dimension, direction, after_code, limit)
    return [msgspec.convert(r, Measure) for r in rows]


INSERT_MEASURE = f"""
INSERT INTO measures AS m (code, name, unit, improvement_direction, reaim_dimension, description, source,
                           innovation_id, created_by_partner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING {_MEASURE_COLUMNS}
"""


async def insert_measure(conn: asyncpg.Connection, v: dict[str, Any], partner_id: uuid.UUID | None) -> MeasureRow:
    row = await conn.fetchrow(
        INSERT_MEASURE,
        v["code"],
        v["name"],
        v["unit"],
        v["improvement_direction"],
        v["reaim_dimension"],
        v["description"],
        v["source"],
        v["innovation_id"],
        partner_id,
    )
    assert row is not None  # INSERT ... RETURNING gives its row
    return _measure_row(row)


_UPDATABLE = ("name", "unit", "improvement_direction", "reaim_dimension", "description", "source", "innovation_id")

UPDATE_MEASURE = f"""
UPDATE measures AS m SET
    name = CASE WHEN $2 THEN $3 ELSE m.name END,
    unit = CASE WHEN $4 THEN $5 ELSE m.unit END,
    improvement_direction = CASE WHEN $6 THEN $7 ELSE m.improvement_direction END,
    reaim_dimension = CASE WHEN $8 THEN $9 ELSE m.reaim_dimension END,
    description = CASE WHEN $10 THEN $11 ELSE m.description END,
    source = CASE WHEN $12 THEN $13 ELSE m.source END,
    innovation_id = CASE WHEN $14 THEN $15::uuid ELSE m.innovation_id END,
    updated_at = now(),
    version = m.version + 1
WHERE m.code = $1 AND ($16::int[] IS NULL OR m.version = ANY($16::int[]))
RETURNING {_MEASURE_COLUMNS}
"""


async def update_measure(
    conn: asyncpg.Connection, code: str, changes: dict[str, Any], expected_versions: list[int] | None
) -> MeasureRow | None:
    args: list[Any] = [code]
    for field in _UPDATABLE:
        args.extend([field in changes, changes.get(field)])
    args.append(expected_versions)
    row = await conn.fetchrow(UPDATE_MEASURE, *args)
    return _measure_row(row) if row else None


# FOR SHARE: a measure's unit and direction cannot change while observations of it are written
# (they are fixed once it has any; see MEASURE_FOR_CHANGE).
MEASURES_META = """
SELECT code, unit, improvement_direction FROM measures WHERE code = ANY($1::text[]) ORDER BY code FOR SHARE
"""


async def measures_meta(conn: asyncpg.Connection, codes: list[str]) -> dict[str, tuple[str, str]]:
    """unit and improvement direction of each of these codes that exists."""
    rows = await conn.fetch(MEASURES_META, codes)
    return {r["code"]: (r["unit"], r["improvement_direction"]) for r in rows}


# --- adoptions, as this module needs them --------------------------------------------------------

ADOPTION_CONTEXT = """
SELECT a.id, a.innovation_id, a.site_code, s.name AS site_name, a.stage, a.started_on
FROM adoptions a JOIN sites s ON s.code = a.site_code
WHERE a.id = $1
"""


class AdoptionFacts(msgspec.Struct, frozen=True, kw_only=True):
    """An adoption as outcomes need it: its innovation, its site, where it stands."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    site_name: str
    stage: str
    started_on: dt.date


async def adoption_context(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionFacts | None:
    row = await conn.fetchrow(ADOPTION_CONTEXT, adoption_id)
    return None if row is None else msgspec.convert(row, AdoptionFacts)


INNOVATION_EXISTS = "SELECT EXISTS (SELECT 1 FROM innovations WHERE id = $1)"


async def innovation_exists(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(INNOVATION_EXISTS, innovation_id))


# --- observations ----------------------------------------------------------------------------

_OBS_COLUMNS = """id, adoption_id, measure_code, period, period_start, value, numerator, denominator,
    created_at, updated_at"""

# One statement: unnest the batch, upsert on the natural key, and answer for every submitted
# row. A row whose value, numerator and denominator are all unchanged is not touched (no new
# version, no change-log entry); it is read back from the statement's snapshot instead.
# `xmax = 0` on a returned row means it was inserted rather than updated. Each item carries its
# adoption, so one statement serves one adoption's batch and a bulk submission's many adoptions
# alike (the natural key must not repeat within a statement: callers send each key once).
UPSERT_OBSERVATIONS = """
WITH input AS (
    SELECT u.adoption_id, u.measure_code, u.period, u.period_start, u.value, u.numerator, u.denominator, u.ord
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::float8[], $6::float8[], $7::float8[])
         WITH ORDINALITY AS u(adoption_id, measure_code, period, period_start, value, numerator, denominator, ord)
),
written AS (
    INSERT INTO observations AS o (adoption_id, measure_code, period, period_start, value, numerator, denominator,
                                   partner_id)
    SELECT i.adoption_id, i.measure_code, i.period, i.period_start, i.value, i.numerator, i.denominator, $8
    FROM input i ORDER BY i.ord
    ON CONFLICT (adoption_id, measure_code, period, period_start) DO UPDATE
       SET value = excluded.value, numerator = excluded.numerator, denominator = excluded.denominator,
           partner_id = excluded.partner_id, updated_at = now(), version = o.version + 1
     WHERE (o.value, o.numerator, o.denominator)
           IS DISTINCT FROM (excluded.value, excluded.numerator, excluded.denominator)
    RETURNING o.id, o.adoption_id, o.measure_code, o.period, o.period_start, o.value, o.numerator, o.denominator,
              o.created_at, o.updated_at, (o.xmax = 0) AS inserted
)
SELECT coalesce(w.id, o.id) AS id, i.adoption_id, i.measure_code, i.period, i.period_start,
       coalesce(w.value, o.value) AS value,
       CASE WHEN w.id IS NULL THEN o.numerator ELSE w.numerator END AS numerator,
       CASE WHEN w.id IS NULL THEN o.denominator ELSE w.denominator END AS denominator,
       coalesce(w.created_at, o.created_at) AS created_at, coalesce(w.updated_at, o.updated_at) AS updated_at,
       CASE WHEN w.id IS NULL THEN 'unchanged' WHEN w.inserted THEN 'created' ELSE 'updated' END AS outcome
FROM input i
LEFT JOIN written w
       ON (w.adoption_id, w.measure_code, w.period, w.period_start)
        = (i.adoption_id, i.measure_code, i.period, i.period_start)
LEFT JOIN observations o
       ON w.id IS NULL
      AND (o.adoption_id, o.measure_code, o.period, o.period_start)
        = (i.adoption_id, i.measure_code, i.period, i.period_start)
ORDER BY i.ord
"""


async def _upsert(
    conn: asyncpg.Connection, adoption_ids: list[uuid.UUID], items: list[ObservationIn], partner_id: uuid.UUID | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        UPSERT_OBSERVATIONS,
        adoption_ids,
        [o.measure_code for o in items],
        [o.period for o in items],
        [o.period_start for o in items],
        [o.value for o in items],
        [o.numerator for o in items],
        [o.denominator for o in items],
        partner_id,
    )


async def upsert_observations(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, items: list[ObservationIn], partner_id: uuid.UUID | None
) -> list[tuple[Observation, str]]:
    """Upsert ``items`` (ObservationIn) for one adoption; each stored row with created/updated/unchanged."""
    rows = await _upsert(conn, [adoption_id] * len(items), items, partner_id)
    return [(msgspec.convert(r, Observation), r["outcome"]) for r in rows]


async def upsert_observations_many(
    conn: asyncpg.Connection, adoption_ids: list[uuid.UUID], items: list[ObservationIn], partner_id: uuid.UUID | None
) -> list[str]:
    """Upsert ``items[i]`` (ObservationIn) for ``adoption_ids[i]``, many adoptions in one statement;
    the outcome of each (created/updated/unchanged), in order."""
    if not items:
        return []
    return [r["outcome"] for r in await _upsert(conn, adoption_ids, items, partner_id)]


# Time order, keyset on (period_start, measure_code, period): observations_adoption_time_idx,
# or the unique key when filtered by measure.
LIST_OBSERVATIONS = f"""
SELECT {_OBS_COLUMNS} FROM observations o
WHERE o.adoption_id = $1
  AND ($2::text IS NULL OR o.measure_code = $2)
  AND ($3::text IS NULL OR o.period = $3)
  AND ($4::date IS NULL OR (o.period_start, o.measure_code, o.period) > ($4, $5::text, $6::text))
ORDER BY o.period_start, o.measure_code, o.period
LIMIT $7
"""


async def list_observations(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    measure: str | None,
    period: str | None,
    after: tuple[dt.date, str, str] | None,
    limit: int,
) -> list[Observation]:
    rows = await conn.fetch(
        LIST_OBSERVATIONS,
        adoption_id,
        measure,
        period,
        after[0] if after else None,
        after[1] if after else None,
        after[2] if after else None,
        limit,
    )
    return [msgspec.convert(r, Observation) for r in rows]


SERIES = """
WITH chosen AS (
    SELECT coalesce($3::text, (
        SELECT o.period FROM observations o WHERE o.adoption_id = $1 AND o.measure_code = $2
        ORDER BY o.period_start DESC, o.period LIMIT 1)) AS period
)
SELECT c.period, o.period_start, o.value
FROM chosen c
JOIN observations o ON o.adoption_id = $1 AND o.measure_code = $2 AND o.period = c.period
ORDER BY o.period_start
"""


async def series(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, measure: str, period: Period | None
) -> tuple[Period | None, list[dt.date], list[float]]:
    """The period kind used, and the series' period starts and values in time order."""
    rows = await conn.fetch(SERIES, adoption_id, measure, period)
    if not rows:
        return period, [], []
    return rows[0]["period"], [r["period_start"] for r in rows], [r["value"] for r in rows]
