"""Fuzz every operation in the spec against the real app and database (schemathesis).

The app runs under uvicorn on 127.0.0.1 (a free port) in a background thread with its own
database cloned from the test template; schemathesis generates requests from the published
spec and fails on any 5xx or any response that breaks the spec.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.auth.keys import create_key
from service.cli import openapi_document
from service.config import Settings
from service.db import connect
from service.embedded import with_database
from tests.conftest import RUN_ID, SERVER_DSN, TEMPLATE

MAX_EXAMPLES = int(os.environ.get("SPREAD_FUZZ_EXAMPLES", "15"))
schema = schemathesis.openapi.from_dict(openapi_document())


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


async def _key(dsn: str) -> str:
    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        _, secret = await create_key(conn, "Fuzzer", ["read", "write", "admin"])
        return secret
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def live_server(template_dsn: str) -> Iterator[tuple[str, dict[str, str]]]:
    import uvicorn

    from service.app import create_app

    name = f"spread_fuzz_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    dsn = with_database(SERVER_DSN, name)
    secret = asyncio.run(_key(dsn))
    port = _free_port()
    # a secret key, as a deployment with webhooks has (without one, registering a webhook is 503)
    app = create_app(Settings(database_url=dsn, pool_min_size=1, pool_max_size=4, secret_key=bytes(32)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:  # pragma: no cover
        pytest.fail("the app did not become ready")
    try:
        yield base, {"Authorization": f"Bearer {secret}"}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_spec(case, live_server) -> None:  # type: ignore[no-untyped-def]
    base, headers = live_server
    response = case.call(base_url=base, headers=headers, timeout=30)
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
