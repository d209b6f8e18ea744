"""Dry runs: every check, the same per-row report, and nothing written (no rows, no change-log
entries and so no webhook deliveries, no stored submission, no idempotency key used)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from service.submissions.plans import NewAdoption, NewLink, WritePlan
from service.submissions.writer import LARGE_BATCH, tables_to_analyze
from tests.submissions.helpers import adoption, as_csv, innovation, measure, report, submit
from tests.submissions.test_cli import _run, live_server

JSON = {"Content-Type": "application/json"}
TABLES = (
    "adoptions",
    "adoption_sources",
    "adaptations",
    "observations",
    "submissions",
    "submission_results",
    "submission_keys",
    "changes",
    "webhook_deliveries",
    "search_documents",
)
ADAPTATION = {
    "description": "Run by community nurses",
    "phase": "implementation",
    "whatModified": "context",
    "coreComponentKeys": ["daily_huddle"],
}


async def snapshot(conn: asyncpg.Connection, client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    feed = await client.get("/v1/changes", params={"limit": 100}, headers=headers)
    assert feed.status_code == 200, feed.text
    documents = await conn.fetch("SELECT doc_type, doc_key, adoption_count, stages FROM search_documents ORDER BY 1, 2")
    return {"counts": counts, "feed": feed.json(), "documents": [tuple(d) for d in documents]}


def statuses(body: dict[str, Any]) -> list[tuple[int, str, list[Any], list[str]]]:
    return [(r["row"], r["status"], r["errors"], r["warnings"]) for r in body["rows"]]


async def batch(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Creates with in-batch and registry links, an adaptation, observations, an update, a rejected
    row and a row rejected because it learns from it."""
    inn = await innovation(conn)
    await adoption(conn, inn, "RW6", dt.date(2022, 1, 1))
    await measure(conn)
    observation = {"measureCode": "AE_4HR", "periodStart": "2023-01-01", "period": "month", "value": 0.8}
    return [
        report("RQM", learnedFrom=[{"siteCode": "RXN", "channel": "peer_visit"}], externalId="A1"),
        report("R0A", "2022-05-01", learnedFrom=[{"siteCode": "RQM", "channel": "conference"}]),
        report("RJ1", "2022-06-01", adaptations=[ADAPTATION], observations=[observation]),
        report("RW6", "2022-01-01", stage="sustaining"),
        report("ZZZ99"),
        report("RXR", "2022-07-01", learnedFrom=[{"siteCode": "ZZZ99", "channel": "peer_visit"}]),
    ]


async def test_dry_run_reports_every_row_and_writes_nothing(client: httpx.AsyncClient, admin, conn) -> None:
    rows = await batch(conn)
    before = await snapshot(conn, client, admin)
    url = "/v1/submissions?mode=partial&dryRun=true"
    body = json.dumps(rows)
    tried = await client.post(url, content=body, headers={**admin, **JSON, "Idempotency-Key": "k1"})
    assert tried.status_code == 200, tried.text
    assert "location" not in tried.headers and "idempotent-replayed" not in tried.headers
    answer = tried.json()
    assert answer["dryRun"] is True
    assert answer["summary"] == {"created": 3, "updated": 1, "unchanged": 0, "rejected": 2}
    assert [r["status"] for r in answer["rows"]] == ["created", "created", "created", "updated", "rejected", "rejected"]
    assert answer["rows"][4]["errors"] == [{"field": "siteCode", "detail": "no site has code 'ZZZ99'"}]
    assert await snapshot(conn, client, admin) == before
    assert (await client.get(f"/v1/submissions/{answer['id']}", headers=admin)).status_code == 404

    # for real, with the same key: the key was not used, and the report is the same
    done = await client.post(
        "/v1/submissions?mode=partial", content=body, headers={**admin, **JSON, "Idempotency-Key": "k1"}
    )
    assert done.status_code == 201, done.text
    assert done.json()["dryRun"] is False
    assert statuses(done.json()) == statuses(answer)
    assert done.json()["summary"] == answer["summary"]
    after = await snapshot(conn, client, admin)
    assert after["counts"]["adoptions"] == before["counts"]["adoptions"] + 3
    assert after["counts"]["submission_keys"] == before["counts"]["submission_keys"] + 1

    # a dry run of the batch now: every row unchanged (the rejected ones still rejected), nothing written
    again = await client.post(url, content=body, headers={**admin, **JSON})
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["rows"]] == ["unchanged"] * 4 + ["rejected", "rejected"]
    assert await snapshot(conn, client, admin) == after


async def test_atomic_dry_run_answers_the_report_instead_of_422(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    before = await snapshot(conn, client, admin)
    r = await client.post(
        "/v1/submissions?dryRun=true", content=json.dumps([report("RQM"), report("ZZZ99")]), headers={**admin, **JSON}
    )
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "atomic"
    assert [x["status"] for x in r.json()["rows"]] == ["created", "rejected"]
    assert await snapshot(conn, client, admin) == before
    # the real request is refused as a whole, as the report's rejected row says it would be
    assert (await submit(client, admin, [report("RQM"), report("ZZZ99")])).status_code == 422


async def test_dry_run_still_refuses_what_it_cannot_read(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    r = await client.post("/v1/submissions?dryRun=true", content=b"[{", headers={**admin, **JSON})
    assert r.status_code == 400
    r = await client.post(
        "/v1/submissions?dryRun=maybe", content=json.dumps([report("RQM")]), headers={**admin, **JSON}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "dryRun"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_tables_are_analysed_only_when_a_batch_outgrows_their_statistics() -> None:
    def plan(n: int) -> WritePlan:
        ids = [uuid.uuid4() for _ in range(n)]
        creates = tuple(
            NewAdoption(
                id=i,
                innovation_id=ids[0],
                site_code="X",
                stage="piloting",
                started_on=dt.date(2024, 1, 1),
                notes="",
                discontinued_reason=None,
                external_id=None,
            )
            for i in ids
        )
        links = tuple(
            NewLink(adoption_id=i, source_adoption_id=ids[0], channel="peer_visit", learned_on=None) for i in ids
        )
        return WritePlan(creates=creates, new_links=links)

    never = {"adoptions": -1.0, "adoption_sources": -1.0, "adaptations": -1.0}
    assert tables_to_analyze(plan(LARGE_BATCH), never) == ["adoptions", "adoption_sources"]
    assert tables_to_analyze(plan(LARGE_BATCH - 1), never) == []
    big = {"adoptions": 1e6, "adoption_sources": 1e6, "adaptations": 0.0}
    assert tables_to_analyze(plan(5 * LARGE_BATCH), big) == []


async def test_submit_dry_run_prints_the_report_as_a_table(db_dsn: str, conn, make_key, tmp_path: Path) -> None:
    await innovation(conn)
    key = (await make_key("read,write,admin", partner="Registry admin"))["Authorization"].removeprefix("Bearer ")
    base = {"innovation": "virtual-wards-for-frailty", "stage": "piloting", "startedOn": "2022-03-01"}
    path = tmp_path / "try.csv"
    path.write_text(as_csv([{**base, "siteCode": "RQM", "externalId": "T1"}, {**base, "siteCode": "ZZZ99"}]))
    adoptions = await conn.fetchval("SELECT count(*) FROM adoptions")
    with live_server(db_dsn) as url:
        result = await asyncio.to_thread(
            _run, ["submit", str(path), "--key", key, "--url", url, "--mode", "partial", "--dry-run"]
        )
    assert result.exit_code == 1, result.output  # a rejected row: the same exit code as a real run
    out = result.output
    assert "Dry run of try.csv" in out and "nothing written" in out
    assert "T1" in out and "created" in out and "rejected" in out and "no site has code 'ZZZ99'" in out
    assert await conn.fetchval("SELECT count(*) FROM adoptions") == adoptions
