"""Webhook fixtures: an app and worker settings with a secret key and private targets allowed
(the receiver is on loopback), a worker pool, and a helper to create webhooks.

Tests of the SSRF guard use ``guarded_client`` (private targets refused, the default)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from service.config import Settings
from service.webhooks.policy import WorkerConfig
from service.webhooks.worker import Worker, create_worker_pool
from tests.conftest import running_app, settings_for

SECRET_KEY = bytes(range(32))
# Quick retries; the local receiver is on 127.0.0.1, so private targets are allowed.
FAST = WorkerConfig(
    secret_key=SECRET_KEY,
    allow_private=True,
    concurrency=2,
    poll_interval=0.05,
    timeout=5,
    base_delay=0.2,
    max_delay=1,
)


@pytest.fixture
async def client(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a secret key and SPREAD_WEBHOOK_ALLOW_PRIVATE=true (targets on loopback)."""
    async with running_app(settings_for(db_dsn, secret_key=SECRET_KEY, webhook_allow_private=True)) as c:
        yield c


@pytest.fixture
async def guarded_client(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: private targets refused."""
    async with running_app(settings_for(db_dsn, secret_key=SECRET_KEY)) as c:
        yield c


async def make_pool(dsn: str) -> asyncpg.Pool:
    return await create_worker_pool(dsn, Settings(database_url=dsn), max_size=6)


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A worker pool (separate from the app's, as a worker process would have)."""
    p = await make_pool(db_dsn)
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
