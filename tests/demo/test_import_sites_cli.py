"""`spread import-sites`: loads the reference sites with a summary; a second run changes nothing."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from service.cli import main
from tests.demo.helpers import counts, disturb_sites


def _import(dsn: str) -> str:
    result = CliRunner().invoke(main, ["import-sites"], env={"DATABASE_URL": dsn})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


async def test_import_sites_twice(conn, db_dsn: str) -> None:
    removed = await disturb_sites(conn)
    assert len(removed) == 3

    # The command runs its own event loop, so it runs in a thread here.
    output = await asyncio.to_thread(_import, db_dsn)
    assert "Sites: 3 created, 1 updated," in output
    assert "hospital sites" in output
    assert "Open Government Licence v3.0" in output
    assert await conn.fetchval("SELECT name FROM sites WHERE code = 'RQM'") != "Renamed for the test"
    after_first = await counts(conn)

    output = await asyncio.to_thread(_import, db_dsn)
    assert "Sites: 0 created, 0 updated," in output
    assert await counts(conn) == after_first


async def test_import_sites_refuses_an_unmigrated_database(conn, db_dsn: str) -> None:
    await conn.execute("ALTER TABLE sites RENAME TO sites_elsewhere")
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import-sites"], env={"DATABASE_URL": db_dsn})
    assert result.exit_code != 0
    assert "spread migrate" in result.output
