"""Fuzz every operation of the spec against a live server with every schemathesis check.

The app runs under uvicorn on a free loopback port, on its own database cloned from the test
template with the demo data loaded (innovations, adoptions, measures, a campaign), so ids
resolve. Schemathesis (`st run --checks all`: server errors, status codes, content types,
response schemas and headers, positive and negative data acceptance, Allow headers, auth,
use-after-free, ...) runs its examples, coverage, fuzzing and stateful phases; the stateful
phase follows the spec's links from each create to the reads and writes of what it made.
Requests carry keys of each scope (admin, write, read) and a partner's key for two sites
(tests/fuzz/hooks.py), so authorisation is fuzzed too. tests/fuzz/schemathesis.toml says what
the run allows and why.

Each run uses a fresh seed and prints it; replay a failure with ``SPREAD_FUZZ_SEED=<seed>``.
``SPREAD_FUZZ_EXAMPLES`` sets the examples per operation (default 8); the slow test
(``SPREAD_FUZZ_SLOW=1``) runs 100.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from service.db import connect
from service.embedded import with_database
from tests.conftest import ROOT, RUN_ID, SERVER_DSN, TEMPLATE

FUZZ = Path(__file__).parent / "fuzz"
PARTNER_SITES = ["RQM", "RXN"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(SERVER_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(dsn: str) -> list[str]:
    """Demo data, and a key of each scope plus a partner's key for a few sites."""
    from service.auth.keys import create_key
    from service.auth.queries import ensure_partner, grant_sites
    from service.demo import load_demo

    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        await load_demo(conn, echo=lambda *_: None)
        keys = []
        for partner, scopes in [
            ("Fuzz admin", ["read", "write", "admin"]),
            ("Fuzz writer", ["read", "write"]),
            ("Fuzz reader", ["read"]),
            ("Fuzz partner", ["read", "write"]),
        ]:
            _, secret = await create_key(conn, partner, scopes)
            keys.append(secret)
        missing = await grant_sites(conn, await ensure_partner(conn, "Fuzz partner"), PARTNER_SITES)
        assert not missing, f"the demo data lacks sites {missing}"
        return [keys[0], *keys]  # admin twice: most requests should reach the writes
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def live_server(template_dsn: str) -> Iterator[tuple[str, list[str]]]:
    import uvicorn

    from service.app import create_app

    name = f"spread_fuzz_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    dsn = with_database(SERVER_DSN, name)
    keys = asyncio.run(_seed(dsn))
    port = _free_port()
    app = create_app(
        Settings(
            database_url=dsn,
            pool_min_size=1,
            pool_max_size=4,
            rate_limit_per_minute=0,
            rate_limit_failures_per_minute=0,
            secret_key=bytes(32),
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:  # pragma: no cover
            pytest.fail("the app did not become ready")
        time.sleep(0.1)
    try:
        yield base, keys
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fuzz(base: str, keys: list[str], examples: int) -> None:
    seed = int(os.environ.get("SPREAD_FUZZ_SEED") or random.SystemRandom().randrange(2**63))
    print(f"\nschemathesis seed {seed}: replay with SPREAD_FUZZ_SEED={seed}", flush=True)
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "--config-file",
        str(FUZZ / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{base}/schema/openapi.json",
        "--url",
        base,
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
        "SPREAD_FUZZ_KEYS": json.dumps(keys),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)  # noqa: S603
    output = run.stdout + run.stderr
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-4000:]
    print(summary, f"\n(fuzzing took {time.monotonic() - started:.0f} s)", flush=True)
    if run.returncode != 0:
        failures = output[output.find("FAILURES") :] if "FAILURES" in output else output
        pytest.fail(f"schemathesis found failures (seed {seed}, SPREAD_FUZZ_SEED={seed} replays):\n{failures[:30000]}")


def test_api_conforms_to_its_spec(live_server: tuple[str, list[str]]) -> None:
    base, keys = live_server
    _fuzz(base, keys, int(os.environ.get("SPREAD_FUZZ_EXAMPLES", "8")))


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("SPREAD_FUZZ_SLOW"), reason="set SPREAD_FUZZ_SLOW=1 to fuzz 100 examples per operation"
)
def test_api_conforms_to_its_spec_at_length(live_server: tuple[str, list[str]]) -> None:
    base, keys = live_server
    _fuzz(base, keys, 100)
