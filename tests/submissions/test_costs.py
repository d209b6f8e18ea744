"""A crafted batch costs what its rows cost, and the process keeps serving while it is checked."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import asyncpg
import httpx
import pytest

from service.submissions import planner
from tests.submissions.helpers import innovation, report, submit

START = dt.date(2024, 1, 1)


async def chain(conn: asyncpg.Connection, size: int) -> list[dict]:
    """``size`` rows on bench sites, row k learning from row k+1, the last from a site that
    does not exist."""
    codes = [f"C-{k:05d}" for k in range(size)]
    await conn.execute(
        "INSERT INTO sites (code, name, kind) SELECT c, 'Site ' || c, 'other' FROM unnest($1::text[]) c", codes
    )
    return [
        report(
            codes[k],
            str(START - dt.timedelta(days=k)),
            learnedFrom=[{"siteCode": codes[k + 1] if k < size - 1 else "NOWHERE", "channel": "peer_visit"}],
        )
        for k in range(size)
    ]


async def test_reverse_chain_of_10000_rows_is_rejected_row_by_row(
    client: httpx.AsyncClient, admin: dict[str, str], conn: asyncpg.Connection
) -> None:
    await innovation(conn)
    rows = await chain(conn, 10_000)
    r = await submit(client, admin, rows, mode="partial")
    assert r.status_code == 201, r.text[:500]
    body = r.json()
    assert body["summary"] == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 10_000}
    results = body["rows"]
    assert results[-1]["errors"] == [{"field": "learnedFrom[0].siteCode", "detail": "no site has code 'NOWHERE'"}]
    for k in range(9_999):
        assert results[k]["errors"] == [
            {
                "field": "learnedFrom[0].siteCode",
                "detail": f"the row for site C-{k + 1:05d} (row {k + 2}) was rejected",
            }
        ], k


async def test_other_requests_are_served_while_a_batch_is_checked(
    client: httpx.AsyncClient, admin: dict[str, str], conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks run in a worker thread: held inside them, the submission stays in flight while
    /health/live is answered (were they on the event loop, nothing else could be)."""
    await innovation(conn)
    rows = await chain(conn, 500)
    entered, release = threading.Event(), threading.Event()
    real = planner.check_lineage

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(timeout=30)  # breaks the deadlock if the checks ever run on the loop
        return real(*args, **kwargs)

    monkeypatch.setattr(planner, "check_lineage", held)
    batch = asyncio.create_task(submit(client, admin, rows, mode="partial"))
    try:
        for _ in range(3000):  # polls with a deadline (about 30 s)
            if entered.is_set() or batch.done():
                break
            await asyncio.sleep(0.01)
        assert entered.is_set() and not batch.done()
        live = await client.get("/health/live")
        assert live.status_code == 200
        assert not batch.done(), "the batch finished before /health/live was answered"
    finally:
        release.set()
    r = await batch
    assert r.status_code == 201 and r.json()["summary"]["rejected"] == 500
