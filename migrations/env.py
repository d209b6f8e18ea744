"""Async Alembic environment: raw SQL migrations, run over asyncpg.

The URL comes from ``DATABASE_URL`` (or ``-x url=...``). Each migration runs with a
``lock_timeout`` and ``statement_timeout`` passed as connection settings (a ``SET`` before
``begin_transaction()`` can make an async migration silently not commit). Offline mode
(``alembic upgrade head --sql``) prints the SQL for review.

Backward compatibility: a migration must leave the schema usable by the previous release of
the service (add columns nullable or with defaults, drop only in a later release), so that
API processes can be rolled one by one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
config = context.config
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "10min"


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set. Set it, or run `spread migrate`, which knows the embedded database.")
    return url


def run_migrations_offline() -> None:
    context.configure(
        url="postgresql://",
        dialect_name="postgresql",
        literal_binds=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _do_run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    dsn = _url()

    async def creator() -> asyncpg.Connection:
        return await asyncpg.connect(
            dsn,
            server_settings={"lock_timeout": LOCK_TIMEOUT, "statement_timeout": STATEMENT_TIMEOUT},
        )

    engine = create_async_engine("postgresql+asyncpg://", async_creator=creator, poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_do_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
