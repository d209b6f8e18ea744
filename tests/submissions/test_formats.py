"""Submission formats: CSV (documented columns), NDJSON, JSON; malformed bodies and limits."""

from __future__ import annotations

import json

import httpx

from tests.conftest import running_app, settings_for
from tests.submissions.helpers import adoption_at, as_csv, counts, errors_of, innovation, report, sources_of, submit

ADAPTATION = {
    "description": "Shorter huddle",
    "phase": "implementation",
    "whatModified": "content",
    "nature": "shortening",
    "coreComponentKeys": ["daily_huddle"],
}


async def test_csv_with_learned_from_and_adaptations(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    text = as_csv(
        [
            {
                "innovation": "virtual-wards-for-frailty",
                "siteCode": "rw6",
                "stage": "implementing",
                "startedOn": "2022-06-01",
                "learnedFrom": "RQM:peer_visit:2022-05-20; RXN:conference",
                "adaptations": json.dumps([ADAPTATION]),
                "externalId": "HIN-2",
                "notes": "",
            },
            {
                "innovation": "virtual-wards-for-frailty",
                "siteCode": "RQM",
                "stage": "piloting",
                "startedOn": "2022-03-01",
                "learnedFrom": json.dumps([{"siteCode": "RXN", "channel": "learning_network"}]),
                "adaptations": "",
                "externalId": "HIN-1",
                "notes": "Started on two wards",
            },
        ]
    )
    r = await submit(client, admin, "\ufeff" + text, content_type="text/csv; charset=utf-8")
    assert r.status_code == 201, r.text
    assert [(x["row"], x["status"], x["externalId"]) for x in r.json()["rows"]] == [
        (1, "created", "HIN-2"),
        (2, "created", "HIN-1"),
    ]
    rw6 = await adoption_at(conn, inn, "RW6")
    assert await sources_of(conn, rw6["id"]) == [("RQM", "peer_visit"), ("RXN", "conference")]
    assert (
        await conn.fetchval(
            "SELECT learned_on::text FROM adoption_sources WHERE adoption_id = $1 AND channel = 'peer_visit'", rw6["id"]
        )
        == "2022-05-20"
    )
    assert await conn.fetchval("SELECT nature FROM adaptations WHERE adoption_id = $1", rw6["id"]) == "shortening"
    assert (await adoption_at(conn, inn, "RQM"))["notes"] == "Started on two wards"
    # re-sending the spreadsheet is harmless
    r = await submit(client, admin, text, content_type="text/csv")
    assert r.json()["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


async def test_csv_row_errors_and_header_rules(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    header = "Innovation, siteCode ,STAGE,startedOn,learnedFrom,adaptations\n"
    text = (
        header
        + "virtual-wards-for-frailty,RQM,piloting,2022-03-01,,\n"
        + "\n"  # blank lines are skipped and not counted
        + "virtual-wards-for-frailty,RW6,piloting,2022-03-01,RQM-peer_visit,\n"
        + 'virtual-wards-for-frailty,R0A,piloting,2022-03-01,,"[{""description"": 1}"\n'
        + "virtual-wards-for-frailty,RJ1,piloting,2022-03-01,,,extra\n"
        + "virtual-wards-for-frailty,RXR,piloting,,,\n"
    )
    r = await submit(client, admin, text, mode="partial", content_type="text/csv")
    assert r.status_code == 201, r.text
    body = r.json()
    assert [x["status"] for x in body["rows"]] == ["created", "rejected", "rejected", "rejected", "rejected"]
    assert errors_of(body, 2) == [
        ("learnedFrom", "entry 1 ('RQM-peer_visit') is not SITE:channel or SITE:channel:YYYY-MM-DD")
    ]
    assert errors_of(body, 3)[0][0] == "adaptations"
    assert errors_of(body, 4) == [("row", "has 7 cells; the header has 6")]
    assert errors_of(body, 5) == [("startedOn", "is required")]

    r = await submit(client, admin, "innovation,siteCode,stage,startedOn,colour\n", content_type="text/csv")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "columns"
    assert "'colour'" in r.json()["detail"]
    r = await submit(client, admin, "innovation,siteCode,stage\nx,RQM,piloting\n", content_type="text/csv")
    assert r.status_code == 422
    assert "lacks the required column(s) startedOn" in r.json()["detail"]
    r = await submit(client, admin, b"innovation,siteCode,stage,startedOn\n\xff\xfe,RQM,,\n", content_type="text/csv")
    assert r.status_code == 400
    assert "not UTF-8" in r.json()["detail"]


async def test_ndjson(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    lines = [
        json.dumps(report("RW6", "2022-06-01", learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}])),
        "",
        json.dumps(report("RQM", externalId="N-2")),
        '{"innovation": "virtual-wards-for-frailty", "siteCode": ',
        json.dumps({**report("R0A"), "externalId": "N-4", "stage": "nope"}),
    ]
    r = await submit(client, admin, "\n".join(lines) + "\n", mode="partial", content_type="application/x-ndjson")
    assert r.status_code == 201, r.text
    body = r.json()
    assert [(x["row"], x["status"], x["externalId"]) for x in body["rows"]] == [
        (1, "created", None),
        (2, "created", "N-2"),
        (3, "rejected", None),
        (4, "rejected", "N-4"),
    ]
    assert errors_of(body, 3)[0][0] == "row" and errors_of(body, 3)[0][1].startswith("not valid JSON")
    rw6 = await adoption_at(conn, inn, "RW6")
    assert await sources_of(conn, rw6["id"]) == [("RQM", "peer_visit")]


async def test_malformed_and_empty_bodies(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    r = await submit(client, admin, b'[{"innovation": ')
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/bad-request"
    r = await submit(client, admin, b'{"innovation": "x"}')
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
    for body, content_type in ((b"[]", "application/json"), (b"\n\n", "application/x-ndjson"), (b"", "text/csv")):
        r = await submit(client, admin, body, content_type=content_type)
        assert r.status_code == 422, (content_type, r.text)
        assert "no reports" in r.json()["detail"]
    r = await submit(client, admin, b"innovation\n", content_type="text/plain")
    assert r.status_code == 415
    assert "application/x-ndjson" in r.json()["detail"]


async def test_more_than_10000_rows_is_413(client: httpx.AsyncClient, admin, conn) -> None:
    before = await counts(conn)
    rows = [{"innovation": "x"}] * 10_001
    r = await submit(client, admin, rows)
    assert r.status_code == 413, r.text
    assert r.json()["type"] == "/problems/payload-too-large"
    assert "10,001 rows" in r.json()["detail"] and "at most 10,000 rows" in r.json()["detail"]
    text = "innovation,siteCode,stage,startedOn\n" + "x,RQM,piloting,2022-01-01\n" * 10_001
    r = await submit(client, admin, text, content_type="text/csv")
    assert r.status_code == 413
    r = await submit(client, admin, "{}\n" * 10_001, content_type="application/x-ndjson")
    assert r.status_code == 413
    assert await counts(conn) == before


async def test_body_over_the_size_limit_is_413(db_dsn: str, make_key) -> None:
    headers = await make_key("read,write,admin", partner="Registry admin")
    async with running_app(settings_for(db_dsn, max_body_bytes=4096)) as small:
        r = await submit(small, headers, [report("RQM", notes="x" * 5000)])
        assert r.status_code == 413
        assert "Split the file into requests" in r.json()["detail"]


async def test_nul_characters_reject_the_row(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    r = await submit(
        client, admin, [report("RQM", notes="a\u0000b", externalId="x\u0000"), report("RW6")], mode="partial"
    )
    assert r.status_code == 201, r.text
    assert [x["status"] for x in r.json()["rows"]] == ["rejected", "created"]
    assert errors_of(r.json(), 1) == [("row", "text may not contain the NUL character (\\u0000)")]
    text = "innovation,siteCode,stage,startedOn,notes\nvirtual-wards-for-frailty,R0A,piloting,2022-01-01,a\x00b\n"
    r = await submit(client, admin, text, mode="partial", content_type="text/csv")
    assert r.json()["rows"][0]["errors"][0]["detail"].startswith("text may not contain")
