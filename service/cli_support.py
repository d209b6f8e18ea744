"""What every ``spread`` command shares: settings, the database to use, one connection per run.

It sits below ``service.cli`` and the packages' own ``cli.py`` modules, so they import it and
never each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from service.config import ConfigError, Settings, load_settings

T = TypeVar("T")


def settings() -> Settings:
    """The environment's settings, or a clear message naming the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]  # asyncio.run takes a coroutine; callers pass one


def resolve_dsn(config: Settings, *, quiet: bool = False) -> tuple[str, bool]:
    """The database to use: DATABASE_URL, or the embedded server (started if needed)."""
    if config.database_url:
        return config.database_url, False
    if not config.embedded:
        raise click.ClickException(
            "DATABASE_URL is not set and the embedded database is disabled (SPREAD_EMBEDDED=false). "
            "Set DATABASE_URL=postgresql://user:password@host:5432/spread"
        )
    from service import embedded

    if not quiet:
        click.echo(f"DATABASE_URL is not set: using the embedded PostgreSQL in {config.data_dir.resolve()}/pg")
    maintenance = embedded.start(config.data_dir)
    # Development: webhook secrets are encrypted with the data folder's key unless one is set.
    from service.webhooks.crypto import use_dev_key_if_unset

    use_dev_key_if_unset(config.data_dir)
    return run(embedded.ensure_database(maintenance)), True


def connect(dsn: str) -> Any:
    from service.db import connect as db_connect

    return db_connect(dsn, Settings(database_url=dsn))


def with_connection(dsn: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(conn)`` on one new connection to ``dsn``, closing it whatever happens."""

    async def go() -> T:
        conn = await connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return run(go())
