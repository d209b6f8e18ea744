"""The service foundation: health, keys and authentication, problem details, request ids."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import msgspec
import pytest

from service.config import ConfigError, load_settings
from tests.conftest import KeyMaker, key_change, running_app, settings_for


async def test_liveness_needs_no_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readiness_checks_database_and_schema(client: httpx.AsyncClient, conn) -> None:
    r = await client.get("/health/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}  # public: nothing about schema revisions

    await conn.execute("UPDATE alembic_version SET version_num = '0001'")
    deadline = time.monotonic() + 10  # the answer is cached for about a second
    while True:
        r = await client.get("/health/ready")
        if r.status_code != 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "spread migrate" in r.json()["detail"]
    body = r.json()
    body.pop("requestId", None)  # a counter: "...0000000000000010" would contain "0001"
    assert "0001" not in str(body)
    assert "Retry-After" in r.headers


async def test_me_describes_the_key(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    headers = await make_key("read,write", partner="Health Innovation Manchester", sites=["RQM", "QE1"])
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["partner"] == "Health Innovation Manchester"
    assert body["scopes"] == ["read", "write"]
    assert body["sites"] == ["QE1", "RQM"]
    assert body["expiresAt"] is None


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "needs an API key"),
        ({"Authorization": "Basic abc"}, "Bearer"),
        ({"Authorization": "Bearer nope"}, "not a Spread API key"),
        ({"Authorization": "Bearer spr_unknownunknownunknown"}, "Unknown API key"),
    ],
)
async def test_missing_or_bad_key_is_401(client: httpx.AsyncClient, headers: dict[str, str], needle: str) -> None:
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert needle in body["detail"]
    assert body["status"] == 401
    assert body["type"] == "/problems/unauthorized"
    assert body["requestId"] == r.headers["x-request-id"]


async def test_revoked_and_expired_keys_are_refused(client: httpx.AsyncClient, make_key: KeyMaker, conn) -> None:
    headers = await make_key("read")
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    async with key_change(client):
        await conn.execute("UPDATE api_keys SET revoked_at = now()")
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]

    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    expired = await make_key("read", partner="Old", expires_at=past)
    r = await client.get("/v1/me", headers=expired)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


async def test_keys_are_stored_hashed(make_key: KeyMaker, conn) -> None:
    headers = await make_key("read")
    secret = headers["Authorization"].removeprefix("Bearer ")
    rows = await conn.fetch("SELECT prefix, secret_hash FROM api_keys")
    assert len(rows) == 1
    assert secret.encode() not in rows[0]["secret_hash"]
    assert rows[0]["prefix"] == secret[:12]


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
    assert len(r.headers["x-request-id"]) == 32


async def test_unknown_path_and_method_are_problems(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await client.get("/v1/nothing-here", headers=reader)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/not-found"
    assert "x-request-id" in r.headers

    r = await client.delete("/health/live")
    assert r.status_code == 405
    assert r.json()["title"] == "Method not allowed"


async def test_rate_limit_answers_429(db_dsn: str, make_key: KeyMaker) -> None:
    headers = await make_key("read")
    async with running_app(settings_for(db_dsn, rate_limit_per_minute=3)) as c:
        statuses = [(await c.get("/v1/me", headers=headers)).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3] == 429
        r = await c.get("/v1/me", headers=headers)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["type"] == "/problems/rate-limited"


async def test_metrics_are_exposed(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert "spread_pool_connections" in r.text
    assert "spread_requests_total" in r.text


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/schema")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "Spread API"


def test_settings_are_validated() -> None:
    assert load_settings({}).port == 8000
    s = load_settings({"SPREAD_PORT": "9000", "SPREAD_CORS_ORIGINS": "https://a.nhs.uk, http://localhost:3000"})
    assert s.port == 9000
    assert s.cors_origins == ("https://a.nhs.uk", "http://localhost:3000")
    with pytest.raises(ConfigError, match="SPREAD_PORT"):
        load_settings({"SPREAD_PORT": "eighty"})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings({"DATABASE_URL": "mysql://x"})
    with pytest.raises(ConfigError, match="SPREAD_LOG_LEVEL"):
        load_settings({"SPREAD_LOG_LEVEL": "chatty"})
    with pytest.raises(ConfigError, match="SPREAD_POOL_MIN_SIZE"):
        load_settings({"SPREAD_POOL_MIN_SIZE": "20", "SPREAD_POOL_MAX_SIZE": "5"})


async def test_cors_and_gzip(db_dsn: str, make_key: KeyMaker) -> None:
    headers = await make_key("read")
    settings = settings_for(db_dsn, cors_origins=("https://front.nhs.example",))
    async with running_app(settings) as c:
        r = await c.options(
            "/v1/sites",
            headers={
                "Origin": "https://front.nhs.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        assert r.status_code in (200, 204)
        assert r.headers["access-control-allow-origin"] == "https://front.nhs.example"
        r = await c.get(
            "/v1/sites?limit=200", headers={**headers, "Accept-Encoding": "gzip", "Origin": "https://front.nhs.example"}
        )
        assert r.status_code == 200
        assert r.headers.get("content-encoding") == "gzip"
        assert r.headers["access-control-allow-origin"] == "https://front.nhs.example"
        assert len(r.json()["items"]) == 200
        r = await c.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_pool_exhaustion_sheds_load_as_503(db_dsn: str, make_key: KeyMaker) -> None:
    headers = await make_key("read")
    settings = settings_for(db_dsn, pool_acquire_timeout=0.05)
    settings = msgspec.structs.replace(settings, pool_min_size=1, pool_max_size=1)
    async with running_app(settings) as c:
        app = c._transport.app  # type: ignore[attr-defined]
        held = await app.state.pool.acquire()
        try:
            r = await c.get("/v1/me", headers=headers)
            assert r.status_code == 503
            assert r.headers["retry-after"]
            assert r.json()["type"] == "/problems/service-unavailable"
        finally:
            await app.state.pool.release(held)
        assert (await c.get("/v1/me", headers=headers)).status_code == 200
        metrics = await c.get("/metrics")
        assert "spread_pool_acquire_timeouts_total" in metrics.text


async def test_a_burst_of_readiness_probes_makes_one_database_check(db_dsn: str, monkeypatch) -> None:
    from service.app import create_app
    from service.db import pool_lifespan
    from service.health import routes as health

    monkeypatch.setattr(health, "CACHE_SECONDS", 3600.0)  # the burst, however slow, is inside it
    settings = settings_for(db_dsn)
    app = create_app(settings)
    async with pool_lifespan(settings)(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(50)))
            assert [r.status_code for r in answers] == [200] * 50
            assert app.state.readiness.checks == 1
            assert app.state.pool.get_idle_size() == app.state.pool.get_size()  # the one check gave its back

            monkeypatch.setattr(health, "CACHE_SECONDS", 0.0)  # expired: the next probe checks again
            assert (await client.get("/health/ready")).status_code == 200
            assert app.state.readiness.checks == 2
