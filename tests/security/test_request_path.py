"""Attacks on the request path: stale keys on replicas, a stale key cache, pool exhaustion, floods.

Issue 12 items 7 (revocation on replicas), 11 (connections held for a whole request) and 14
(rate limits). Time is the rate limiter's injected clock, never the wall clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx

from service.auth.keys import hash_secret
from service.auth.schemas import Principal
from service.embedded import with_database
from service.ratelimit import WINDOW
from tests.conftest import (
    SERVER_DSN,
    TEMPLATE,
    KeyMaker,
    _admin,
    app_of,
    cache_ready,
    key_change,
    running_app,
    settings_for,
)

SPC = {"values": [12, 14, 11, 13, 15, 12, 14, 13, 12, 14, 18, 19, 17, 20, 18, 19]}


class Clock:
    """The rate limiter's clock: seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0 - 1_800_000_000.0 % WINDOW + 5  # 5 s into a window

    def __call__(self) -> float:
        return self.now


async def _replica_with_key(primary: asyncpg.Connection, name: str) -> str:
    """A second database standing for a replica that has not seen anything since the key was made."""
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    dsn = with_database(SERVER_DSN, name)
    rows = await primary.fetch(
        "SELECT p.id AS partner_id, p.name, k.id, k.prefix, k.secret_hash, k.scopes "
        "FROM api_keys k JOIN partners p ON p.id = k.partner_id"
    )
    replica = await asyncpg.connect(dsn)
    try:
        for r in rows:
            await replica.execute(
                "INSERT INTO partners (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", r["partner_id"], r["name"]
            )
            await replica.execute(
                "INSERT INTO api_keys (id, partner_id, prefix, secret_hash, scopes) VALUES ($1, $2, $3, $4, $5)",
                r["id"],
                r["partner_id"],
                r["prefix"],
                r["secret_hash"],
                r["scopes"],
            )
    finally:
        await replica.close()
    return dsn


async def test_key_revoked_on_the_primary_is_refused_at_once_while_the_replica_lags(
    db_dsn: str, make_key: KeyMaker, conn: asyncpg.Connection
) -> None:
    headers = await make_key("read")
    name = f"spread_replica_{uuid.uuid4().hex[:8]}"
    replica = await _replica_with_key(conn, name)
    try:
        # Without the cache: every request looks its key up, on the primary.
        settings = settings_for(db_dsn, read_database_url=replica, key_cache=False)
        async with running_app(settings) as c:
            assert (await c.get("/v1/me", headers=headers)).status_code == 200
            await conn.execute("UPDATE api_keys SET revoked_at = now()")
            r = await c.get("/v1/me", headers=headers)
            assert r.status_code == 401, "the key was checked on the replica, which still holds it live"
            assert "revoked" in r.json()["detail"]
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_cached_key_revoked_on_the_primary_is_refused_with_a_replica(
    db_dsn: str, make_key: KeyMaker, conn: asyncpg.Connection
) -> None:
    headers = await make_key("read")
    name = f"spread_replica_{uuid.uuid4().hex[:8]}"
    replica = await _replica_with_key(conn, name)
    try:
        async with running_app(settings_for(db_dsn, read_database_url=replica)) as c:
            await cache_ready(c)
            assert (await c.get("/v1/me", headers=headers)).status_code == 200
            assert len(app_of(c).state.key_cache) == 1, "the key was not cached"
            async with key_change(c):
                await conn.execute("UPDATE api_keys SET revoked_at = now()")
            assert len(app_of(c).state.key_cache) == 0
            assert (await c.get("/v1/me", headers=headers)).status_code == 401
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_key_cache_is_dropped_while_its_listener_is_disconnected(
    db_dsn: str, make_key: KeyMaker, conn: asyncpg.Connection
) -> None:
    headers = await make_key("read")
    fresh = await make_key("read", partner="Other")
    async with running_app(settings_for(db_dsn)) as c:
        cache = app_of(c).state.key_cache
        await cache_ready(c)
        assert (await c.get("/v1/me", headers=headers)).status_code == 200
        assert len(cache) == 1
        before = cache.generation
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'spread-keys' AND datname = current_database()"
        )
        assert killed == 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while cache.generation == before:
            assert loop.time() < deadline, "the cache outlived its listener"
            await asyncio.sleep(0.005)
        # Revoked while (or just after) the listener was away: never answered from a stale entry.
        secret_hash = hash_secret(headers["Authorization"].removeprefix("Bearer "))
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE secret_hash = $1", secret_hash)
        assert (await c.get("/v1/me", headers=headers)).status_code == 401
        assert len(cache) == 0
        await cache_ready(c)  # it reconnects and caches again
        assert (await c.get("/v1/me", headers=fresh)).status_code == 200
        assert len(cache) == 1


async def test_cached_key_past_its_expiry_is_refused(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    headers = await make_key("read")
    await cache_ready(client)
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    cache = app_of(client).state.key_cache
    secret_hash = hash_secret(headers["Authorization"].removeprefix("Bearer "))
    live = cache.get(secret_hash)
    assert live is not None
    # As if it had been cached a moment before its expiry: the clock decides on every request.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    expired = Principal(
        key_id=live.key_id,
        partner_id=live.partner_id,
        partner_name=live.partner_name,
        scopes=live.scopes,
        expires_at=past,
    )
    cache.put(secret_hash, expired, cache.generation)
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


async def _slow_body(gate: asyncio.Event, stalled: list[int], payload: bytes) -> AsyncIterator[bytes]:
    yield payload[:5]
    stalled.append(1)
    await gate.wait()
    yield payload[5:]


async def test_slow_uploads_do_not_hold_pool_connections(db_dsn: str, make_key: KeyMaker) -> None:
    reader = await make_key("read")
    writer = await make_key("read,write", partner="Writer")
    # Two connections; a request waiting longer than 2 s for one is shed as 503.
    settings = settings_for(db_dsn, pool_min_size=1, pool_max_size=2, pool_acquire_timeout=2.0, key_cache=False)
    async with running_app(settings) as c:
        gate = asyncio.Event()
        stalled: list[int] = []
        spc = json.dumps(SPC).encode()
        submission = json.dumps({"adoptions": []}).encode()
        json_type = {"Content-Type": "application/json"}
        uploads = [
            asyncio.create_task(
                c.post("/v1/analysis/spc", content=_slow_body(gate, stalled, spc), headers={**reader, **json_type})
            )
            for _ in range(10)
        ] + [
            asyncio.create_task(
                c.post(
                    "/v1/submissions", content=_slow_body(gate, stalled, submission), headers={**writer, **json_type}
                )
            )
            for _ in range(10)
        ]
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while len(stalled) < len(uploads):  # every upload authenticated and stalled mid-body
                assert loop.time() < deadline, f"only {len(stalled)} uploads got as far as their body"
                await asyncio.sleep(0.01)
            for _ in range(3):
                r = await c.get("/v1/me", headers=reader)
                assert r.status_code == 200, f"{r.status_code}: the stalled uploads hold the pool"
            assert not any(u.done() for u in uploads)
        finally:
            gate.set()
        answers = await asyncio.gather(*uploads)
        assert [a.status_code for a in answers[:10]] == [200] * 10
        assert all(a.status_code in (200, 201, 422) for a in answers[10:]), [a.text for a in answers[10:]]


async def test_key_over_its_budget_gets_429_with_retry_after_and_ratelimit_headers(
    db_dsn: str, make_key: KeyMaker
) -> None:
    headers = await make_key("read")
    clock = Clock()
    async with running_app(settings_for(db_dsn, rate_limit_per_minute=5), clock=clock) as c:
        answers = [await c.get("/v1/me", headers=headers) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert answers[0].headers["ratelimit-policy"] == f'"default";q=5;w={WINDOW}'
        assert answers[0].headers["ratelimit"] == f'"default";r=4;t={WINDOW - 5}'
        assert answers[4].headers["ratelimit"] == f'"default";r=0;t={WINDOW - 5}'
        clock.now += 10
        r = await c.get("/v1/me", headers=headers)
        assert r.status_code == 429
        assert r.json()["type"] == "/problems/rate-limited"
        assert r.headers["retry-after"] == str(WINDOW - 15)
        assert r.headers["ratelimit"] == f'"default";r=0;t={WINDOW - 15}'
        clock.now += WINDOW  # the next window
        assert (await c.get("/v1/me", headers=headers)).status_code == 200


async def test_writes_have_their_own_lower_budget(db_dsn: str, make_key: KeyMaker) -> None:
    headers = await make_key("read")
    settings = settings_for(db_dsn, rate_limit_per_minute=100, rate_limit_writes_per_minute=2)
    async with running_app(settings, clock=Clock()) as c:
        statuses = [(await c.post("/v1/analysis/spc", json=SPC, headers=headers)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (await c.get("/v1/me", headers=headers)).status_code == 200


async def test_random_tokens_are_refused_without_lookups_once_an_address_fails_too_often(
    db_dsn: str, make_key: KeyMaker
) -> None:
    good = await make_key("read")
    settings = settings_for(db_dsn, rate_limit_failures_per_minute=3)
    clock = Clock()
    async with running_app(settings, clock=clock) as c:
        await cache_ready(c)
        assert (await c.get("/v1/me", headers=good)).status_code == 200  # cached from here on
        pool = app_of(c).state.pool
        statuses = []
        for _ in range(6):
            token = {"Authorization": f"Bearer spr_{uuid.uuid4().hex}"}
            statuses.append((await c.get("/v1/me", headers=token)).status_code)
        assert statuses == [401, 401, 401, 429, 429, 429]
        # Refusals cost no connection: hold every pooled connection and try again.
        held = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            r = await c.get("/v1/me", headers={"Authorization": f"Bearer spr_{uuid.uuid4().hex}"})
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
        finally:
            for held_conn in held:
                await pool.release(held_conn)
        # A known key from the same address still works (it needs no lookup) ...
        assert (await c.get("/v1/me", headers=good)).status_code == 200
        clock.now += WINDOW  # ... and the address is forgiven in the next window.
        r = await c.get("/v1/me", headers={"Authorization": f"Bearer spr_{uuid.uuid4().hex}"})
        assert r.status_code == 401


async def test_counts_are_shared_between_processes_and_old_windows_pruned(
    db_dsn: str, make_key: KeyMaker, conn: asyncpg.Connection
) -> None:
    headers = await make_key("read")
    clock = Clock()
    settings = settings_for(db_dsn, rate_limit_per_minute=5)
    async with running_app(settings, clock=clock) as a, running_app(settings, clock=clock) as b:
        for _ in range(3):
            assert (await a.get("/v1/me", headers=headers)).status_code == 200
        await app_of(a).state.rate_limiter.flush(conn)
        assert (await b.get("/v1/me", headers=headers)).status_code == 200  # b has not heard yet
        await app_of(b).state.rate_limiter.flush(conn)  # now it has: 4 of 5 used
        assert (await b.get("/v1/me", headers=headers)).status_code == 200
        assert (await b.get("/v1/me", headers=headers)).status_code == 429
        assert await conn.fetchval("SELECT count(*) FROM rate_limit_counts") == 1

        clock.now += 2 * WINDOW
        assert (await a.get("/v1/me", headers=headers)).status_code == 200
        await app_of(a).state.rate_limiter.flush(conn)
        windows = await conn.fetchval("SELECT count(DISTINCT window_start) FROM rate_limit_counts")
        assert windows == 1, "windows older than the previous minute are deleted"
