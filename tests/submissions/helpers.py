"""Registry rows for submission tests, arranged with direct SQL, and small request helpers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import asyncpg
import httpx
import msgspec

COMPONENTS = [
    {"key": "daily_huddle", "name": "Daily multidisciplinary huddle"},
    {"key": "remote_monitoring", "name": "Remote monitoring"},
]


async def innovation(
    conn: asyncpg.Connection,
    slug: str = "virtual-wards-for-frailty",
    origin: str = "RXN",
    originated_on: dt.date = dt.date(2021, 4, 1),
) -> uuid.UUID:
    """An innovation with two core components and its origin adoption."""
    innovation_id = await conn.fetchval(
        """
        INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on,
                                 core_components)
        VALUES ($1, $2, 'models_of_care', 'multi_site_evaluation', $3, $4, $5) RETURNING id
        """,
        slug,
        slug.replace("-", " ").capitalize(),
        origin,
        originated_on,
        COMPONENTS,
    )
    await adoption(conn, innovation_id, origin, originated_on, stage="sustaining", is_origin=True)
    return innovation_id


async def adoption(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    site: str,
    started_on: dt.date,
    stage: str = "implementing",
    is_origin: bool = False,
    external_id: str | None = None,
    partner: str | None = None,
    reason: str | None = None,
) -> uuid.UUID:
    partner_id = await conn.fetchval("SELECT id FROM partners WHERE name = $1", partner) if partner else None
    return await conn.fetchval(
        """
        INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin, external_id, partner_id,
                               discontinued_reason)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
        """,
        innovation_id,
        site,
        stage,
        started_on,
        is_origin,
        external_id,
        partner_id,
        reason,
    )


async def link(conn: asyncpg.Connection, learner: uuid.UUID, source: uuid.UUID, channel: str = "peer_visit") -> None:
    await conn.execute(
        "INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel) VALUES ($1, $2, $3)",
        learner,
        source,
        channel,
    )


async def adoption_at(conn: asyncpg.Connection, innovation_id: uuid.UUID, site: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """
        SELECT id, stage, started_on, notes, external_id, discontinued_reason, version FROM adoptions
        WHERE innovation_id = $1 AND site_code = $2 ORDER BY created_at DESC LIMIT 1
        """,
        innovation_id,
        site,
    )
    return dict(row) if row else None


async def sources_of(conn: asyncpg.Connection, adoption_id: uuid.UUID | str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """
        SELECT a.site_code, s.channel FROM adoption_sources s JOIN adoptions a ON a.id = s.source_adoption_id
        WHERE s.adoption_id = $1 ORDER BY a.site_code
        """,
        uuid.UUID(str(adoption_id)),
    )
    return [(r["site_code"], r["channel"]) for r in rows]


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        table: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("adoptions", "adoption_sources", "adaptations", "submissions", "changes")
    }


async def measure(conn: asyncpg.Connection, code: str = "AE_4HR", unit: str = "proportion") -> None:
    await conn.execute(
        "INSERT INTO measures (code, name, unit, improvement_direction) VALUES ($1, $2, $3, 'increase')",
        code,
        f"Measure {code}",
        unit,
    )


def report(site: str, started: str = "2022-03-01", stage: str = "piloting", **extra: Any) -> dict[str, Any]:
    return {"innovation": "virtual-wards-for-frailty", "siteCode": site, "stage": stage, "startedOn": started, **extra}


async def submit(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    rows: list[dict[str, Any]] | str | bytes,
    mode: str | None = None,
    content_type: str = "application/json",
    key: str | None = None,
) -> httpx.Response:
    body = rows if isinstance(rows, str | bytes) else msgspec.json.encode(rows)
    all_headers = {**headers, "Content-Type": content_type}
    if key is not None:
        all_headers["Idempotency-Key"] = key
    url = "/v1/submissions" + (f"?mode={mode}" if mode else "")
    return await client.post(url, content=body, headers=all_headers)


def as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    columns = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def errors_of(result: dict[str, Any], row: int) -> list[tuple[str, str]]:
    found = next(r for r in result["rows"] if r["row"] == row)
    return [(e["field"], e["detail"]) for e in found["errors"]]
