"""``spread worker``: deliver webhook events until stopped (or, with ``--once``, until drained)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import click
import msgspec


def register(main: click.Group) -> None:
    main.add_command(worker)
    main.add_command(secret_key)


@click.command("secret-key")
def secret_key() -> None:
    """Print a new random key for SPREAD_SECRET_KEY (encrypts webhook secrets)."""
    from service.webhooks.crypto import new_key

    click.echo(new_key())


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due now, then exit (retries wait for the next run).")
@click.option(
    "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64), help="Deliveries in flight at once."
)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05, 60),
    help="Seconds between looks at the change log.",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.5, 120),
    help="Seconds allowed for a whole delivery (connect, send, answer).",
)
def worker(once: bool, concurrency: int, interval: float, timeout: float) -> None:
    """Deliver webhook events (signed POSTs with retries). Run as many as you like; SIGTERM stops gracefully."""
    from service.cli_support import resolve_dsn
    from service.cli_support import run as _run
    from service.cli_support import settings as _settings
    from service.logs import configure_logging
    from service.webhooks.policy import WorkerConfig
    from service.webhooks.worker import Worker, create_worker_pool

    settings = _settings()
    dsn, is_embedded = resolve_dsn(settings, quiet=True)
    settings = _settings()  # the embedded database brings its development SPREAD_SECRET_KEY
    secret_key = settings.secret_key
    if secret_key is None:
        raise click.ClickException(
            "SPREAD_SECRET_KEY is not set: webhook secrets are stored encrypted with it. "
            "Generate one with `spread secret-key` and set it for the API and the worker."
        )
    _check_schema(dsn, migrate_embedded=is_embedded)
    configure_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the worker logs each delivery itself
    settings = msgspec.structs.replace(settings, database_url=dsn)
    config = WorkerConfig(
        secret_key=secret_key,
        concurrency=concurrency,
        poll_interval=interval,
        timeout=timeout,
        allow_private=settings.webhook_allow_private,
    )
    name = f"{socket.gethostname()}:{os.getpid()}"

    async def go() -> None:
        pool = await create_worker_pool(dsn, settings, max_size=concurrency + 1)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with Worker(pool, config, name=name) as w:
                if once:
                    await w.drain(stop)
                else:
                    await w.run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await pool.close()

    _run(go())


def _check_schema(dsn: str, *, migrate_embedded: bool) -> None:
    """Migrate the embedded database; refuse to start when DATABASE_URL lacks the webhook tables."""
    import asyncpg

    from service import migrate
    from service.cli_support import run as _run

    if migrate_embedded:
        migrate.upgrade(dsn)
        return

    async def has_tables() -> bool:
        conn = await asyncpg.connect(dsn)
        try:
            result: bool = await conn.fetchval("SELECT to_regclass('webhook_deliveries') IS NOT NULL")
            return result
        finally:
            await conn.close()

    if not _run(has_tables()):
        raise click.ClickException("the database has no webhook tables yet. Run `spread migrate` first.")
