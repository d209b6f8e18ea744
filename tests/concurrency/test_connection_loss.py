"""The database drops the app's connections under load: 503s at worst, never a 500 or a lost write.

Only this test's own database has its backends terminated (``pg_terminate_backend``); the
PostgreSQL server is shared and is never restarted here.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest
from litestar import Request

from service.errors import is_connection_lost
from service.problems import to_problem
from tests.concurrency import ROUNDS
from tests.conftest import running_app, settings_for

CLIENTS = 6
KILLS = 5
REQUESTS_BETWEEN_KILLS = 30

TERMINATE_THE_APPS_BACKENDS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def _innovation(title: str) -> dict:
    return {
        "title": title,
        "summary": "Written while the database drops connections.",
        "category": "models_of_care",
        "evidenceLevel": "multi_site_evaluation",
        "originSiteCode": "RXN",
        "originatedOn": "2021-04-01",
    }


@ROUNDS
async def test_terminated_backends_give_503_not_500_and_lose_no_write(
    db_dsn: str, conn: asyncpg.Connection, admin: dict[str, str], rounds: int
) -> None:
    statuses: list[int] = []
    written: list[str] = []
    stop = asyncio.Event()
    progress = asyncio.Condition()

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 3 == 0:
                r = await client.post("/v1/innovations", json=_innovation(f"Load {n} {i}"), headers=admin)
                if r.status_code == 201:
                    written.append(r.json()["id"])
            elif written and i % 3 == 1:
                r = await client.get(f"/v1/innovations/{written[-1]}", headers=admin)
            else:
                r = await client.get("/v1/innovations?limit=5", headers=admin)
            statuses.append(r.status_code)
            assert r.status_code != 500, r.text
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), r.text
            if r.status_code == 503:
                assert "retry-after" in r.headers
            async with progress:
                progress.notify_all()

    async def wait_for(count: int) -> None:
        async with progress:
            await asyncio.wait_for(progress.wait_for(lambda: len(statuses) >= count), timeout=120)

    async with running_app(settings_for(db_dsn, pool_acquire_timeout=2)) as client:
        workers = [asyncio.create_task(worker(client, n)) for n in range(CLIENTS)]
        try:
            killed = 0
            for _ in range(KILLS * rounds // 5):
                await wait_for(len(statuses) + REQUESTS_BETWEEN_KILLS)
                killed += await conn.fetchval(TERMINATE_THE_APPS_BACKENDS)
            await wait_for(len(statuses) + REQUESTS_BETWEEN_KILLS)
        finally:
            stop.set()
            await asyncio.gather(*workers)
        assert killed > 0

        # The service answers again without help: poll with a deadline.
        deadline = time.monotonic() + 10
        while True:
            r = await client.get("/v1/me", headers=admin)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert r.status_code == 200, r.text
        r = await client.get("/health/ready")
        assert r.status_code in (200, 503)

    assert 500 not in statuses
    assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))
    present = await conn.fetchval("SELECT count(*) FROM innovations WHERE id = ANY($1::uuid[])", written)
    assert present == len(written)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.ConnectionFailureError("connection failure"),
        asyncpg.PostgresConnectionError("connection exception"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another server process"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released back to the pool"),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_connection_loss_maps_to_503_with_retry_after(exc: Exception) -> None:
    request = Request(scope={"type": "http", "method": "GET", "path": "/v1/me", "headers": [], "state": {}})
    problem, headers, _ = to_problem(request, exc)
    assert (problem.status, problem.type) == (503, "/problems/service-unavailable")
    assert headers["Retry-After"]


def test_a_value_that_does_not_fit_is_not_taken_for_a_lost_connection() -> None:
    assert not is_connection_lost(asyncpg.DataError("invalid input for query argument $1: 2147483648"))
    assert not is_connection_lost(asyncpg.InterfaceError("cannot use a closed pool"))
