"""Authorisation is decided inside the transaction that writes, on the site as it is then."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from service.config import Settings
from service.db import connect
from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation
from tests.outcomes import rows
from tests.security.helpers import refused

WAITING = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"


async def test_partner_cannot_write_for_a_site_moved_away_while_its_write_waits(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, conn, db_dsn: str
) -> None:
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])
    innovation = await make_innovation(client, admin, originSiteCode="RQM")
    mover = await connect(db_dsn, Settings(database_url=db_dsn))
    try:
        move = mover.transaction()
        await move.start()  # an administrator moves RXN from ICB QE1 to QRV ...
        await mover.execute(
            "UPDATE sites SET parent_code = 'QRV', icb_code = 'QRV', region_code = 'Y56' WHERE code = 'RXN'"
        )
        write = asyncio.create_task(adopt(client, lancashire, innovation["id"], "RXN", "2022-01-01"))
        for _ in range(200):  # ... while the partner's write waits for the site (deadline ~10 s)
            if await conn.fetchval(WAITING) or write.done():
                break
            await asyncio.sleep(0.05)
        assert not write.done(), "the write should wait for the site row"
        await move.commit()
        r = await write
    finally:
        await mover.close()
    refused(r, 403, "forbidden", "'Lancashire HIN' is not authorised for site RXN")
    assert await conn.fetchval("SELECT count(*) FROM adoptions WHERE site_code = 'RXN'") == 0


async def test_measure_unit_cannot_change_under_an_observation_being_written(
    client: httpx.AsyncClient, admin, conn, db_dsn: str
) -> None:
    measure = {"code": "AE_4HR", "name": "4-hour A&E", "unit": "%", "improvementDirection": "increase"}
    assert (await client.post("/v1/measures", json=measure, headers=admin)).status_code == 201
    adoption = await rows.adoption(conn, await rows.innovation(conn), "RXN", dt.date(2017, 6, 1))
    writer = await connect(db_dsn, Settings(database_url=db_dsn))
    try:
        observing = writer.transaction()
        await observing.start()  # the first observation is being written ...
        await writer.execute(
            "INSERT INTO observations (adoption_id, measure_code, period, period_start, value) "
            "VALUES ($1, 'AE_4HR', 'month', '2018-01-01', 80)",
            adoption,
        )
        change = asyncio.create_task(client.patch("/v1/measures/AE_4HR", json={"unit": "count"}, headers=admin))
        for _ in range(200):  # ... while the measure's definer changes its unit (deadline ~10 s)
            if await conn.fetchval(WAITING) or change.done():
                break
            await asyncio.sleep(0.05)
        assert not change.done(), "the change should wait for the observation's write"
        await observing.commit()
        r = await change
    finally:
        await writer.close()
    refused(r, 409, "conflict", "already has observations, so its unit cannot change")
    assert await conn.fetchval("SELECT unit FROM measures WHERE code = 'AE_4HR'") == "%"
