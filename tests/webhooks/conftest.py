"""Webhook fixtures: a worker pool on the test database and a helper to create webhooks."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from service.config import Settings
from service.db import create_pool
from service.webhooks.worker import Worker


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool for workers (separate from the app's, as a worker process would have)."""
    p = await create_pool(db_dsn, Settings(database_url=db_dsn, pool_min_size=1, pool_max_size=6))
    try:
        yield p
    finally:
        await p.close()


async def create_webhook(client: httpx.AsyncClient, admin: dict[str, str], url: str, events: list[str]) -> dict:
    r = await client.post("/v1/webhooks", json={"url": url, "events": events}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


async def drain_until(worker: Worker, done: Callable[[], Any], timeout: float = 10.0) -> None:
    """Run ``--once`` passes until ``done()`` (a retry is due only after its backoff)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await worker.drain()
        if await _check(done):
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for deliveries"
        await asyncio.sleep(0.05)


async def wait_for(done: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _check(done):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _check(done: Callable[[], Any]) -> bool:
    result = done()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
