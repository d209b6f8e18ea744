"""Direct SQL to arrange registry rows for the outcomes tests (no API round trips)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

_INNOVATION = """
INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)
VALUES ($1, $2, 'models_of_care', 'local_evaluation', $3, $4) RETURNING id
"""
_ADOPTION = """
INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin, discontinued_reason)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
"""
_MEASURE = """
INSERT INTO measures (code, name, unit, improvement_direction, reaim_dimension, created_by_partner_id)
VALUES ($1, $2, $3, $4, 'effectiveness', $5)
"""
_OBSERVATIONS = """
INSERT INTO observations (adoption_id, measure_code, period, period_start, value)
SELECT $1, $2, $3, p, v FROM unnest($4::date[], $5::float8[]) AS u(p, v)
"""
_ADAPTATION = """
INSERT INTO adaptations (adoption_id, innovation_id, description, phase, what_modified, fidelity, made_on)
VALUES ($1, $2, $3, 'implementation', 'content', $4, $5) RETURNING id
"""
_AIM = """
INSERT INTO aims (adoption_id, measure_code, baseline, target, due_on) VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
_STAGE = "UPDATE adoptions SET stage = $2, discontinued_reason = $3 WHERE id = $1"


async def innovation(
    conn: asyncpg.Connection, slug: str = "test-innovation", origin: str = "RXN", on: dt.date = dt.date(2015, 1, 1)
) -> uuid.UUID:
    return await conn.fetchval(_INNOVATION, slug, slug.replace("-", " ").title(), origin, on)


async def adoption(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    site: str,
    started: dt.date,
    stage: str = "implementing",
    *,
    origin: bool = False,
    reason: str | None = None,
) -> uuid.UUID:
    return await conn.fetchval(_ADOPTION, innovation_id, site, stage, started, origin, reason)


async def measure(
    conn: asyncpg.Connection,
    code: str = "AE_4HR",
    direction: str = "increase",
    unit: str = "proportion",
    partner_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(_MEASURE, code, f"Measure {code}", unit, direction, partner_id)


def months(start: dt.date, n: int) -> list[dt.date]:
    out = []
    y, m = start.year, start.month
    for _ in range(n):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


async def series(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    code: str,
    start: dt.date,
    values: Sequence[float],
    period: str = "month",
) -> list[dt.date]:
    if period == "month":
        periods = months(start, len(values))
    else:
        step = 7 if period == "week" else 0
        periods = [start + dt.timedelta(days=step * i) for i in range(len(values))]
    await conn.execute(_OBSERVATIONS, adoption_id, code, period, periods, list(values))
    return periods


async def adaptation(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    innovation_id: uuid.UUID,
    description: str,
    fidelity: str = "consistent",
    made_on: dt.date | None = None,
) -> uuid.UUID:
    return await conn.fetchval(_ADAPTATION, adoption_id, innovation_id, description, fidelity, made_on)


async def aim(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, code: str, baseline: float, target: float, due: dt.date
) -> uuid.UUID:
    return await conn.fetchval(_AIM, adoption_id, code, baseline, target, due)


async def move_stage(conn: asyncpg.Connection, adoption_id: uuid.UUID, stage: str, reason: str | None = None) -> None:
    """Change the stage; the history trigger dates the move today."""
    await conn.execute(_STAGE, adoption_id, stage, reason)


async def partner_id(conn: asyncpg.Connection, name: str) -> uuid.UUID:
    return await conn.fetchval("SELECT id FROM partners WHERE name = $1", name)
