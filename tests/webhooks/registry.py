"""Arrange registry rows with plain SQL, each write in a transaction attributed to an actor.

The change-log triggers turn these writes into change rows, exactly as API writes would.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg

ACTOR = {"keyId": None, "partnerId": None, "partnerName": "Webhook tests", "requestId": "test-request"}
SET_ACTOR = "SELECT set_config('spread.actor', $1, true)"


async def _actor(conn: asyncpg.Connection) -> None:
    await conn.execute(SET_ACTOR, json.dumps(ACTOR))


async def add_innovation(conn: asyncpg.Connection, slug: str, origin: str = "RQM") -> uuid.UUID:
    async with conn.transaction():
        await _actor(conn)
        return await conn.fetchval(
            """INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)
               VALUES ($1, $2, 'models_of_care', 'local_evaluation', $3, '2023-01-01') RETURNING id""",
            slug,
            slug.replace("-", " ").title(),
            origin,
        )


ADD_ADOPTION = """
INSERT INTO adoptions (innovation_id, site_code, stage, started_on)
VALUES ($1, $2, $3, $4) RETURNING id
"""


async def add_adoption(
    conn: asyncpg.Connection, innovation_id: uuid.UUID, site: str, stage: str = "exploring"
) -> uuid.UUID:
    async with conn.transaction():
        await _actor(conn)
        return await conn.fetchval(ADD_ADOPTION, innovation_id, site, stage, dt.date(2024, 1, 1))


async def add_adoptions(conn: asyncpg.Connection, innovation_id: uuid.UUID, sites: list[str]) -> list[uuid.UUID]:
    """Several adoptions, one transaction (one statement each)."""
    async with conn.transaction():
        await _actor(conn)
        return [await conn.fetchval(ADD_ADOPTION, innovation_id, s, "exploring", dt.date(2024, 1, 1)) for s in sites]


async def set_stage(conn: asyncpg.Connection, adoption_id: uuid.UUID, stage: str) -> None:
    async with conn.transaction():
        await _actor(conn)
        await conn.execute(
            "UPDATE adoptions SET stage = $2, version = version + 1, updated_at = now() WHERE id = $1",
            adoption_id,
            stage,
        )


async def set_notes(conn: asyncpg.Connection, adoption_id: uuid.UUID, notes: str) -> None:
    async with conn.transaction():
        await _actor(conn)
        await conn.execute(
            "UPDATE adoptions SET notes = $2, version = version + 1, updated_at = now() WHERE id = $1",
            adoption_id,
            notes,
        )


async def add_adaptation(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, innovation_id: uuid.UUID, description: str
) -> uuid.UUID:
    async with conn.transaction():
        await _actor(conn)
        return await conn.fetchval(
            """INSERT INTO adaptations (adoption_id, innovation_id, description, phase, what_modified, nature)
               VALUES ($1, $2, $3, 'implementation', 'content', 'tailoring') RETURNING id""",
            adoption_id,
            innovation_id,
            description,
        )
