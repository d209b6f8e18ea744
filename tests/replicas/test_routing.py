"""Read-your-writes tokens and read routing without a cluster (bench/cluster.py's tests need one)."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest

from service.config import ConfigError, load_settings
from service.replicas import TOKEN_PATTERN, format_lsn, parse_lsn
from tests.conftest import running_app, settings_for

NOWHERE = "postgresql://postgres@127.0.0.1:9899/nothing"  # in this helper's port range, never listened on


def innovation(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "summary": "Routing test.",
        "category": "models_of_care",
        "evidenceLevel": "idea",
        "originSiteCode": "RXN",
        "originatedOn": "2021-04-01",
    }


def test_tokens_are_postgresql_lsns() -> None:
    for position in (0, 1, 0x3272068, (0x16 << 32) | 0xB374D848, (1 << 64) - 1):
        text = format_lsn(position)
        assert re.match(TOKEN_PATTERN, text), text
        assert parse_lsn(text) == position
    assert format_lsn((0x16 << 32) | 0xB374D848) == "16/B374D848"


def test_replica_settings_are_validated() -> None:
    settings = load_settings({"SPREAD_REPLICA_MAX_LAG_SECONDS": "2.5", "SPREAD_CONSISTENCY_WAIT_MS": "50"})
    assert settings.replica_max_lag_seconds == 2.5 and settings.consistency_wait_ms == 50
    with pytest.raises(ConfigError, match="SPREAD_REPLICA_MAX_LAG_SECONDS"):
        load_settings({"SPREAD_REPLICA_MAX_LAG_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="SPREAD_CONSISTENCY_WAIT_MS"):
        load_settings({"SPREAD_CONSISTENCY_WAIT_MS": "-1"})


async def test_successful_writes_answer_a_token_that_reads_accept(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post("/v1/innovations", json=innovation("Token"), headers=admin)
    assert r.status_code == 201, r.text
    token = r.headers["x-spread-consistency"]
    assert re.match(TOKEN_PATTERN, token), token
    later = await client.post("/v1/innovations", json=innovation("Later"), headers=admin)
    assert parse_lsn(later.headers["x-spread-consistency"]) > parse_lsn(token)  # past the first commit

    refused = await client.post("/v1/innovations", json={**innovation("Bad"), "originSiteCode": "NOPE"}, headers=admin)
    assert refused.status_code == 422
    assert "x-spread-consistency" not in refused.headers  # nothing was written

    read = await client.get(f"/v1/innovations/{r.json()['id']}", headers={**admin, "X-Spread-Consistency": token})
    assert read.status_code == 200, read.text
    assert "x-spread-consistency" not in read.headers  # reads answer none


@pytest.mark.parametrize("bad", ["latest", "0/", "1/2/3", "123456789/0", "0x1/0"])
async def test_a_malformed_token_is_refused_422(client: httpx.AsyncClient, admin: dict[str, str], bad: str) -> None:
    r = await client.get("/v1/innovations?limit=1", headers={**admin, "X-Spread-Consistency": bad})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "header.X-Spread-Consistency"


async def test_without_a_replica_health_says_nothing_of_one(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/ready")).json() == {"status": "ok"}


async def test_a_read_url_at_a_primary_is_reported_and_not_used(
    db_dsn: str, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="spread.replicas")
    async with running_app(settings_for(db_dsn, read_database_url=db_dsn)) as client:
        assert any("is not a standby" in m for m in caplog.messages), caplog.messages
        health = (await client.get("/health/ready")).json()
        assert health == {"status": "degraded", "replica": "not-a-standby"}
        app = client._transport.app  # type: ignore[attr-defined]
        assert not app.state.replica.usable
        r = await client.post("/v1/innovations", json=innovation("Primary only"), headers=admin)
        token = r.headers["x-spread-consistency"]
        read = await client.get(f"/v1/innovations/{r.json()['id']}", headers={**admin, "X-Spread-Consistency": token})
        assert read.status_code == 200


async def test_a_read_url_at_nothing_falls_back_to_the_primary(
    db_dsn: str, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="spread.replicas")
    async with running_app(settings_for(db_dsn, read_database_url=NOWHERE)) as client:
        assert any("cannot be reached" in m for m in caplog.messages), caplog.messages
        health = (await client.get("/health/ready")).json()
        assert health == {"status": "degraded", "replica": "unreachable"}
        assert (await client.get("/v1/innovations?limit=1", headers=admin)).status_code == 200
