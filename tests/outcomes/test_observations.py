"""Observations: upsert semantics and the change log, every validation rule, partner sites, listing."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.conftest import KeyMaker
from tests.outcomes import rows


@pytest.fixture
async def setup(conn) -> dict:
    inno = await rows.innovation(conn)
    adoption = await rows.adoption(conn, inno, "RXN", dt.date(2017, 6, 1))
    await rows.measure(conn, "AE_4HR", "increase", "proportion")
    await rows.measure(conn, "AE_4HR_PCT", "increase", "%")
    return {"innovation": inno, "adoption": adoption, "url": f"/v1/adoptions/{adoption}/observations"}


def obs(period_start: str, value: float, **extra) -> dict:
    return {"measureCode": "AE_4HR", "periodStart": period_start, "period": "month", "value": value, **extra}


async def test_upsert_creates_corrects_and_keeps_the_old_value(client: httpx.AsyncClient, setup, conn, admin) -> None:
    url = setup["url"]
    first = [obs("2018-01-01", 0.8, numerator=800, denominator=1000), obs("2018-02-01", 0.82)]
    r = await client.post(url, json=first, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [o["periodStart"] for o in body["items"]] == ["2018-01-01", "2018-02-01"]
    assert body["items"][0]["numerator"] == 800 and body["items"][1]["numerator"] is None
    ids = [o["id"] for o in body["items"]]

    # the same again: nothing changes, no change-log entry
    changes_before = await conn.fetchval("SELECT count(*) FROM changes WHERE entity = 'observation'")
    r = await client.post(url, json=first, headers=admin)
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, 2)
    assert [o["id"] for o in r.json()["items"]] == ids
    assert await conn.fetchval("SELECT count(*) FROM changes WHERE entity = 'observation'") == changes_before

    # a correction and a new month in one batch (sent out of order): one update, one create
    r = await client.post(url, json=[obs("2018-03-01", 0.9), obs("2018-02-01", 0.85)], headers=admin)
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 1, 0)
    assert [o["periodStart"] for o in body["items"]] == ["2018-03-01", "2018-02-01"]
    assert body["items"][1]["id"] == ids[1] and body["items"][1]["value"] == 0.85

    history = await conn.fetch(
        "SELECT action, before, after FROM changes WHERE entity = 'observation' AND entity_id = $1 ORDER BY seq",
        ids[1],
    )
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["before"]["value"] == 0.82 and history[1]["after"]["value"] == 0.85
    assert history[1]["before"]["periodStart"] == "2018-02-01"
    assert await conn.fetchval("SELECT count(*) FROM observations") == 3

    # a weekly value starting the same day (1 January 2018 was a Monday) is a different observation
    r = await client.post(url, json=[{**obs("2018-01-01", 0.7), "period": "week"}], headers=admin)
    assert r.status_code == 200 and r.json()["created"] == 1
    assert r.json()["items"][0]["id"] not in ids

    # listing: time order, filter by measure and period, paged
    r = await client.get(url, headers=admin)
    assert [(o["periodStart"], o["period"]) for o in r.json()["items"]] == [
        ("2018-01-01", "month"),
        ("2018-01-01", "week"),
        ("2018-02-01", "month"),
        ("2018-03-01", "month"),
    ]
    r = await client.get(f"{url}?measure=AE_4HR&period=month&limit=2", headers=admin)
    assert [o["periodStart"] for o in r.json()["items"]] == ["2018-01-01", "2018-02-01"]
    r = await client.get(f"{url}?measure=AE_4HR&period=month&limit=2&cursor={r.json()['nextCursor']}", headers=admin)
    assert [o["periodStart"] for o in r.json()["items"]] == ["2018-03-01"] and r.json()["nextCursor"] is None
    r = await client.get(f"{url}?measure=OTHER", headers=admin)
    assert r.status_code == 200 and r.json()["items"] == []


async def test_each_validation_rule(client: httpx.AsyncClient, setup, admin) -> None:
    url = setup["url"]
    today = dt.date.today()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)

    async def fields(body) -> list[str]:
        r = await client.post(url, json=body, headers=admin)
        assert r.status_code == 422, r.text
        return [e["field"] for e in r.json()["errors"]]

    # aligned to the period
    assert await fields([obs("2018-01-15", 0.8)]) == ["[0].periodStart"]
    assert await fields([{**obs("2018-01-02", 0.8), "period": "week"}]) == ["[0].periodStart"]  # a Tuesday
    assert await fields([{**obs("2018-02-01", 0.8), "period": "quarter"}]) == ["[0].periodStart"]
    # not in the future
    assert await fields([obs(next_month.isoformat(), 0.8)]) == ["[0].periodStart"]
    # the measure exists
    assert await fields([{**obs("2018-01-01", 0.8), "measureCode": "NOPE"}]) == ["[0].measureCode"]
    # numerator / denominator agree with the value
    assert await fields([obs("2018-01-01", 0.9, numerator=800, denominator=1000)]) == ["[0].value"]
    # percentages: value = 100 x numerator / denominator
    pct = {"measureCode": "AE_4HR_PCT", "periodStart": "2018-01-01", "period": "month"}
    assert await fields([{**pct, "value": 0.8, "numerator": 800, "denominator": 1000}]) == ["[0].value"]
    # each (measure, period, start) once per batch
    assert await fields([obs("2018-01-01", 0.8), obs("2018-01-01", 0.81)]) == ["[1].periodStart"]
    # several errors at once, named by index; nothing is written
    assert await fields(
        [obs("2018-01-01", 0.8), obs("2018-01-15", 0.8), {**obs("2018-02-01", 1), "measureCode": "X1"}]
    ) == [
        "[1].periodStart",
        "[2].measureCode",
    ]

    # value finite and bounded, denominator above 0, numerator not negative, non-empty list (schema)
    for bad, status, problem in (
        # beyond a double: msgspec refuses it while decoding, before any field is known
        (
            '[{"measureCode": "AE_4HR", "periodStart": "2018-01-01", "period": "month", "value": 1e400}]',
            400,
            "bad-request",
        ),
        (
            '[{"measureCode": "AE_4HR", "periodStart": "2018-01-01", "period": "month", "value": 1e16}]',
            422,
            "invalid-input",
        ),
        # NaN is not JSON
        (
            '[{"measureCode": "AE_4HR", "periodStart": "2018-01-01", "period": "month", "value": NaN}]',
            400,
            "malformed-body",
        ),
    ):
        r = await client.post(url, content=bad, headers={**admin, "Content-Type": "application/json"})
        assert r.status_code == status, (bad, r.text)
        assert r.json()["type"] == f"/problems/{problem}", (bad, r.text)
    assert (
        await client.post(url, json=[obs("2018-01-01", 0, numerator=0, denominator=0)], headers=admin)
    ).status_code == 422
    assert (
        await client.post(url, json=[obs("2018-01-01", 0, numerator=-1, denominator=5)], headers=admin)
    ).status_code == 422
    assert (await client.post(url, json=[], headers=admin)).status_code == 422
    assert (await client.post(url, json=[{**obs("2018-01-01", 1), "period": "day"}], headers=admin)).status_code == 422
    r = await client.post(url, json=[obs("2018-01-01", 1)] * 1001, headers=admin)
    assert r.status_code == 422  # at most 1000 a request (schema)
    assert r.json()["errors"][0]["field"] == "data"

    # within tolerance: rounded values pass
    ok = [
        obs("2018-01-01", 0.857, numerator=857, denominator=1000.4),
        {**pct, "value": 85.7, "numerator": 8571, "denominator": 10000},
        {**obs("2018-01-01", 0.5), "period": "quarter"},
        {**obs("2018-01-29", 0.5), "period": "week"},
        obs(today.replace(day=1).isoformat(), 0.5),
    ]
    r = await client.post(url, json=ok, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 5


async def test_partner_must_cover_the_site_and_404(client: httpx.AsyncClient, setup, make_key: KeyMaker) -> None:
    url = setup["url"]
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["QE1"])  # RXN is in QE1
    london = await make_key("read,write", partner="London HIN", sites=["Y56"])
    reader = await make_key("read", partner="Reader")
    body = [obs("2018-01-01", 0.8)]
    assert (await client.post(url, json=body, headers=london)).status_code == 403
    assert (await client.post(url, json=body, headers=reader)).status_code == 403
    r = await client.post(url, json=body, headers=lancashire)
    assert r.status_code == 200, r.text
    missing = "/v1/adoptions/00000000-0000-0000-0000-000000000001/observations"
    assert (await client.post(missing, json=body, headers=lancashire)).status_code == 404
    assert (await client.get(missing, headers=reader)).status_code == 404
    assert (await client.get(f"{url}?cursor=nonsense", headers=reader)).status_code == 422
