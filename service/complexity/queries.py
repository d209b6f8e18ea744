"""SQL for NASSS complexity assessments. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.complexity.schemas import DOMAIN_COLUMNS, Assessment, AssessmentCreate

_DOMAINS_JSON = ", ".join(f"'{wire}', c.{col}" for wire, col in DOMAIN_COLUMNS.items())
_SELECT = f"""
SELECT c.id, c.adoption_id, c.assessed_on, c.phase, json_build_object({_DOMAINS_JSON}) AS domains,
       c.notes, p.name AS partner, c.created_at, c.version
FROM complexity_assessments c
LEFT JOIN partners p ON p.id = c.partner_id
"""

_COLUMNS = ", ".join(DOMAIN_COLUMNS.values())
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(6, 6 + len(DOMAIN_COLUMNS)))
INSERT = f"""
INSERT INTO complexity_assessments (adoption_id, assessed_on, phase, notes, partner_id, {_COLUMNS})
VALUES ($1, $2, $3, $4, $5, {_PLACEHOLDERS})
RETURNING id
"""


async def insert(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, phase: str, data: AssessmentCreate, partner_id: uuid.UUID | None
) -> uuid.UUID:
    levels = msgspec.to_builtins(data.domains)
    new_id: uuid.UUID = await conn.fetchval(
        INSERT,
        adoption_id,
        data.assessed_on,
        phase,
        data.notes,
        partner_id,
        *[levels[wire] for wire in DOMAIN_COLUMNS],
    )
    return new_id


GET = _SELECT + "WHERE c.id = $1"


async def get(conn: asyncpg.Connection, assessment_id: uuid.UUID) -> tuple[Assessment, int] | None:
    row = await conn.fetchrow(GET, assessment_id)
    return None if row is None else (msgspec.convert(row, Assessment), row["version"])


LIST = (
    _SELECT
    + """
WHERE c.adoption_id = $1
  AND ($2::date IS NULL OR (c.assessed_on, c.id) > ($2, $3::uuid))
ORDER BY c.assessed_on, c.id
LIMIT $4
"""
)


async def list_for(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, after: tuple[dt.date, uuid.UUID] | None, limit: int
) -> list[Assessment]:
    rows = await conn.fetch(LIST, adoption_id, after[0] if after else None, after[1] if after else None, limit)
    return [msgspec.convert(r, Assessment) for r in rows]


class PhaseLevel(msgspec.Struct, frozen=True, kw_only=True):
    """How many adoptions' latest assessment in ``phase`` put ``domain`` at ``level``."""

    phase: str
    domain: str
    level: str
    adoptions: int


_UNPIVOT = ", ".join(f"('{wire}', l.{col})" for wire, col in DOMAIN_COLUMNS.items())
# The latest assessment of each adoption in each phase, unpivoted to (domain, level), counted.
SUMMARY = f"""
WITH latest AS (
    SELECT DISTINCT ON (c.adoption_id, c.phase) c.*
    FROM complexity_assessments c JOIN adoptions a ON a.id = c.adoption_id
    WHERE a.innovation_id = $1
    ORDER BY c.adoption_id, c.phase, c.assessed_on DESC, c.created_at DESC
)
SELECT l.phase, d.domain, d.level, count(*)::int AS adoptions
FROM latest l CROSS JOIN LATERAL (VALUES {_UNPIVOT}) AS d (domain, level)
GROUP BY l.phase, d.domain, d.level
"""
PHASE_COUNTS = """
SELECT c.phase, count(DISTINCT c.adoption_id)::int AS adoptions
FROM complexity_assessments c JOIN adoptions a ON a.id = c.adoption_id
WHERE a.innovation_id = $1 GROUP BY c.phase
"""


async def summary(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> tuple[list[PhaseLevel], dict[str, int]]:
    rows = await conn.fetch(SUMMARY, innovation_id)
    counts = await conn.fetch(PHASE_COUNTS, innovation_id)
    return [msgspec.convert(r, PhaseLevel) for r in rows], {r["phase"]: r["adoptions"] for r in counts}
