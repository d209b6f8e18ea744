"""Migration 0003: upgrade backfills existing rows, downgrade removes everything, upgrade again."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from service import migrate
from service.embedded import with_database
from tests.conftest import SERVER_DSN


async def _run(dsn: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def _q(dsn: str, sql: str, *args: object) -> object:
    return asyncio.run(_run(dsn, sql, *args))


def test_upgrade_downgrade_upgrade_0003() -> None:
    name = f"spread_mig_search_{uuid.uuid4().hex[:8]}"
    _q(SERVER_DSN, f'CREATE DATABASE "{name}"')
    dsn = with_database(SERVER_DSN, name)
    try:
        migrate.upgrade(dsn, "0002")
        _q(dsn, "INSERT INTO sites (code, name, kind) VALUES ('Y56', 'London', 'region')")
        _q(
            dsn,
            "INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)"
            " VALUES ('vw', 'Virtual wards for frailty', 'models_of_care', 'idea', 'Y56', '2020-01-01')",
        )
        migrate.upgrade(dsn, "0003")
        # Existing rows are backfilled.
        assert _q(dsn, "SELECT count(*) FROM search_documents") == 2
        assert _q(dsn, "SELECT lexeme FROM search_words WHERE word = 'wards'") == "ward"
        assert (
            _q(
                dsn,
                "SELECT count(*) FROM search_documents WHERE vector @@ websearch_to_tsquery('english', 'virtual ward')",
            )
            == 1
        )

        migrate.downgrade(dsn, "0002")
        assert _q(dsn, "SELECT to_regclass('search_documents') IS NULL AND to_regclass('search_words') IS NULL")
        assert (
            _q(
                dsn,
                "SELECT count(*) FROM pg_proc WHERE proname LIKE 'spread_search%' OR proname LIKE 'spread_%_vector'",
            )
            == 0
        )
        assert _q(dsn, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_search_%'") == 0
        # The registry still works without search.
        _q(
            dsn,
            "INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)"
            " VALUES ('fp', 'Falls prevention', 'education', 'idea', 'Y56', '2021-01-01')",
        )

        migrate.upgrade(dsn, "0003")
        assert _q(dsn, "SELECT count(*) FROM search_documents") == 3
        _q(
            dsn,
            "INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)"
            " VALUES ('dc', 'Dementia cafe', 'education', 'idea', 'Y56', '2022-01-01')",
        )
        assert _q(dsn, "SELECT count(*) FROM search_documents WHERE doc_type = 'innovation'") == 3
        assert asyncio.run(migrate.current_revision(dsn)) == "0003"
    finally:
        _q(SERVER_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
