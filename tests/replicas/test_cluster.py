"""On a real cluster (bench/cluster.py): read-your-writes, the change feed on a standby, revocation, faults.

``slow``: it starts PostgreSQL 15 primary + streaming replica, two PgBouncers and two API
processes on loopback ports 9801-9821 (about a minute), so it runs only with ``-m slow``.
It needs root or the ``postgres`` user, Debian's PostgreSQL 15 and PgBouncer (installed
with apt-get when absent).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.auth.keys import create_key
from service.changes.queries import feed
from service.db import init_connection

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import cluster as local_cluster  # bench/cluster.py

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (local_cluster.PG_BIN / "postgres").exists(), reason="needs Debian's PostgreSQL 15"),
    pytest.mark.skipif(os.geteuid() != 0, reason="starts PostgreSQL as the postgres user: needs root"),
]

MAX_LAG = 2.0  # SPREAD_REPLICA_MAX_LAG_SECONDS for this cluster, so the lag test is short


@pytest.fixture(scope="module")
def cluster() -> Iterator[local_cluster.Cluster]:
    c = local_cluster.Cluster(Path(tempfile.mkdtemp(prefix="spread-cluster-test-")))
    try:
        c.start(2, env={"SPREAD_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG), "SPREAD_REPLICA_CHECK_INTERVAL": "0.2"})
        yield c
    finally:
        c.stop(keep=bool(os.environ.get("SPREAD_CLUSTER_KEEP")))  # keep the logs to read a failure


@pytest.fixture
async def primary(cluster: local_cluster.Cluster) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(cluster.primary_dsn)
    await init_connection(conn)  # JSON as the service decodes it
    yield conn
    await conn.close()


@pytest.fixture
async def standby(cluster: local_cluster.Cluster) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(cluster.replica_dsn)
    await init_connection(conn)
    yield conn
    await conn.close()


def api(cluster: local_cluster.Cluster, index: int) -> str:
    return f"http://127.0.0.1:{cluster.api_ports[index]}"


def auth(cluster: local_cluster.Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.key}"}


def innovation(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "summary": "Written on the local cluster.",
        "category": "models_of_care",
        "evidenceLevel": "idea",
        "originSiteCode": "RXN",
        "originatedOn": "2021-04-01",
    }


async def until(predicate: Any, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def replica_state(client: httpx.AsyncClient, base: str) -> str:
    r = await client.get(f"{base}/health/ready")
    return str(r.json().get("replica"))


async def test_read_your_writes_on_a_paused_replica(
    cluster: local_cluster.Cluster, standby: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(headers=auth(cluster), timeout=30) as client:
        await until(lambda: _is(client, api(cluster, 1), "ok"), what="replica ok")
        await standby.execute("SELECT pg_wal_replay_pause()")
        try:
            r = await client.post(f"{api(cluster, 0)}/v1/innovations", json=innovation("Read your writes"))
            assert r.status_code == 201, r.text
            token = r.headers["x-spread-consistency"]
            new = r.json()["id"]
            # Without the token the other process reads the (paused) replica: the write is not there yet.
            stale = await client.get(f"{api(cluster, 1)}/v1/innovations/{new}")
            assert stale.status_code == 404, stale.text
            # With it, the replica cannot show the write within 200 ms: the primary answers.
            mine = await client.get(f"{api(cluster, 1)}/v1/innovations/{new}", headers={"X-Spread-Consistency": token})
            assert mine.status_code == 200, mine.text
            # Beyond the lag bound, the replica is not used at all (and /health/ready says so).
            await until(lambda: _is(client, api(cluster, 1), "lagging"), what="replica reported lagging")
            ready = (await client.get(f"{api(cluster, 1)}/health/ready")).json()
            assert ready["status"] == "degraded" and ready["replicaLagSeconds"] > MAX_LAG, ready
            assert (await client.get(f"{api(cluster, 1)}/v1/innovations/{new}")).status_code == 200
        finally:
            await standby.execute("SELECT pg_wal_replay_resume()")
        await until(lambda: _is(client, api(cluster, 1), "ok"), what="replica ok again")
        replayed = await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", token)
        assert replayed
        r = await client.get(f"{api(cluster, 1)}/v1/innovations/{new}", headers={"X-Spread-Consistency": token})
        assert r.status_code == 200


async def _is(client: httpx.AsyncClient, base: str, state: str) -> bool:
    return await replica_state(client, base) == state


async def test_change_feed_snapshot_rule_holds_on_the_standby(
    cluster: local_cluster.Cluster, primary: asyncpg.Connection, standby: asyncpg.Connection
) -> None:
    """A transaction still open on the primary hides later-committed changes on the standby too."""
    async with httpx.AsyncClient(headers=auth(cluster), timeout=30) as client:
        before = await feed(standby, 0, None, None, 10_000, None)
        last = max((c.seq for c in before), default=0)
        opened = await asyncpg.connect(cluster.primary_dsn)
        try:
            tx = opened.transaction()
            await tx.start()
            await opened.fetchval("SELECT pg_current_xact_id()")  # holds an older txid, writes nothing
            r = await client.post(f"{api(cluster, 0)}/v1/innovations", json=innovation("Behind an open transaction"))
            assert r.status_code == 201, r.text
            token = r.headers["x-spread-consistency"]
            await until(
                lambda: standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", token), what="replay"
            )
            # the change is on the standby, but the feed rule (txid < xmin) must not show it yet
            assert await standby.fetchval("SELECT count(*) FROM changes WHERE seq > $1", last) > 0
            assert [c.seq for c in await feed(standby, last, None, None, 100, None)] == []
            assert [c.seq for c in await feed(primary, last, None, None, 100, None)] == []
            await tx.commit()
        finally:
            await opened.close()

        async def shown() -> bool:
            return bool(await feed(standby, last, None, None, 100, None))

        await until(shown, what="the change in the standby's feed once the old transaction ended")
        on_standby = [c.seq for c in await feed(standby, last, None, None, 100, None)]
        assert on_standby == [c.seq for c in await feed(primary, last, None, None, 100, None)]


async def test_revocation_is_immediate_on_every_process(
    cluster: local_cluster.Cluster, primary: asyncpg.Connection
) -> None:
    key_id, secret = await create_key(primary, "Revoked partner", ["read"])
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(timeout=30) as client:
        for i in (0, 1):  # cached in both processes (reads served by the replica)
            assert (await client.get(f"{api(cluster, i)}/v1/innovations?limit=1", headers=headers)).status_code == 200
        await primary.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key_id)
        revoked = time.monotonic()
        # The NOTIFY reaches each process's listener (through PgBouncer) within milliseconds of
        # the commit; a key still cached for ever would mean the listener is deaf.
        for i in (0, 1):

            async def refused(i: int = i) -> bool:
                r = await client.get(f"{api(cluster, i)}/v1/innovations?limit=1", headers=headers)
                assert r.status_code in (200, 401), r.text
                return r.status_code == 401

            await until(refused, timeout=10, what=f"revocation on API process {i}")
        print(f"\nrevocation effective on both processes {1000 * (time.monotonic() - revoked):.0f} ms after commit")


async def test_faults_under_load_lose_no_acknowledged_write(cluster: local_cluster.Cluster) -> None:
    """Restart the replica, restart one API process, promote the replica: load runs throughout."""
    acknowledged: list[str] = []
    statuses: dict[int, dict[int, int]] = {0: {}, 1: {}}
    transport_errors: dict[int, int] = {0: 0, 1: 0}
    unexpected: list[str] = []
    untokened = [0]
    stop = asyncio.Event()
    ports = list(cluster.api_ports)

    async def worker(client: httpx.AsyncClient, index: int, n: int) -> None:
        base = f"http://127.0.0.1:{ports[index]}"
        token: str | None = None
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 2:
                    r = await client.post(f"{base}/v1/innovations", json=innovation(f"Load {index}-{n}-{i}"))
                    if r.status_code == 201:
                        acknowledged.append(r.json()["id"])
                        # absent only if the primary went away between the commit and the
                        # token's query (the promotion): keep the previous one
                        token = r.headers.get("x-spread-consistency", token)
                        untokened[0] += "x-spread-consistency" not in r.headers
                elif acknowledged:
                    extra = {"X-Spread-Consistency": token} if token else {}
                    r = await client.get(f"{base}/v1/innovations/{acknowledged[-1]}", headers=extra)
                else:
                    r = await client.get(f"{base}/v1/innovations?limit=5")
            except httpx.TransportError:
                transport_errors[index] += 1
                await asyncio.sleep(0.1)
                continue
            statuses[index][r.status_code] = statuses[index].get(r.status_code, 0) + 1
            if r.status_code == 503:
                if "retry-after" not in r.headers:
                    unexpected.append(f"503 without Retry-After: {r.text}")
                await asyncio.sleep(0.1)
            elif r.status_code not in (200, 201):
                unexpected.append(f"{r.status_code}: {r.text}")

    def served(index: int) -> int:
        return sum(n for s, n in statuses[index].items() if s < 300)

    async def progress(index: int, more: int = 20, timeout: float = 60) -> None:
        start = served(index)

        async def moved() -> bool:
            return served(index) >= start + more

        await until(moved, timeout, f"API process {index} serving again")

    async with httpx.AsyncClient(headers=auth(cluster), timeout=30) as client:
        tasks = [asyncio.create_task(worker(client, i % 2, i)) for i in range(6)]
        try:
            await progress(0)
            await progress(1)
            # 1. the replica restarts: reads fall back to the primary
            await asyncio.to_thread(cluster.restart_replica)
            await progress(0)
            await progress(1)
            # 2. one API process restarts: the other carries on meanwhile
            during = served(0)
            await asyncio.to_thread(cluster.restart_api, 1)
            assert served(0) > during, "API process 0 stopped serving while process 1 restarted"
            await progress(1)
            # 3. the primary stops; the replica is promoted and PgBouncer pointed at it
            await asyncio.to_thread(cluster.promote)
            await progress(0)
            await progress(1)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    assert not unexpected, unexpected[:5]
    assert transport_errors[0] == 0, "API process 0 was never restarted, yet connections to it failed"
    conn = await asyncpg.connect(cluster.primary_dsn)  # the promoted replica
    try:
        assert not await conn.fetchval("SELECT pg_is_in_recovery()")
        found = await conn.fetchval("SELECT count(*) FROM innovations WHERE id = ANY($1::uuid[])", acknowledged)
    finally:
        await conn.close()
    assert len(acknowledged) > 50
    assert found == len(acknowledged), f"{len(acknowledged) - found} acknowledged writes lost"
    print(
        f"\nstatuses {statuses}, transport errors {transport_errors}, acknowledged writes {len(acknowledged)},"
        f" acknowledged without a token {untokened[0]}"
    )
