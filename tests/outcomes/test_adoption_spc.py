"""GET /v1/adoptions/{id}/measures/{code}/spc: the engine's answer over the adoption's series."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import httpx
import msgspec
import pytest

from service.analysis.spc import calculate_spc
from tests.outcomes import rows

BEFORE = [0.80, 0.82, 0.79, 0.81, 0.83, 0.80, 0.78, 0.81, 0.82, 0.80, 0.79, 0.81]
AFTER = [0.86, 0.88, 0.87, 0.89, 0.86, 0.88, 0.90, 0.87, 0.88, 0.89, 0.87, 0.88]
FIRST = dt.date(2017, 1, 1)
STARTED = dt.date(2018, 1, 1)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def arranged(conn) -> dict:
    inno = await rows.innovation(conn)
    adoption = await rows.adoption(conn, inno, "RXN", STARTED)
    await rows.measure(conn, "AE_4HR", "increase")
    periods = await rows.series(conn, adoption, "AE_4HR", FIRST, BEFORE + AFTER)
    return {"adoption": adoption, "periods": periods, "url": f"/v1/adoptions/{adoption}/measures/AE_4HR/spc"}


def engine(periods, **kw) -> dict:
    result = calculate_spc(BEFORE + AFTER, periods=periods, improvement_direction="increase", **kw)
    return msgspec.to_builtins(result)


async def test_same_as_the_engine_with_and_without_rebase(client: httpx.AsyncClient, arranged, reader, conn) -> None:
    r = await client.get(arranged["url"], headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = engine(arranged["periods"])
    for key in ("points", "phases", "variation", "assurance"):
        assert body[key] == expected[key], key
    assert body["adoptionId"] == str(arranged["adoption"]) and body["siteCode"] == "RXN"
    assert body["period"] == "month" and body["startedOn"] == "2018-01-01"
    assert body["target"] is None and body["assurance"] is None and body["rebaseAtAdoption"] is False
    # one phase: the step up after the start shows as special-cause improvement
    assert len(body["phases"]) == 1
    # by hand: the 24 values sum to 20.19 (mean 0.84125); the 23 moving ranges sum to 0.48
    # (mean 0.0208696, none reaching 3.267 x that = 0.0682); limits mean +- 2.66 x 0.0208696
    phase = body["phases"][0]
    assert phase["mean"] == pytest.approx(0.84125, abs=1e-6)
    assert phase["lowerLimit"] == pytest.approx(0.785737, abs=1e-6)
    assert phase["upperLimit"] == pytest.approx(0.896763, abs=1e-6)
    assert all(p["pointType"] == "special_cause_improvement" for p in body["points"][12:])

    r = await client.get(arranged["url"] + "?rebaseAtAdoption=true", headers=reader)
    body = r.json()
    expected = engine(arranged["periods"], rebase=[12])
    for key in ("points", "phases", "variation", "assurance"):
        assert body[key] == expected[key], key
    assert [p["start"] for p in body["phases"]] == [0, 12]
    assert body["phases"][1]["mean"] > body["phases"][0]["mean"]

    # with an explicit target (screening is tested on data where it matters, below)
    r = await client.get(arranged["url"] + "?target=0.85", headers=reader)
    expected = engine(arranged["periods"], target=0.85)
    assert r.json()["points"] == expected["points"] and r.json()["assurance"] == expected["assurance"]
    assert r.json()["target"] == 0.85


# A spike whose two moving ranges (7, 7) exceed 3.267 x the mean moving range (23/11 = 2.0909,
# threshold 6.831), so screening drops them and the mean moving range becomes 9/9 = 1.
SPIKED = [10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 18, 11]


async def test_screen_outliers_flag_changes_the_limits_as_worked_by_hand(
    client: httpx.AsyncClient, reader, conn
) -> None:
    inno = await rows.innovation(conn)
    adoption = await rows.adoption(conn, inno, "RXN", STARTED)
    await rows.measure(conn, "AE_4HR", "increase")
    await rows.series(conn, adoption, "AE_4HR", STARTED, SPIKED)
    url = f"/v1/adoptions/{adoption}/measures/AE_4HR/spc"
    mean = 134 / 12  # 11.1667

    # screened (the default): limits mean +- 2.66 x 1
    r = await client.get(url, headers=reader)
    assert r.status_code == 200, r.text
    (phase,) = r.json()["phases"]
    assert phase["mean"] == pytest.approx(11.166667, abs=1e-5)
    assert phase["lowerLimit"] == pytest.approx(8.506667, abs=1e-5)
    assert phase["upperLimit"] == pytest.approx(13.826667, abs=1e-5)
    assert phase["nearUpper"] == pytest.approx(mean + 2 / 3 * 2.66, abs=1e-5)
    assert r.json()["points"][10]["pointType"] == "special_cause_improvement"  # 18 > 13.83

    # unscreened: limits mean +- 2.66 x 23/11 = +- 5.561818
    r = await client.get(url + "?screenOutliers=false", headers=reader)
    assert r.status_code == 200, r.text
    (phase,) = r.json()["phases"]
    assert phase["mean"] == pytest.approx(11.166667, abs=1e-5)
    assert phase["lowerLimit"] == pytest.approx(5.604848, abs=1e-5)
    assert phase["upperLimit"] == pytest.approx(16.728485, abs=1e-5)
    assert phase["nearUpper"] == pytest.approx(mean + 2 / 3 * 2.66 * 23 / 11, abs=1e-5)
    assert r.json()["points"][10]["pointType"] == "special_cause_improvement"  # 18 > 16.73 still


async def test_target_defaults_to_the_latest_aim(client: httpx.AsyncClient, arranged, reader, conn) -> None:
    await rows.aim(conn, arranged["adoption"], "AE_4HR", 0.8, 0.95, dt.date(2019, 6, 1))
    await rows.aim(conn, arranged["adoption"], "AE_4HR", 0.75, 0.8, dt.date(2019, 12, 1))
    r = await client.get(arranged["url"] + "?rebaseAtAdoption=true", headers=reader)
    body = r.json()
    assert body["target"] == 0.8
    expected = engine(arranged["periods"], rebase=[12], target=0.8)
    assert body["assurance"] == expected["assurance"] == "consistent_pass"
    r = await client.get(arranged["url"] + "?rebaseAtAdoption=true&target=0.95", headers=reader)
    assert r.json()["target"] == 0.95 and r.json()["assurance"] == "consistent_fail"


async def test_svg_chart(client: httpx.AsyncClient, arranged, reader, conn) -> None:
    await rows.aim(conn, arranged["adoption"], "AE_4HR", 0.8, 0.9, dt.date(2019, 6, 1))
    r = await client.get(arranged["url"] + "?rebaseAtAdoption=true&format=svg", headers=reader)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)  # noqa: S314 (SVG this API rendered)
    assert root.tag == f"{SVG}svg"
    assert "Measure AE_4HR" in root.find(f"{SVG}title").text
    circles = [c for c in root.iter(f"{SVG}circle") if "point" in c.get("class", "")]
    assert len(circles) == 24
    classes = {el.get("class") for el in root.iter() if el.get("class")}
    assert {"target", "rebase", "series"} <= classes
    # one phase: the months after the start are drawn as improvement
    r = await client.get(arranged["url"] + "?format=svg", headers=reader)
    root = ET.fromstring(r.text)  # noqa: S314 (SVG this API rendered)
    circles = [c for c in root.iter(f"{SVG}circle") if "point" in c.get("class", "")]
    assert sum("special_cause_improvement" in c.get("class") for c in circles) >= 12


async def test_errors(client: httpx.AsyncClient, arranged, reader, conn) -> None:
    r = await client.get("/v1/adoptions/00000000-0000-0000-0000-000000000001/measures/AE_4HR/spc", headers=reader)
    assert r.status_code == 404
    r = await client.get(f"/v1/adoptions/{arranged['adoption']}/measures/NOPE/spc", headers=reader)
    assert r.status_code == 404
    await rows.measure(conn, "ONE_POINT")
    await rows.series(conn, arranged["adoption"], "ONE_POINT", FIRST, [1.0])
    r = await client.get(f"/v1/adoptions/{arranged['adoption']}/measures/ONE_POINT/spc", headers=reader)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code"
    # a rebase that would leave one point before the start
    await rows.measure(conn, "LATE_START")
    await rows.series(conn, arranged["adoption"], "LATE_START", dt.date(2017, 12, 1), [1, 2, 3, 4])
    r = await client.get(
        f"/v1/adoptions/{arranged['adoption']}/measures/LATE_START/spc?rebaseAtAdoption=true", headers=reader
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rebaseAtAdoption"
    for query in ("format=png", "target=1e16", "period=day", "rebaseAtAdoption=perhaps"):
        r = await client.get(f"{arranged['url']}?{query}", headers=reader)
        assert r.status_code == 400 or r.status_code == 422, query


async def test_series_choice_and_no_rebase_when_all_after(client: httpx.AsyncClient, arranged, reader, conn) -> None:
    # a later weekly series becomes the default; period=month still charts the monthly one
    mondays = [dt.date(2019, 1, 7) + dt.timedelta(days=7 * i) for i in range(5)]
    await rows.series(conn, arranged["adoption"], "AE_4HR", mondays[0], [0.9, 0.91, 0.89, 0.9, 0.92], period="week")
    r = await client.get(arranged["url"], headers=reader)
    assert r.json()["period"] == "week" and len(r.json()["points"]) == 5
    r = await client.get(arranged["url"] + "?period=month", headers=reader)
    assert r.json()["period"] == "month" and len(r.json()["points"]) == 24
    r = await client.get(arranged["url"] + "?period=quarter", headers=reader)
    assert r.status_code == 422
    # every weekly point is after the start: nothing to rebase at, one phase
    r = await client.get(arranged["url"] + "?rebaseAtAdoption=true", headers=reader)
    assert r.status_code == 200 and len(r.json()["phases"]) == 1
