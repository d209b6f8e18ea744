"""Migrations: a single head, and upgrade -> downgrade -> upgrade works from scratch."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import asyncpg
from alembic.script import ScriptDirectory

from service import migrate
from service.embedded import with_database
from tests.conftest import ROOT, SERVER_DSN


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}; merge them"


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade() -> None:
    name = f"spread_mig_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    dsn = with_database(SERVER_DSN, name)
    try:
        migrate.upgrade(dsn)
        full = asyncio.run(_tables(dsn))
        assert {"sites", "innovations", "adoptions", "adoption_sources", "adaptations", "changes"} <= full
        migrate.downgrade(dsn, "base")
        assert asyncio.run(_tables(dsn)) <= {"alembic_version"}
        migrate.upgrade(dsn)
        assert asyncio.run(_tables(dsn)) == full
        assert asyncio.run(migrate.current_revision(dsn)) == migrate.head_revision()
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_offline_sql_is_reviewable() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "CREATE TABLE innovations" in out.stdout
    assert "CREATE TRIGGER adoption_sources_check" in out.stdout
