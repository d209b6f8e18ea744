"""The command line: keys, partners, serve's schema check, openapi output."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from click.testing import CliRunner

from service.cli import main
from service.embedded import with_database
from tests.conftest import SERVER_DSN


def _run(args: list[str], dsn: str) -> object:
    return CliRunner().invoke(main, args, env={"DATABASE_URL": dsn}, catch_exceptions=False)


async def test_keys_lifecycle(db_dsn: str, conn) -> None:
    result = await asyncio.to_thread(
        _run, ["keys", "create", "--partner", "Wessex HIN", "--scopes", "read,write"], db_dsn
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("spr_")
    row = await conn.fetchrow("SELECT id, scopes FROM api_keys")
    assert row["scopes"] == ["read", "write"]

    listed = await asyncio.to_thread(_run, ["keys", "list"], db_dsn)
    assert "Wessex HIN" in listed.output and "live" in listed.output
    assert secret not in listed.output

    revoked = await asyncio.to_thread(_run, ["keys", "revoke", str(row["id"])], db_dsn)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert await conn.fetchval("SELECT revoked_at IS NOT NULL FROM api_keys")

    bad = await asyncio.to_thread(_run, ["keys", "create", "--partner", "X", "--scopes", "read,root"], db_dsn)
    assert bad.exit_code != 0 and "scopes" in bad.output
    past = await asyncio.to_thread(_run, ["keys", "create", "--partner", "X", "--expires", "2001-01-01"], db_dsn)
    assert past.exit_code != 0 and "future" in past.output


async def test_partners_create_with_sites(db_dsn: str, conn) -> None:
    result = await asyncio.to_thread(
        _run, ["partners", "create", "Health Innovation North West Coast", "--sites", "QE1,RXN"], db_dsn
    )
    assert result.exit_code == 0, result.output
    assert "spread keys create" in result.output
    assert await conn.fetchval("SELECT count(*) FROM partner_sites") == 2
    bad = await asyncio.to_thread(_run, ["partners", "create", "Other", "--sites", "NOPE1"], db_dsn)
    assert bad.exit_code != 0 and "NOPE1" in bad.output


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_serve_refuses_when_schema_is_behind() -> None:
    name = f"spread_behind_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        result = await asyncio.to_thread(_run, ["serve"], with_database(SERVER_DSN, name))
        assert result.exit_code != 0
        assert "spread migrate" in result.output
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_openapi_command_writes_sorted_json(tmp_path) -> None:
    out = tmp_path / "spec.json"
    result = CliRunner().invoke(main, ["openapi", "--output", str(out)])
    assert result.exit_code == 0
    text = out.read_text()
    assert text.endswith("}\n")
    assert '"openapi": "3.1' in text


def test_bad_configuration_names_the_variable() -> None:
    result = CliRunner().invoke(main, ["keys", "list"], env={"SPREAD_PORT": "abc"})
    assert result.exit_code != 0
    assert "SPREAD_PORT" in result.output
