"""Shared checks for the attack tests: each asserts the refusal and that nothing was written."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx


def refused(r: httpx.Response, status: int, problem: str, detail: str) -> None:
    """The answer is the problem we expect, as problem+json, with a detail that says why."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"/problems/{problem}", body
    assert detail in body["detail"], body["detail"]


async def changes_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM changes")


async def site_row(conn: asyncpg.Connection, code: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT code, name, kind, parent_code, icb_code, region_code, successor_code, version FROM sites WHERE code = $1",
        code,
    )
    return dict(row) if row else None


async def feed(
    client: httpx.AsyncClient, headers: dict[str, str], entity: str, *, until: int = 0
) -> list[dict[str, Any]]:
    """The whole feed for one entity. With ``until``, poll (deadline ~10 s) until that many show:
    the feed holds back changes while any older transaction on the shared server is open."""
    items: list[dict[str, Any]] = []
    for _ in range(100):
        r = await client.get(f"/v1/changes?entity={entity}&limit=500", headers=headers)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if len(items) >= until:
            break
        await asyncio.sleep(0.1)
    return items
