"""The fast path (service.fastpath) answers exactly what the Litestar routes answer.

Two apps on one database, one with the fast path and one without, each with its own rate
limiter on a fixed clock, get the same requests in the same order as raw ASGI calls; the
status, every header (names, values, order) and the body must be equal. Gzip bodies are
compared decompressed (the gzip header carries the time it was made).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx

from tests.conftest import KeyMaker, app_of, cache_ready, running_app, settings_for
from tests.factories import make_innovation

NOW = 1_800_000_030.0  # mid-window: the rate-limit reset is the same for both apps


@contextlib.asynccontextmanager
async def two_apps(db_dsn: str) -> AsyncIterator[tuple[Any, Any]]:
    async with (
        running_app(settings_for(db_dsn), clock=lambda: NOW) as fast_client,
        running_app(settings_for(db_dsn), clock=lambda: NOW) as slow_client,
    ):
        # The rate-limit headers must agree: no flush mixes the two apps' counts (they share a
        # key and a table) or takes in-flight hits out of the local view during the cases.
        for c in (fast_client, slow_client):
            app_of(c).state.rate_limiter.flush_interval = 3600
        await asyncio.sleep(0.3)  # a flush already sleeping on 0.25 s has run
        await cache_ready(fast_client)
        await cache_ready(slow_client)
        slow = app_of(slow_client)
        slow.asgi_handler.fast.enabled = False
        yield app_of(fast_client), slow


async def call(app: Any, path: str, headers: dict[str, str], method: str = "GET") -> tuple[int, list[Any], bytes]:
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"x-request-id": "same-id", **headers}.items()],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], list(start["headers"]), body


def _decoded(headers: list[Any], body: bytes) -> bytes:
    return gzip.decompress(body) if (b"content-encoding", b"gzip") in headers else body


async def test_both_paths_answer_byte_for_byte(
    client: httpx.AsyncClient, db_dsn: str, admin: dict[str, str], make_key: KeyMaker
) -> None:
    innovation = await make_innovation(client, admin, description="A long description. " * 80)
    small = await make_innovation(client, admin, title="Small one")
    reader = await make_key("read", partner="Reader", sites=["RXN"])
    etag = (await client.get(f"/v1/innovations/{innovation['id']}", headers=reader)).headers["etag"]
    token = reader["Authorization"]
    missing = uuid.uuid4()
    cases: list[tuple[str, dict[str, str]]] = [
        ("/v1/me", {"Authorization": token}),  # first: a cache miss, so Litestar for both
        (f"/v1/innovations/{innovation['id']}", {"Authorization": token}),
        (f"/v1/innovations/{innovation['id']}", {"Authorization": token, "Accept-Encoding": "gzip, deflate"}),
        (f"/v1/innovations/{small['id']}", {"Authorization": token, "Accept-Encoding": "gzip"}),
        (f"/v1/innovations/{innovation['id']}", {"Authorization": token, "If-None-Match": etag}),
        (f"/v1/innovations/{innovation['id']}", {"Authorization": token, "If-None-Match": f'W/"1", {etag}'}),
        (f"/v1/innovations/{innovation['id']}", {"Authorization": token, "If-None-Match": '"999999"'}),
        (f"/v1/innovations/{missing}", {"Authorization": token}),  # 404
        ("/v1/me", {"Authorization": token}),
        ("/v1/me", {"Authorization": token, "Accept-Encoding": "gzip"}),
        (f"/v1/innovations/{innovation['id']}", {}),  # 401: no key
        (f"/v1/innovations/{innovation['id']}", {"Authorization": "Bearer spr_unknown"}),  # 401
        (f"/v1/innovations/{innovation['id']}", {"Authorization": "Basic abc"}),  # 401
        ("/v1/innovations/not-a-uuid", {"Authorization": token}),  # Litestar's answer for both
        (f"/v1/innovations/{str(innovation['id']).upper()}", {"Authorization": token}),
        (f"/v1/innovations/{innovation['id']}?x=1", {"Authorization": token}),
        (f"/v1/innovations/{innovation['id']}", {"Authorization": token, "If-None-Match": "*"}),
    ]
    async with two_apps(db_dsn) as (fast, slow):
        for path, headers in cases:
            a = await call(fast, path, headers)
            b = await call(slow, path, headers)
            assert a[0] == b[0], (path, headers, a, b)
            assert a[1] == b[1], (path, headers, a[1], b[1])
            assert _decoded(a[1], a[2]) == _decoded(b[1], b[2]), (path, headers)
        statuses = [await call(fast, p, h) for p, h in cases]
        assert {s for s, _, _ in statuses} >= {200, 304, 401, 404}
        served = fast.asgi_handler.fast.served
        assert served >= 8, served  # the fast path really answered the hot cases
        assert slow.asgi_handler.fast.served == 0


async def test_a_422_answers_the_same(client: httpx.AsyncClient, db_dsn: str, reader: dict[str, str]) -> None:
    async with two_apps(db_dsn) as (fast, slow):
        path = "/v1/innovations/0000"
        for headers in ({**reader}, {**reader, "If-Match": "x"}):
            await call(fast, "/v1/me", reader)
            await call(slow, "/v1/me", reader)
            a, b = await call(fast, path, headers), await call(slow, path, headers)
            assert a == b
        a = await call(fast, "/v1/innovations?limit=0", reader)
        b = await call(slow, "/v1/innovations?limit=0", reader)
        assert a[0] == 422 and a == b


async def test_revocation_acts_on_the_fast_path_at_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, admin: dict[str, str], make_key: KeyMaker
) -> None:
    from tests.conftest import key_change

    innovation = await make_innovation(client, admin)
    reader = await make_key("read", partner="Reader")
    await cache_ready(client)
    path = f"/v1/innovations/{innovation['id']}"
    assert (await client.get(path, headers=reader)).status_code == 200
    before = app_of(client).asgi_handler.fast.served
    assert (await client.get(path, headers=reader)).status_code == 200
    assert app_of(client).asgi_handler.fast.served == before + 1
    async with key_change(client):
        await conn.execute("UPDATE api_keys SET revoked_at = now()")
    r = await client.get(path, headers=reader)
    assert r.status_code == 401, r.text
    assert "revoked" in r.json()["detail"]


async def test_a_read_whose_connection_dies_is_retried_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, admin: dict[str, str], make_key: KeyMaker
) -> None:
    """The request's backend is terminated while it waits on a lock; the read is answered
    from a fresh connection, on the fast path and through Litestar alike."""
    innovation = await make_innovation(client, admin)
    reader = await make_key("read", partner="Reader")
    await cache_ready(client)
    app = app_of(client)
    for fast in (True, False):
        app.asgi_handler.fast.enabled = fast
        path = f"/v1/innovations/{innovation['id']}"
        assert (await client.get(path, headers=reader)).status_code == 200
        before = app.asgi_handler.fast.served
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE innovations IN ACCESS EXCLUSIVE MODE")
        request = asyncio.create_task(client.get(path, headers=reader))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        killed = False
        while not killed:
            assert loop.time() < deadline, "the request never waited on the lock"
            killed = bool(
                await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'spread' AND wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            await asyncio.sleep(0.01)
        await tx.rollback()
        r = await request
        assert r.status_code == 200, r.text
        assert r.json()["id"] == innovation["id"]
        assert app.asgi_handler.fast.served == before + (1 if fast else 0)


def test_metrics_label_both_paths_alike() -> None:
    from service.app import create_app
    from service.config import Settings
    from service.fastpath import INNOVATION_TEMPLATE

    app = create_app(Settings(database_url="postgresql://unused/none"))
    formats = {r.path: r.path_format for r in app.routes}
    assert formats["/v1/innovations/{id:uuid}"] == INNOVATION_TEMPLATE
    assert formats["/v1/me"] == "/v1/me"
