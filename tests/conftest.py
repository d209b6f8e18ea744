"""Test fixtures: a real PostgreSQL, migrated once into a template, cloned per test.

The server is ``TEST_DATABASE_URL`` if set, else PostgreSQL at 127.0.0.1:5432 if it answers,
else an embedded PostgreSQL in ``.pytest-pg/`` (``SPREAD_TEST_EMBEDDED=1`` forces that path). Each test gets a fresh database cloned from
the template (reference sites included), so tests never see each other's rows. Names carry a
random suffix, so several test runs can share one server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.app import create_app
from service.auth.keys import create_key
from service.config import Settings
from service.db import connect, pool_lifespan
from service.embedded import with_database

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]


def _server_dsn() -> str:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if os.environ.get("SPREAD_TEST_EMBEDDED"):  # force the no-PostgreSQL-installed path
        from service import embedded

        return embedded.start(ROOT / ".pytest-pg")

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(local, timeout=2)
        except Exception:
            return False
        await conn.close()
        return True

    if asyncio.run(probe()):
        return local
    from service import embedded

    return embedded.start(ROOT / ".pytest-pg")


SERVER_DSN = _server_dsn()
TEMPLATE = f"spread_tpl_{RUN_ID}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _prepare_template() -> str:
    from service import migrate

    asyncio.run(_admin(f'CREATE DATABASE "{TEMPLATE}"'))
    dsn = with_database(SERVER_DSN, TEMPLATE)
    migrate.upgrade(dsn)
    asyncio.run(_seed_template(dsn))
    return dsn


async def _seed_template(dsn: str) -> None:
    """Reference data every test can rely on (the real NHS sites), loaded once."""
    try:
        from service.sites.importer import import_reference_sites
    except ImportError:
        return
    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        await import_reference_sites(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_dsn() -> Any:
    dsn = _prepare_template()
    yield dsn
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))


@pytest.fixture
async def db_dsn(template_dsn: str) -> AsyncIterator[str]:
    name = f"spread_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    try:
        yield with_database(SERVER_DSN, name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, for arranging and checking rows."""
    c = await connect(db_dsn, Settings(database_url=db_dsn))
    try:
        yield c
    finally:
        await c.close()


def settings_for(dsn: str, **overrides: Any) -> Settings:
    return Settings(**{"database_url": dsn, "pool_min_size": 1, "pool_max_size": 4, **overrides})


@contextlib.asynccontextmanager
async def running_app(settings: Settings, clock: Callable[[], float] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    # The pool lifespan is entered directly: Litestar's own lifespan runs in an anyio task
    # group, which cannot be exited from the fixture's teardown task. It also starts the key
    # listener and the rate-limit flusher (clock: the rate limiter's, for tests that control time).
    async with pool_lifespan(settings, clock=clock)(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def app_of(client: httpx.AsyncClient) -> Any:
    """The Litestar app behind a client from :func:`running_app`."""
    return client._transport.app  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def key_change(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """Around a change to keys or partners: after it, wait until the app's key cache has heard of it.

    Revocation reaches the cache by NOTIFY, delivered a moment after the change commits; the
    cache is empty (and bypassed) while its listener is not connected, so then nothing waits.
    """
    cache = app_of(client).state.key_cache
    before = cache.generation
    yield
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while cache.enabled and cache.generation == before:
        assert loop.time() < deadline, "the key listener never heard of the change"
        await asyncio.sleep(0.005)


async def cache_ready(client: httpx.AsyncClient) -> None:
    """Wait until the app's key listener is connected (the cache is in use)."""
    cache = app_of(client).state.key_cache
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not cache.enabled:
        assert loop.time() < deadline, "the key listener did not connect"
        await asyncio.sleep(0.005)


@pytest.fixture
async def client(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking in-process to an app on the test's database (no key set)."""
    async with running_app(settings_for(db_dsn)) as c:
        yield c


KeyMaker = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_key(conn: asyncpg.Connection) -> KeyMaker:
    """Create a key; returns the Authorization header for it. Sites authorise the partner."""

    async def make(
        scopes: str = "read,write",
        partner: str = "Test partner",
        sites: list[str] | None = None,
        expires_at: Any = None,
    ) -> dict[str, str]:
        _, secret = await create_key(conn, partner, scopes.split(","), expires_at)
        if sites:
            from service.auth.queries import ensure_partner, grant_sites

            partner_id = await ensure_partner(conn, partner)
            missing = await grant_sites(conn, partner_id, sites)
            assert not missing, f"unknown sites {missing}"
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
async def admin(make_key: KeyMaker) -> dict[str, str]:
    """Headers for an admin key (may write anything)."""
    return await make_key("read,write,admin", partner="Registry admin")


@pytest.fixture
async def reader(make_key: KeyMaker) -> dict[str, str]:
    """Headers for a read-only key."""
    return await make_key("read", partner="Reader")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow`` tests run only when asked for (``-m slow``); the default run skips them.

    With ``SPREAD_PURE_TESTS=1`` (set by ``dev.py mutate``) every test that needs a database is
    deselected, leaving the pure unit tests that judge mutants in seconds."""
    if os.environ.get("SPREAD_PURE_TESTS") == "1":
        pure = [item for item in items if "template_dsn" not in getattr(item, "fixturenames", ())]
        config.hook.pytest_deselected(items=[item for item in items if item not in pure])
        items[:] = pure
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Name the random order's seed at the end of every run (pytest -q hides the header that has it)."""
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None and not isinstance(seed, str) and config.pluginmanager.hasplugin("randomly"):
        terminalreporter.write_line(f"random order: replay with --randomly-seed={seed}")
