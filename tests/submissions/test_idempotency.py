"""Idempotency-Key: replays return the stored answer and write nothing; keys last 24 hours."""

from __future__ import annotations

import asyncio

import httpx

from tests.submissions.helpers import counts, innovation, report, submit


async def test_same_key_same_body_replays(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    rows = [report("RQM"), report("RW6", "2022-06-01", learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}])]
    first = await submit(client, admin, rows, key="batch-2024-01")
    assert first.status_code == 201, first.text
    before = await counts(conn)
    again = await submit(client, admin, rows, key="batch-2024-01")
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await counts(conn) == before

    # the same key with anything else sent is refused
    for other, mode in (([report("RQM", stage="sustaining")], None), (rows, "partial")):
        r = await submit(client, admin, other, mode=mode, key="batch-2024-01")
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "Idempotency-Key"
        assert "different batch" in r.json()["detail"]
    assert await counts(conn) == before

    # keys belong to a partner: another partner's identical key is its own
    other = await submit(client, await _partner_key(conn, client), rows, key="batch-2024-01", mode="partial")
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


async def _partner_key(conn, client) -> dict[str, str]:
    from service.auth.keys import create_key
    from service.auth.queries import ensure_partner, grant_sites

    _, secret = await create_key(conn, "London HIN", ["read", "write"])
    await grant_sites(conn, await ensure_partner(conn, "London HIN"), ["Y56"])
    return {"Authorization": f"Bearer {secret}"}


async def test_keys_expire_after_24_hours(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    r = await submit(client, admin, [report("RQM")], key="k1")
    assert r.status_code == 201
    await submit(client, admin, [report("RW6")], key="old")
    await conn.execute("UPDATE submission_keys SET created_at = now() - interval '25 hours'")
    # an expired key is a new key again, and the stale one is taken over
    r = await submit(client, admin, [report("RQM", stage="sustaining")], key="k1")
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["updated"] == 1
    # later keyed submissions delete expired keys
    assert await conn.fetchval("SELECT count(*) FROM submission_keys WHERE idempotency_key = 'old'") == 0
    assert await conn.fetchval("SELECT count(*) FROM submission_keys") == 1
    # the submissions themselves stay readable
    assert await conn.fetchval("SELECT count(*) FROM submissions") == 3


async def test_failed_atomic_batch_does_not_use_up_its_key(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    r = await submit(client, admin, [report("RQM"), report("ZZZ99")], key="fix-and-retry")
    assert r.status_code == 422
    r = await submit(client, admin, [report("RQM")], key="fix-and-retry")
    assert r.status_code == 201, r.text


async def test_concurrent_retries_write_once(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    rows = [report(site) for site in ("RQM", "RW6", "R0A", "RJ1")]
    answers = await asyncio.gather(*(submit(client, admin, rows, key="same") for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await conn.fetchval("SELECT count(*) FROM adoptions WHERE NOT is_origin") == 4
    assert await conn.fetchval("SELECT count(*) FROM submissions") == 1
