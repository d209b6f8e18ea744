"""``spread submit``: files in chunks (sources first), summaries, rejected rows, exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from click.testing import CliRunner

from service.cli import main
from service.submissions.cli import sources_first
from tests.conftest import settings_for
from tests.submissions.helpers import adoption_at, as_csv, innovation, report, sources_of


@contextlib.contextmanager
def live_server(dsn: str) -> Iterator[str]:
    import uvicorn

    from service.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings_for(dsn)), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _run(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_sources_first_orders_learners_after_their_sources() -> None:
    rows = [
        {"innovation": "a", "siteCode": "R0A", "startedOn": "2022-01-01", "learnedFrom": "RW6:peer_visit"},
        {"innovation": "a", "siteCode": "RW6", "startedOn": "2022-01-01", "learnedFrom": "RQM:peer_visit"},
        {"innovation": "a", "siteCode": "RQM", "startedOn": "2022-01-01", "learnedFrom": ""},
        {"innovation": "b", "siteCode": "RQM", "startedOn": "2021-01-01", "learnedFrom": [{"siteCode": "R0A"}]},
    ]
    order = sources_first(rows)
    assert sorted(order) == [0, 1, 2, 3]
    assert order.index(2) < order.index(1) < order.index(0)
    # a cycle does not hang; every row is still sent once
    rows[2]["learnedFrom"] = "R0A:peer_visit"
    assert sorted(sources_first(rows)) == [0, 1, 2, 3]


async def test_submit_command(db_dsn: str, conn, make_key, tmp_path: Path) -> None:
    inn = await innovation(conn)
    key = (await make_key("read,write,admin", partner="Registry admin"))["Authorization"].removeprefix("Bearer ")
    base = {"innovation": "virtual-wards-for-frailty", "stage": "piloting"}
    rows = [
        {**base, "siteCode": "R0A", "startedOn": "2022-09-01", "learnedFrom": "RW6:collaborative", "externalId": "X4"},
        {**base, "siteCode": "RW6", "startedOn": "2022-06-01", "learnedFrom": "RQM:peer_visit:2022-05-01"},
        {**base, "siteCode": "RJ1", "startedOn": "2022-09-01", "learnedFrom": "RQM:conference"},
        {**base, "siteCode": "RQM", "startedOn": "2022-03-01", "learnedFrom": "RXN:peer_visit"},
        {**base, "siteCode": "RXR", "startedOn": "2022-03-01", "learnedFrom": ""},
    ]
    path = tmp_path / "adoptions.csv"
    path.write_text(as_csv(rows))

    with live_server(db_dsn) as url:
        result = await asyncio.to_thread(
            _run, ["submit", str(path), "--key", key, "--url", url, "--chunk-size", "2", "--idempotency-key", "run1"]
        )
        assert result.exit_code == 0, result.output
        assert "5 rows in 3 request(s)" in result.output
        rw6 = await adoption_at(conn, inn, "RW6")
        assert await sources_of(conn, rw6["id"]) == [("RQM", "peer_visit")]
        assert await conn.fetchval("SELECT count(*) FROM submission_keys WHERE idempotency_key LIKE 'run1-%'") == 3

        # JSON output, re-sent: every row unchanged
        result = await asyncio.to_thread(_run, ["submit", str(path), "--key", key, "--url", url, "--json"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout[result.stdout.index("{") :])
        assert answer["summary"] == {"created": 0, "updated": 0, "unchanged": 5, "rejected": 0}
        assert [r["row"] for r in answer["rows"]] == [1, 2, 3, 4, 5]

        # partial: rejected rows are listed by their row in the file, and the exit code says so
        rows[2]["siteCode"] = "ZZZ99"
        path.write_text(as_csv(rows))
        result = await asyncio.to_thread(_run, ["submit", str(path), "--key", key, "--url", url, "--mode", "partial"])
        assert result.exit_code == 1
        assert "Rejected rows" in result.output and "no site has code 'ZZZ99'" in result.output
        answer_rows = json.loads(
            (
                await asyncio.to_thread(
                    _run, ["submit", str(path), "--key", key, "--url", url, "--mode", "partial", "--json"]
                )
            ).stdout
        )["rows"]
        assert [r["row"] for r in answer_rows if r["status"] == "rejected"] == [3]

        # atomic: the request with the bad row writes nothing and the command stops there
        result = await asyncio.to_thread(_run, ["submit", str(path), "--key", key, "--url", url, "--chunk-size", "2"])
        assert result.exit_code == 1
        assert "nothing was written" in result.output

        # NDJSON and JSON files too
        ndjson = tmp_path / "more.ndjson"
        ndjson.write_text("\n".join(json.dumps(report(site)) for site in ("RVR", "RAS")) + "\n")
        result = await asyncio.to_thread(_run, ["submit", str(ndjson), "--key", key, "--url", url])
        assert result.exit_code == 0, result.output
        as_json = tmp_path / "more.json"
        as_json.write_text(json.dumps([report("RVR", stage="sustaining")]))
        result = await asyncio.to_thread(_run, ["submit", str(as_json), "--key", key, "--url", url, "--json"])
        assert json.loads(result.stdout)["summary"]["updated"] == 1

        result = await asyncio.to_thread(_run, ["submit", str(path), "--key", "spr_nope", "--url", url])
        assert result.exit_code == 1
        assert "HTTP 401" in result.output
