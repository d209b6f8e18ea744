"""Arrange registry rows for search tests with direct SQL (the search triggers index them)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg


async def innovation(
    conn: asyncpg.Connection,
    title: str,
    *,
    summary: str = "",
    description: str = "",
    category: str = "models_of_care",
    themes: list[str] | None = None,
    evidence_level: str = "local_evaluation",
    status: str = "active",
    origin: str = "RQM",
    originated_on: dt.date = dt.date(2020, 1, 1),
    created_at: dt.datetime | None = None,
    origin_stage: str = "implementing",
) -> uuid.UUID:
    """An innovation with its origin adoption at ``origin``; returns its id."""
    innovation_id = await conn.fetchval(
        """
        INSERT INTO innovations (slug, title, summary, description, category, themes, evidence_level, status,
                                 origin_site_code, originated_on, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now()))
        RETURNING id
        """,
        f"i-{uuid.uuid4().hex[:12]}",
        title,
        summary,
        description,
        category,
        themes or [],
        evidence_level,
        status,
        origin,
        originated_on,
        created_at,
    )
    await adoption(conn, innovation_id, origin, stage=origin_stage, started_on=originated_on, is_origin=True)
    return innovation_id


async def adoption(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    site: str,
    *,
    stage: str = "implementing",
    started_on: dt.date = dt.date(2022, 1, 1),
    is_origin: bool = False,
) -> uuid.UUID:
    return await conn.fetchval(
        """
        INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin, discontinued_reason)
        VALUES ($1, $2, $3, $4, $5, CASE WHEN $3 = 'discontinued' THEN 'stopped' END)
        RETURNING id
        """,
        innovation_id,
        site,
        stage,
        started_on,
        is_origin,
    )


async def origin_adoption(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> uuid.UUID:
    return await conn.fetchval("SELECT id FROM adoptions WHERE innovation_id = $1 AND is_origin", innovation_id)


async def learned(conn: asyncpg.Connection, learner: uuid.UUID, source: uuid.UUID, channel: str) -> None:
    await conn.execute(
        "INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel) VALUES ($1, $2, $3)",
        learner,
        source,
        channel,
    )


async def adaptation(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    description: str,
    *,
    outcome_notes: str = "",
    nature: str | None = "tailoring",
    fidelity: str = "consistent",
    what_modified: str = "content",
) -> uuid.UUID:
    return await conn.fetchval(
        """
        INSERT INTO adaptations (adoption_id, innovation_id, description, phase, what_modified, nature, fidelity,
                                 outcome_notes)
        SELECT a.id, a.innovation_id, $2, 'implementation', $3, $4, $5, $6 FROM adoptions a WHERE a.id = $1
        RETURNING id
        """,
        adoption_id,
        description,
        what_modified,
        nature,
        fidelity,
        outcome_notes,
    )


async def hand_count(conn: asyncpg.Connection, sql: str, *args: Any) -> int:
    return await conn.fetchval(sql, *args)
