"""A live Spread with the demo registry under uvicorn, and Debian's Chromium driven by Playwright
(its Python API with the system browser's ``executable_path``: nothing downloads a browser).

Skips, loudly, only where Chromium or Playwright is missing (``.ci/run`` installs Chromium)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.db import connect
from service.embedded import with_database
from tests.conftest import RUN_ID, SERVER_DSN, TEMPLATE
from tests.test_schemathesis import _admin, _free_port

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).exists()), None)
SKIP = (
    "NO CHROMIUM FOUND: the Spread Explorer was NOT tested in a browser. Install Debian's `chromium` "
    "(apt-get install -y chromium; .ci/run does so) to run tests/explorer."
)


class Live:
    def __init__(self, base: str, read_key: str, write_key: str, revoked_key: str) -> None:
        self.base = base
        self.read_key = read_key
        self.write_key = write_key
        self.revoked_key = revoked_key

    def api(self, path: str, **params: Any) -> Any:
        r = httpx.get(self.base + path, params=params, headers={"Authorization": f"Bearer {self.read_key}"}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def all_items(self, path: str, **params: Any) -> list[Any]:
        items: list[Any] = []
        cursor = None
        while True:
            page = self.api(path, **params, limit=100, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return items


async def _seed(dsn: str) -> tuple[str, str, str]:
    from service.auth.keys import create_key
    from service.auth.queries import revoke_key
    from service.demo import load_demo

    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        await load_demo(conn, echo=lambda *_: None)
        _, read = await create_key(conn, "Explorer reader", ["read"])
        _, write = await create_key(conn, "Explorer writer", ["read", "write"])
        revoked_id, revoked = await create_key(conn, "Explorer revoked", ["read"])
        await revoke_key(conn, revoked_id)
        return read, write, revoked
    finally:
        await conn.close()


def _serve(settings: Settings) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from service.app import create_app

    port = _free_port()
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
                return server, thread, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:  # pragma: no cover
            pytest.fail("the app did not become ready")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def demo_dsn(template_dsn: str) -> Iterator[tuple[str, tuple[str, str, str]]]:
    name = f"spread_explorer_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    dsn = with_database(SERVER_DSN, name)
    try:
        yield dsn, asyncio.run(_seed(dsn))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _live(demo_dsn: tuple[str, tuple[str, str, str]], public_read: bool) -> Iterator[Live]:
    dsn, keys = demo_dsn
    settings = Settings(database_url=dsn, pool_min_size=1, pool_max_size=4, explorer_public_read=public_read)
    server, thread, base = _serve(settings)
    try:
        yield Live(base, *keys)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def public(demo_dsn: tuple[str, tuple[str, str, str]]) -> Iterator[Live]:
    """SPREAD_EXPLORER_PUBLIC_READ=true: the explorer reads without a key."""
    yield from _live(demo_dsn, public_read=True)


@pytest.fixture(scope="module")
def private(demo_dsn: tuple[str, tuple[str, str, str]]) -> Iterator[Live]:
    """The default: every request needs a key."""
    yield from _live(demo_dsn, public_read=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip(SKIP)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()
