# ruff: noqa: E402, ASYNC230, ASYNC110, SIM117
"""CPU per request, in-process and interleaved: Spread with the fast path on and off, and the minimal peer.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<a migrated database with an innovation> \
        python bench/cpu_per_request.py

Each app is called directly as ASGI (no HTTP client), 16 concurrent tasks, 1,000 requests a
round, the three apps interleaved over 4 rounds; prints ``time.process_time()`` per request,
the minimum over the rounds. Creates a read key named ``cpu`` in that database.
"""

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
DSN = os.environ["DATABASE_URL"]
os.environ["SPREAD_RATE_LIMIT_PER_MINUTE"] = "10000000"
import logging

from bench.peers import minimal_litestar as peer
from service import logs
from service.app import create_app
from service.auth.keys import create_key
from service.config import Settings
from service.db import connect, pool_lifespan


async def call(app, path, headers):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("t", 80),
        "client": ("127.0.0.1", 1),
        "headers": headers,
    }
    status = 0

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(m):
        nonlocal status
        if m["type"] == "http.response.start":
            status = m["status"]

    await app(scope, receive, send)
    return status


async def rounds(app, path, headers, n=1000, conc=16):
    async def worker(k):
        for _ in range(k):
            assert await call(app, path, headers) == 200

    t0 = time.process_time()
    await asyncio.gather(*(worker(n // conc) for _ in range(conc)))
    return (time.process_time() - t0) / n * 1e6


async def main():
    settings = Settings(database_url=DSN, pool_min_size=2, pool_max_size=10, rate_limit_per_minute=10_000_000)
    conn = await connect(DSN, settings)
    iid = await conn.fetchval("SELECT id FROM innovations ORDER BY created_at LIMIT 1")
    _, secret = await create_key(conn, "cpu", ["read"])
    await conn.close()
    logs.access_writer = logs.AccessWriter(open(os.devnull, "w"))  # noqa: SIM115
    logging.getLogger("spread.access").setLevel(logging.INFO)
    hdr = [(b"authorization", f"Bearer {secret}".encode())]
    apps = {}
    for name, fast in (("fast", True), ("litestar", False)):
        s = Settings(
            database_url=DSN, pool_min_size=2, pool_max_size=10, rate_limit_per_minute=10_000_000, fast_path=fast
        )
        apps[name] = (create_app(s), s)
    async with pool_lifespan(apps["fast"][1])(apps["fast"][0]), pool_lifespan(apps["litestar"][1])(apps["litestar"][0]):
        async with peer.lifespan(peer.app):
            for a, _ in apps.values():
                while not a.state.key_cache.enabled:
                    await asyncio.sleep(0.01)
            res = {}
            for _r in range(4):
                for name, path in (("innovation", f"/v1/innovations/{iid}"), ("me", "/v1/me")):
                    res.setdefault(("minimal", name), []).append(await rounds(peer.app, path, []))
                    for k, (a, _) in apps.items():
                        res.setdefault((k, name), []).append(await rounds(a, path, hdr))
            for k, v in sorted(res.items()):
                print(k, f"min {min(v):.0f} us/request")


asyncio.run(main())
