"""Aims: status met / on_track / off_track / no_data against the line or the trajectory; rules."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.conftest import KeyMaker
from tests.outcomes import rows

START = dt.date(2017, 1, 1)
DUE = "2019-01-01"  # 730 days after the start: the line is halfway on 2018-01-01


@pytest.fixture
async def adoption(conn) -> str:
    inno = await rows.innovation(conn)
    adoption = await rows.adoption(conn, inno, "RXN", START)
    for code in ("M_MET", "M_ON", "M_OFF", "M_NONE", "M_TRAJ", "M_LATE"):
        await rows.measure(conn, code, "increase")
    await rows.measure(conn, "WAIT_DAYS", "decrease", "days")
    # latest observations: 2018-01-01 (halfway), except M_MET (reached the target) and M_LATE
    await rows.series(conn, adoption, "M_MET", dt.date(2017, 11, 1), [0.9, 0.93, 0.96])
    await rows.series(conn, adoption, "M_ON", dt.date(2017, 12, 1), [0.86, 0.88])
    await rows.series(conn, adoption, "M_OFF", dt.date(2017, 12, 1), [0.9, 0.86])
    await rows.series(conn, adoption, "M_TRAJ", dt.date(2017, 12, 1), [0.86, 0.88])
    await rows.series(conn, adoption, "WAIT_DAYS", dt.date(2017, 12, 1), [16, 14])
    await rows.series(conn, adoption, "M_LATE", dt.date(2019, 2, 1), [0.94])
    return str(adoption)


def aim(code: str, **extra) -> dict:
    return {"measureCode": code, "baseline": 0.8, "target": 0.95, "dueOn": DUE, **extra}


async def test_status_against_the_line_and_the_trajectory(client: httpx.AsyncClient, adoption: str, admin) -> None:
    url = f"/v1/adoptions/{adoption}/aims"
    made = {}
    for body in (
        aim("M_MET"),
        aim("M_ON"),
        aim("M_OFF"),
        aim("M_NONE"),
        aim(
            "M_TRAJ",
            trajectory=[{"periodStart": "2018-01-01", "target": 0.9}, {"periodStart": "2017-07-01", "target": 0.85}],
        ),
        aim("M_LATE"),
        {"measureCode": "WAIT_DAYS", "baseline": 20, "target": 10, "dueOn": DUE},
    ):
        r = await client.post(url, json=body, headers=admin)
        assert r.status_code == 201, r.text
        made[body["measureCode"]] = r.json()

    # the line from 0.80 on the adoption's start to 0.95 on dueOn expects 0.875 on 2018-01-01
    assert made["M_MET"]["status"] == "met" and made["M_MET"]["latestValue"] == 0.96
    assert made["M_ON"]["status"] == "on_track"
    assert made["M_ON"]["expectedValue"] == pytest.approx(0.875)
    assert made["M_ON"]["latestPeriodStart"] == "2018-01-01"
    assert made["M_OFF"]["status"] == "off_track"  # 0.86 < 0.875
    assert made["M_NONE"]["status"] == "no_data" and made["M_NONE"]["latestValue"] is None
    # with a trajectory the interim target for 2018-01-01 (0.90) applies: 0.88 is off track
    assert made["M_TRAJ"]["status"] == "off_track" and made["M_TRAJ"]["expectedValue"] == 0.9
    assert [p["periodStart"] for p in made["M_TRAJ"]["trajectory"]] == ["2017-07-01", "2018-01-01"]
    # after dueOn only the target counts
    assert made["M_LATE"]["status"] == "off_track" and made["M_LATE"]["expectedValue"] == 0.95
    # fewer is better: 14 days is better than the 15 the line expects halfway from 20 to 10
    assert made["WAIT_DAYS"]["status"] == "on_track" and made["WAIT_DAYS"]["expectedValue"] == pytest.approx(15)

    r = await client.get(url, headers=admin)
    assert r.status_code == 200
    assert [(a["measureCode"], a["status"]) for a in r.json()["items"]] == [
        ("M_MET", "met"),
        ("M_ON", "on_track"),
        ("M_OFF", "off_track"),
        ("M_NONE", "no_data"),
        ("M_TRAJ", "off_track"),
        ("M_LATE", "off_track"),
        ("WAIT_DAYS", "on_track"),
    ]
    r = await client.get(f"{url}?measure=m_on", headers=admin)
    assert [a["id"] for a in r.json()["items"]] == [made["M_ON"]["id"]]
    r = await client.get(f"{url}?limit=4", headers=admin)
    assert len(r.json()["items"]) == 4
    r = await client.get(f"{url}?limit=4&cursor={r.json()['nextCursor']}", headers=admin)
    assert [a["measureCode"] for a in r.json()["items"]] == ["M_TRAJ", "M_LATE", "WAIT_DAYS"]


async def test_aim_statuses_move_with_new_observations(client: httpx.AsyncClient, adoption: str, admin, conn) -> None:
    url = f"/v1/adoptions/{adoption}/aims"
    r = await client.post(url, json=aim("M_NONE"), headers=admin)
    assert r.json()["status"] == "no_data"
    obs_url = f"/v1/adoptions/{adoption}/observations"
    m = {"measureCode": "M_NONE", "period": "month"}
    await client.post(obs_url, json=[{**m, "periodStart": "2018-01-01", "value": 0.9}], headers=admin)
    assert (await client.get(url, headers=admin)).json()["items"][0]["status"] == "on_track"
    await client.post(obs_url, json=[{**m, "periodStart": "2018-01-01", "value": 0.85}], headers=admin)
    assert (await client.get(url, headers=admin)).json()["items"][0]["status"] == "off_track"
    await client.post(obs_url, json=[{**m, "periodStart": "2018-02-01", "value": 0.95}], headers=admin)
    assert (await client.get(url, headers=admin)).json()["items"][0]["status"] == "met"
    assert await conn.fetchval("SELECT count(*) FROM changes WHERE entity = 'aim'") == 1


async def test_aim_rules(client: httpx.AsyncClient, adoption: str, make_key: KeyMaker, admin) -> None:
    url = f"/v1/adoptions/{adoption}/aims"

    async def fields(body) -> list[str]:
        r = await client.post(url, json=body, headers=admin)
        assert r.status_code == 422, r.text
        return [e["field"] for e in r.json()["errors"]]

    assert await fields(aim("NOPE")) == ["measureCode"]
    assert await fields(aim("M_ON", dueOn="2016-12-31")) == ["dueOn"]
    assert await fields(aim("M_ON", dueOn=START.isoformat())) == ["dueOn"]
    assert await fields(
        aim(
            "M_ON",
            trajectory=[{"periodStart": "2018-01-01", "target": 0.9}, {"periodStart": "2018-01-01", "target": 0.91}],
        )
    ) == ["trajectory[1].periodStart"]
    assert await fields(aim("M_ON", trajectory=[{"periodStart": "2019-02-01", "target": 0.9}])) == [
        "trajectory[0].periodStart"
    ]
    r = await client.post(url, json=aim("M_ON", baseline=1e300), headers=admin)
    assert r.status_code == 422
    r = await client.post(url, json={"measureCode": "M_ON", "target": 1, "dueOn": DUE}, headers=admin)
    assert r.status_code == 422

    london = await make_key("read,write", partner="London HIN", sites=["Y56"])
    lancashire = await make_key("read,write", partner="Lancashire HIN", sites=["RXN"])
    assert (await client.post(url, json=aim("M_ON"), headers=london)).status_code == 403
    assert (await client.post(url, json=aim("M_ON"), headers=lancashire)).status_code == 201
    missing = "/v1/adoptions/00000000-0000-0000-0000-000000000001/aims"
    assert (await client.post(missing, json=aim("M_ON"), headers=admin)).status_code == 404
    assert (await client.get(missing, headers=admin)).status_code == 404
