"""Deliveries carry the X-Request-ID and X-Correlation-ID of the request that made the change."""

from __future__ import annotations

import asyncpg
import httpx

from service.webhooks.worker import Worker
from tests.factories import make_innovation
from tests.webhooks.conftest import FAST, create_webhook, drain_until
from tests.webhooks.receiver import Receiver


async def test_delivery_names_the_request_and_correlation(
    client: httpx.AsyncClient, admin: dict[str, str], pool: asyncpg.Pool
) -> None:
    async with Receiver() as receiver:
        await create_webhook(client, admin, receiver.url, ["innovation.created"])
        headers = {**admin, "X-Correlation-ID": "ers-batch 2026-12-06/7", "X-Request-ID": "req-abc-1"}
        innovation = await make_innovation(client, headers)
        await make_innovation(client, admin, title="No correlation")
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: len(receiver.requests) >= 2)
    by_entity = {r.json()["data"]["entityId"]: r for r in receiver.requests}
    correlated = by_entity.pop(innovation["id"])
    assert correlated.headers["x-correlation-id"] == "ers-batch 2026-12-06/7"
    assert correlated.headers["x-request-id"] == "req-abc-1"
    (other,) = by_entity.values()
    assert "x-correlation-id" not in other.headers
    assert other.headers["x-request-id"]
