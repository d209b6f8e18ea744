"""The generated clients, unedited, against a live server (issue #15).

``clients/generate.py`` (``python3 dev.py clients``) generates the Python client with
openapi-python-client (failing on any warning) and the TypeScript types with openapi-typescript,
compiled with ``tsc --strict``; each language's example then runs against uvicorn on a free
loopback port, over a database cloned from the test template with the demo data: list with a
filter following ``nextCursor``, ETag and 304, an adoption with a learned-from link, its
lineage, a CSV batch, a 422 problem.
"""

from __future__ import annotations

import asyncio
import os
import shutil
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
from tests.test_schemathesis import _admin, _free_port

CLIENTS = ROOT / "clients"


async def _seed(dsn: str) -> str:
    from service.auth.keys import create_key
    from service.demo import load_demo

    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        await load_demo(conn, echo=lambda *_: None)
        _, secret = await create_key(conn, "Client examples", ["read", "write", "admin"])
        return secret
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def live(template_dsn: str) -> Iterator[tuple[str, str]]:
    import uvicorn

    from service.app import create_app

    name = f"spread_clients_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    dsn = with_database(SERVER_DSN, name)
    key = asyncio.run(_seed(dsn))
    port = _free_port()
    settings = Settings(database_url=dsn, pool_min_size=1, pool_max_size=4, secret_key=bytes(32))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
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
        yield base, key
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def test_python_client_works_unedited(live: tuple[str, str]) -> None:
    _run([sys.executable, str(CLIENTS / "generate.py"), "python"], ROOT)
    base, key = live
    env = {**os.environ, "SPREAD_URL": base, "SPREAD_KEY": key, "PYTHONPATH": str(CLIENTS / "python")}
    output = _run([sys.executable, str(CLIENTS / "python" / "example.py")], ROOT, env)
    assert "python client: all steps passed" in output, output


@pytest.mark.skipif(
    shutil.which("npm") is None and not os.environ.get("CI"),  # in CI (.ci/run installs Node) it must run
    reason="the TypeScript client needs Node.js and npm",
)
def test_typescript_client_compiles_strictly_and_works_unedited(live: tuple[str, str]) -> None:
    _run([sys.executable, str(CLIENTS / "generate.py"), "typescript"], ROOT)  # npm ci, generate, tsc --strict
    base, key = live
    node = shutil.which("node")
    assert node is not None
    env = {**os.environ, "SPREAD_URL": base, "SPREAD_KEY": key}
    output = _run([node, "dist/example.js"], CLIENTS / "typescript", env)
    assert "typescript client: all steps passed" in output, output
