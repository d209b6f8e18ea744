"""Running and checking Alembic migrations from the service and its CLI."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    configured = os.environ.get("SPREAD_MIGRATIONS_DIR")
    path = Path(configured) if configured else ROOT / "migrations"
    if not (path / "env.py").exists():
        raise RuntimeError(f"migrations not found at {path}; set SPREAD_MIGRATIONS_DIR to the migrations folder")
    return path


def alembic_config() -> Config:
    # Revision files import migrations._sql; make the folder's parent importable wherever
    # `spread` runs from (env.py does the same when Alembic runs it).
    parent = str(migrations_dir().parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


@functools.cache
def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}); merge them")
    return heads[0]


def upgrade(dsn: str, target: str = "head") -> None:
    """Upgrade the database at ``dsn`` (blocking; runs its own event loop)."""
    _with_url(dsn, lambda cfg: command.upgrade(cfg, target))


def downgrade(dsn: str, target: str) -> None:
    _with_url(dsn, lambda cfg: command.downgrade(cfg, target))


def _with_url(dsn: str, fn: Callable[[Config], object]) -> None:
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = dsn
    try:
        fn(alembic_config())
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous


async def current_revision(dsn: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await revision_on(conn)
    finally:
        await conn.close()


async def revision_on(conn: asyncpg.Connection) -> str | None:
    """The schema revision of the connected database (None before any migration)."""
    if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
        return None
    result: str | None = await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    return result
