"""Observations in bulk submissions: written for each row's adoption in the batch's transaction,
checked by the outcomes rules (field errors `observations[i].field`), in JSON, NDJSON and CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec
import pytest

from tests.submissions.helpers import adoption_at, as_csv, errors_of, innovation, measure, report, submit


def obs(period_start: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"measureCode": "AE_4HR", "periodStart": period_start, "period": "month", "value": value, **extra}


async def observations_of(client: httpx.AsyncClient, headers: dict[str, str], adoption_id: str) -> list[Any]:
    r = await client.get(f"/v1/adoptions/{adoption_id}/observations", headers=headers)
    assert r.status_code == 200, r.text
    return [(o["measureCode"], o["period"], o["periodStart"], o["value"]) for o in r.json()["items"]]


async def observation_count(conn) -> int:
    return await conn.fetchval("SELECT count(*) FROM observations")


@pytest.fixture
async def setup(conn) -> Any:
    inn = await innovation(conn)
    await measure(conn, "AE_4HR", "proportion")
    await measure(conn, "AE_4HR_PCT", "%")
    return inn


async def test_written_listed_resent_unchanged_and_corrected(client: httpx.AsyncClient, admin, conn, setup) -> None:
    rows = [
        report(
            "RQM",
            observations=[
                obs("2022-01-01", 0.8, numerator=800, denominator=1000),
                obs("2022-02-01", 0.82),
                {"measureCode": "AE_4HR_PCT", "periodStart": "2022-01-03", "period": "week", "value": 85.7},
            ],
        ),
        report("RW6", "2022-05-01", learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}]),
        report("R0A", "2022-06-01", observations=[obs("2022-04-01", 0.7)]),
    ]
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert all(row["warnings"] == [] for row in body["rows"])
    rqm, r0a = body["rows"][0]["adoptionId"], body["rows"][2]["adoptionId"]
    assert await observations_of(client, admin, rqm) == [
        ("AE_4HR", "month", "2022-01-01", 0.8),
        ("AE_4HR_PCT", "week", "2022-01-03", 85.7),
        ("AE_4HR", "month", "2022-02-01", 0.82),
    ]
    assert await observations_of(client, admin, r0a) == [("AE_4HR", "month", "2022-04-01", 0.7)]
    logged = await conn.fetch(
        "SELECT entity, partner_name FROM changes WHERE request_id = $1 AND entity = 'observation'",
        r.headers["x-request-id"],
    )
    assert len(logged) == 4 and {c["partner_name"] for c in logged} == {"Registry admin"}

    # the same batch again: every row unchanged, nothing written but the submission record
    changes = await conn.fetchval("SELECT count(*) FROM changes")
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    assert r.json()["summary"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert await observation_count(conn) == 4
    assert await conn.fetchval("SELECT count(*) FROM changes") == changes + 1

    # a corrected value (the adoption itself unchanged) and a new month: that row is updated
    version = (await adoption_at(conn, setup, "RQM"))["version"]
    corrected = [
        report("RQM", observations=[obs("2022-02-01", 0.85), obs("2022-03-01", 0.9)]),
        report("R0A", "2022-06-01", observations=[obs("2022-04-01", 0.7)]),
    ]
    r = await submit(client, admin, corrected)
    assert r.status_code == 201, r.text
    assert [(x["status"], x["adoptionId"]) for x in r.json()["rows"]] == [("updated", rqm), ("unchanged", r0a)]
    assert (await adoption_at(conn, setup, "RQM"))["version"] == version
    listed = await observations_of(client, admin, rqm)
    assert ("AE_4HR", "month", "2022-02-01", 0.85) in listed and ("AE_4HR", "month", "2022-03-01", 0.9) in listed
    february = await conn.fetchval(
        "SELECT id FROM observations WHERE adoption_id = $1::uuid AND period_start = '2022-02-01'", rqm
    )
    history = await conn.fetch(
        "SELECT action, before, after FROM changes WHERE entity = 'observation' AND entity_id = $1 ORDER BY seq",
        str(february),
    )
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["before"]["value"] == 0.82 and history[1]["after"]["value"] == 0.85

    # a numerator added to a stored value also counts as a change
    r = await submit(
        client, admin, [report("R0A", "2022-06-01", observations=[obs("2022-04-01", 0.7, numerator=7, denominator=10)])]
    )
    assert r.json()["rows"][0]["status"] == "updated"


# A month no clock reaches: "next month" computed at collection time is wrong by the time a
# slow run gets to the test, and the server's date need not be this process's local date.
FUTURE_MONTH = "2999-01-01"

INVALID = [
    ("unknown measure", {**obs("2022-01-01", 0.8), "measureCode": "NOPE"}, "observations[0].measureCode"),
    ("misaligned month", obs("2022-01-15", 0.8), "observations[0].periodStart"),
    ("misaligned week", {**obs("2022-01-04", 0.8), "period": "week"}, "observations[0].periodStart"),
    ("future period", obs(FUTURE_MONTH, 0.8), "observations[0].periodStart"),
    ("non-finite value", obs("2022-01-01", 1e400), "observations[0].value"),
    ("inconsistent ratio", obs("2022-01-01", 0.9, numerator=800, denominator=1000), "observations[0].value"),
    (
        "inconsistent percentage",
        {**obs("2022-01-01", 0.8, numerator=800, denominator=1000), "measureCode": "AE_4HR_PCT"},
        "observations[0].value",
    ),
    ("zero denominator", obs("2022-01-01", 0, numerator=0, denominator=0), "observations[0].denominator"),
    ("unknown period", {**obs("2022-01-01", 0.8), "period": "day"}, "observations[0].period"),
]


def _body(bad: dict[str, Any]) -> bytes:
    rows = [
        report("RQM", observations=[obs("2022-01-01", 0.8)]),
        report("RW6", observations=[bad]),
        # learns from the bad row: rejected with it
        report("R0A", "2022-06-01", learnedFrom=[{"siteCode": "RW6", "channel": "peer_visit"}]),
    ]
    # 1e400 is kept as written (msgspec would refuse to encode infinity)
    return msgspec.json.encode(rows).replace(b'"value":"INF"', b'"value":1e400')


@pytest.mark.parametrize(("bad", "field"), [(b, f) for _, b, f in INVALID], ids=[n for n, _, _ in INVALID])
async def test_invalid_observations_reject_the_row(
    client: httpx.AsyncClient, admin, conn, setup, bad: dict[str, Any], field: str
) -> None:
    if bad["value"] == 1e400:
        bad = {**bad, "value": "INF"}
    body = _body(bad)

    # atomic: the whole batch is refused and nothing is written
    r = await submit(client, admin, body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert [row["row"] for row in problem["rows"]] == [2, 3]
    assert field in [f for f, _ in errors_of(problem, 2)]
    assert [f for f, _ in errors_of(problem, 3)] == ["learnedFrom[0].siteCode"]
    assert await observation_count(conn) == 0
    assert await adoption_at(conn, setup, "RQM") is None

    # partial: the bad row (and its learner) rejected, nothing of them written; the good row is
    r = await submit(client, admin, body, mode="partial")
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["summary"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    assert field in [f for f, _ in errors_of(result, 2)]
    assert await adoption_at(conn, setup, "RW6") is None
    assert await observations_of(client, admin, result["rows"][0]["adoptionId"]) == [
        ("AE_4HR", "month", "2022-01-01", 0.8)
    ]
    assert await observation_count(conn) == 1


async def test_an_existing_adoption_with_a_bad_observation_is_left_alone(
    client: httpx.AsyncClient, admin, conn, setup
) -> None:
    r = await submit(client, admin, [report("RQM", observations=[obs("2022-01-01", 0.8)])])
    assert r.status_code == 201, r.text
    rows = [report("RQM", "2022-02-01", "implementing", observations=[obs("2022-01-01", 0.81), obs("2022-02-03", 1)])]
    r = await submit(client, admin, rows, mode="partial")
    assert r.json()["rows"][0]["status"] == "rejected"
    assert errors_of(r.json(), 1) == [
        ("observations[1].periodStart", "2022-02-03 does not start a month: use the 1st of a month")
    ]
    found = await adoption_at(conn, setup, "RQM")
    assert (found["stage"], found["started_on"]) == ("piloting", dt.date(2022, 3, 1))
    assert await conn.fetchval("SELECT value FROM observations") == 0.8


async def test_duplicate_observations_in_a_row(client: httpx.AsyncClient, admin, conn, setup) -> None:
    r = await submit(client, admin, [report("RQM", observations=[obs("2022-01-01", 0.8), obs("2022-01-01", 0.7)])])
    assert r.status_code == 422
    assert [f for f, _ in errors_of(r.json(), 1)] == ["observations[1].periodStart"]
    # the same period for two different adoptions in one batch is fine
    rows = [report(site, observations=[obs("2022-01-01", 0.8)]) for site in ("RQM", "RW6")]
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    assert await observation_count(conn) == 2


async def test_csv_observations_cell(client: httpx.AsyncClient, admin, conn, setup) -> None:
    good = msgspec.json.encode([obs("2022-01-01", 0.8), obs("2022-02-01", 0.82)]).decode()
    rows = [
        {**report("RQM"), "observations": good},
        {
            **report("RW6"),
            "observations": '[{"measureCode":"AE_4HR","periodStart":"2022-01-01","period":"month","value":NaN}]',
        },
        {
            **report("R0A"),
            "observations": '[{"measureCode":"AE_4HR","periodStart":"2022-01-01","period":"month","value":1e400}]',
        },
        {**report("RXR"), "observations": "[{not json"},
        {**report("RJ1"), "observations": ""},
    ]
    text = as_csv(rows)
    assert '""measureCode"":""AE_4HR""' in text  # quoted the CSV way

    r = await submit(client, admin, text, content_type="text/csv")
    assert r.status_code == 422, r.text
    assert await observation_count(conn) == 0

    r = await submit(client, admin, text, mode="partial", content_type="text/csv")
    assert r.status_code == 201, r.text
    result = r.json()
    assert [x["status"] for x in result["rows"]] == ["created", "rejected", "rejected", "rejected", "created"]
    assert [f for f, _ in errors_of(result, 2)] == ["observations[0].value"]
    assert [f for f, _ in errors_of(result, 3)] == ["observations[0].value"]
    assert [f for f, _ in errors_of(result, 4)] == ["observations"]
    assert await observations_of(client, admin, result["rows"][0]["adoptionId"]) == [
        ("AE_4HR", "month", "2022-01-01", 0.8),
        ("AE_4HR", "month", "2022-02-01", 0.82),
    ]
    assert await observation_count(conn) == 2

    # the same file again: unchanged
    r = await submit(client, admin, text, mode="partial", content_type="text/csv")
    assert [x["status"] for x in r.json()["rows"]] == ["unchanged", "rejected", "rejected", "rejected", "unchanged"]


async def test_ndjson_observations(client: httpx.AsyncClient, admin, conn, setup) -> None:
    lines = [
        report("RQM", observations=[obs("2022-01-01", 0.8)]),
        report("RW6", observations=[{**obs("2022-01-01", 0.8), "measureCode": "NOPE"}]),
    ]
    body = b"\n".join(msgspec.json.encode(line) for line in lines) + b"\n"
    r = await submit(client, admin, body, content_type="application/x-ndjson")
    assert r.status_code == 422
    assert errors_of(r.json(), 2) == [("observations[0].measureCode", "no measure has code 'NOPE'")]
    r = await submit(client, admin, body, mode="partial", content_type="application/x-ndjson")
    assert r.status_code == 201, r.text
    assert [x["status"] for x in r.json()["rows"]] == ["created", "rejected"]
    assert await observations_of(client, admin, r.json()["rows"][0]["adoptionId"]) == [
        ("AE_4HR", "month", "2022-01-01", 0.8)
    ]
