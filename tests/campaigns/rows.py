"""SQL for arranging campaign tests: innovations, adoptions, a count measure, observations, impediments."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

_INNOVATION = """
INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)
VALUES ($1, $2, 'models_of_care', 'local_evaluation', 'RXN', '2020-01-01') RETURNING id
"""
_ADOPTION = """
INSERT INTO adoptions (innovation_id, site_code, stage, started_on) VALUES ($1, $2, 'implementing', '2021-01-01')
RETURNING id
"""
_MEASURE = """
INSERT INTO measures (code, name, unit, improvement_direction, reaim_dimension)
VALUES ($1, $2, $3, 'increase', 'reach') ON CONFLICT (code) DO NOTHING
"""
_OBSERVATION = """
INSERT INTO observations (adoption_id, measure_code, period, period_start, value) VALUES ($1, $2, $3, $4, $5)
"""
_IMPEDIMENT = """
INSERT INTO impediments (campaign_id, site_code, description, category, status, raised_on, resolved_on)
VALUES ($1, $2, 'held back', 'workforce', $3, $4, $5) RETURNING id
"""
_ADAPTATION = """
INSERT INTO adaptations (adoption_id, innovation_id, description, phase, what_modified)
SELECT a.id, a.innovation_id, $2, 'implementation', 'content' FROM adoptions a WHERE a.id = $1 RETURNING id
"""
_SITE_IN_ICB = """
SELECT code FROM sites WHERE icb_code = $1 AND kind = 'trust' AND code <> ALL($2::text[]) ORDER BY code LIMIT 1
"""
_CHILD_SITE = "SELECT code FROM sites WHERE parent_code = $1 AND kind = 'trust_site' ORDER BY code LIMIT 1"

MEASURE = "PEOPLE_HOME"


async def innovation(conn: asyncpg.Connection, slug: str) -> uuid.UUID:
    return await conn.fetchval(_INNOVATION, slug, slug.replace("-", " ").title())


async def adoption(conn: asyncpg.Connection, innovation_id: uuid.UUID, site: str) -> uuid.UUID:
    return await conn.fetchval(_ADOPTION, innovation_id, site)


async def measure(conn: asyncpg.Connection, code: str = MEASURE, unit: str = "people") -> str:
    await conn.execute(_MEASURE, code, f"Measure {code}", unit)
    return code


async def observe(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    values: dict[str, float],
    *,
    period: str = "month",
    code: str = MEASURE,
) -> None:
    """Observations by period start ('2024-01-01': 10, ...)."""
    await conn.executemany(
        _OBSERVATION, [(adoption_id, code, period, dt.date.fromisoformat(d), v) for d, v in values.items()]
    )


async def impediment(
    conn: asyncpg.Connection,
    campaign_id: str,
    site: str,
    status: str,
    raised_on: str,
    resolved_on: str | None = None,
) -> uuid.UUID:
    return await conn.fetchval(
        _IMPEDIMENT,
        uuid.UUID(campaign_id),
        site,
        status,
        dt.date.fromisoformat(raised_on),
        dt.date.fromisoformat(resolved_on) if resolved_on else None,
    )


async def adaptation(conn: asyncpg.Connection, adoption_id: uuid.UUID, description: str) -> uuid.UUID:
    return await conn.fetchval(_ADAPTATION, adoption_id, description)


async def other_trust_in_icb(conn: asyncpg.Connection, icb: str, besides: list[str]) -> str:
    return await conn.fetchval(_SITE_IN_ICB, icb, besides)


async def child_site(conn: asyncpg.Connection, trust: str) -> str:
    return await conn.fetchval(_CHILD_SITE, trust)


async def count(conn: asyncpg.Connection, table: str) -> int:
    # Table names come from the tests' own constants, never from input.
    return await conn.fetchval(f"SELECT count(*) FROM {table}")
