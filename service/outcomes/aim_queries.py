"""SQL for adoption aims (targets with trajectories). Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from service.outcomes.schemas import TrajectoryPoint

# --- aims ------------------------------------------------------------------------------------

INSERT_AIM = """
INSERT INTO aims (adoption_id, measure_code, baseline, target, due_on, trajectory, partner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id, created_at
"""


async def insert_aim(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, v: dict[str, Any], partner_id: uuid.UUID | None
) -> uuid.UUID:
    """Insert an aim; its id."""
    row = await conn.fetchrow(
        INSERT_AIM,
        adoption_id,
        v["measure_code"],
        v["baseline"],
        v["target"],
        v["due_on"],
        v["trajectory"],
        partner_id,
    )
    assert row is not None  # INSERT ... RETURNING gives its row
    aim_id: uuid.UUID = row["id"]
    return aim_id


# Each aim with what judging it needs: the adoption's start, the measure's direction and the
# latest observation of the measure (aims_adoption_idx, then the observations unique key).
LIST_AIMS = """
SELECT am.id, am.adoption_id, am.measure_code, am.baseline, am.target, am.due_on, am.trajectory,
       am.created_at, am.updated_at, a.started_on, m.improvement_direction,
       lo.period_start AS latest_period_start, lo.value AS latest_value
FROM aims am
JOIN adoptions a ON a.id = am.adoption_id
JOIN measures m ON m.code = am.measure_code
LEFT JOIN LATERAL (
    SELECT o.period_start, o.value FROM observations o
    WHERE o.adoption_id = am.adoption_id AND o.measure_code = am.measure_code
    ORDER BY o.period_start DESC, o.period LIMIT 1
) lo ON true
WHERE am.adoption_id = $1
  AND ($2::text IS NULL OR am.measure_code = $2)
  AND ($3::uuid IS NULL OR am.id = $3)
  AND ($4::timestamptz IS NULL OR (am.created_at, am.id) > ($4, $5::uuid))
ORDER BY am.created_at, am.id
LIMIT $6
"""


class AimRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    adoption_id: uuid.UUID
    measure_code: str
    baseline: float
    target: float
    due_on: dt.date
    trajectory: list[TrajectoryPoint]
    created_at: dt.datetime
    updated_at: dt.datetime
    started_on: dt.date
    improvement_direction: str
    latest_period_start: dt.date | None
    latest_value: float | None


async def list_aims(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    measure: str | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
    aim_id: uuid.UUID | None = None,
) -> list[AimRow]:
    rows = await conn.fetch(
        LIST_AIMS,
        adoption_id,
        measure,
        aim_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(r, AimRow) for r in rows]


LATEST_AIM_TARGET = """
SELECT am.target FROM aims am WHERE am.adoption_id = $1 AND am.measure_code = $2
ORDER BY am.created_at DESC, am.id DESC LIMIT 1
"""


async def latest_aim_target(conn: asyncpg.Connection, adoption_id: uuid.UUID, measure: str) -> float | None:
    result: float | None = await conn.fetchval(LATEST_AIM_TARGET, adoption_id, measure)
    return result
