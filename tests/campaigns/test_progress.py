"""Progress: roll-ups against hand-computed totals, every status, filters, asOf, projection and the SVG."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import xml.etree.ElementTree as ET

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.campaigns.schemas import Campaign, Progress
from service.campaigns.svg import render_progress_svg
from tests.campaigns import rows
from tests.campaigns.api import commit, make_campaign

SVG = "{http://www.w3.org/2000/svg}"


def straight(target: float, start: str, due: str, on: str) -> float:
    """The straight-line expectation from 0 at ``start`` to ``target`` at ``due``, on ``on``."""
    s, d, o = (dt.date.fromisoformat(x) for x in (start, due, on))
    return target * (o - s).days / (d - s).days


@pytest.fixture
async def national(client: httpx.AsyncClient, conn, admin) -> dict:
    """A campaign over two innovations with four commitments and observations to be counted or not.

    Campaign: 2024, target 1,200 people by 31 December, straight trajectory. As of 2024-06-15:
    - RXN (target 200, from 1 January): its adoption of innovation A reports 10..60 for
      January to June (210; July's 70 is after asOf), and one of RXN's hospital sites adopted
      innovation B and reports 5 in March (counts under RXN): 215, met.
    - RQM (target 100, agreed 1 March): 100 in each of January and February (before it
      committed: not counted), 25 in March and April: 50, on track (expected 34.75).
    - the ICB QE1 (target 300): another Lancashire trust reports weekly 3 and 4 in the first
      two weeks of January and also a monthly 100 for January (the weekly series counts, the
      monthly duplicate does not): 7, off track and stalled.
    - the region Y56 (target 50): nothing reported: no data, stalled.
    Not counted: R0A (no commitment) 1,000; another measure at RXN 999; an innovation outside
    the campaign at RXN 500. Overall: 215 + 50 + 7 = 272.
    """
    await rows.measure(conn)
    await rows.measure(conn, "OTHER_MEASURE")
    a = await rows.innovation(conn, "innovation-a")
    b = await rows.innovation(conn, "innovation-b")
    outside = await rows.innovation(conn, "innovation-outside")
    lancashire_trust = await rows.other_trust_in_icb(conn, "QE1", ["RXN"])
    rxn_site = await rows.child_site(conn, "RXN")
    assert lancashire_trust and rxn_site

    rxn = await rows.adoption(conn, a, "RXN")
    await rows.observe(conn, rxn, {f"2024-{m:02d}-01": 10.0 * m for m in range(1, 8)})
    await rows.observe(conn, rxn, {"2024-03-01": 999}, code="OTHER_MEASURE")
    await rows.observe(conn, await rows.adoption(conn, b, rxn_site), {"2024-03-01": 5})
    await rows.observe(conn, await rows.adoption(conn, outside, "RXN"), {"2024-03-01": 500})
    await rows.observe(
        conn,
        await rows.adoption(conn, a, "RQM"),
        {"2024-01-01": 100, "2024-02-01": 100, "2024-03-01": 25, "2024-04-01": 25},
    )
    icb_trust = await rows.adoption(conn, a, lancashire_trust)
    await rows.observe(conn, icb_trust, {"2024-01-01": 3, "2024-01-08": 4}, period="week")
    await rows.observe(conn, icb_trust, {"2024-01-01": 100})
    await rows.observe(conn, await rows.adoption(conn, a, "R0A"), {"2024-03-01": 1000})

    campaign = await make_campaign(client, admin, [str(a), str(b)])
    for site, target, agreed in (
        ("RXN", 200, "2024-01-01"),
        ("RQM", 100, "2024-03-01"),
        ("QE1", 300, "2024-01-01"),
        ("Y56", 50, "2024-01-01"),
    ):
        r = await commit(client, admin, campaign["id"], site, target, agreedOn=agreed)
        assert r.status_code == 201, r.text
    # Open impediments on 2024-06-15: one at RXN's hospital site (counts for RXN); at RQM, one
    # resolved before then, one open; one raised after then does not count.
    await rows.impediment(conn, campaign["id"], rxn_site, "open", "2024-05-01")
    await rows.impediment(conn, campaign["id"], "RQM", "resolved", "2024-04-01", "2024-05-01")
    await rows.impediment(conn, campaign["id"], "RQM", "support_offered", "2024-05-01")
    await rows.impediment(conn, campaign["id"], "RQM", "open", "2024-07-01")
    return campaign


async def test_roll_up_matches_hand_computed_totals(client: httpx.AsyncClient, national, admin) -> None:
    r = await client.get(f"/v1/campaigns/{national['id']}/progress?asOf=2024-06-15", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["asOf"] == "2024-06-15" and body["measureCode"] == rows.MEASURE and body["period"] == "month"

    overall = body["overall"]
    assert overall["value"] == 272
    assert overall["target"] == 1200
    assert overall["expectedByNow"] == pytest.approx(straight(1200, "2024-01-01", "2024-12-31", "2024-06-15"))
    assert overall["status"] == "off_track"
    # Pace since 1 January: 272 in 166 days; 928 to go.
    days = math.ceil(928 * 166 / 272)
    assert overall["projectedCompletion"] == (dt.date(2024, 6, 15) + dt.timedelta(days=days)).isoformat()

    sites = {s["siteCode"]: s for s in body["sites"]}
    assert list(sites) == ["QE1", "RQM", "RXN", "Y56"]
    assert {c: (s["value"], s["status"], s["stalled"], s["openImpediments"]) for c, s in sites.items()} == {
        "RXN": (215, "met", False, 1),
        "RQM": (50, "on_track", False, 1),
        "QE1": (7, "off_track", True, 0),
        "Y56": (0, "no_data", True, 0),
    }
    assert sites["RQM"]["expectedByNow"] == pytest.approx(straight(100, "2024-03-01", "2024-12-31", "2024-06-15"))
    assert sites["RQM"]["countsFrom"] == "2024-03-01" and sites["RQM"]["lastPeriodStart"] == "2024-04-01"
    assert sites["QE1"]["expectedByNow"] == pytest.approx(straight(300, "2024-01-01", "2024-12-31", "2024-06-15"))
    assert sites["QE1"]["lastPeriodStart"] == "2024-01-08"
    assert sum(s["value"] for s in sites.values()) == overall["value"]

    series = body["series"]
    assert [p["periodStart"] for p in series] == [f"2024-{m:02d}-01" for m in range(1, 7)]
    assert [p["value"] for p in series] == [17, 37, 97, 162, 212, 272]
    assert series[0]["expected"] == pytest.approx(straight(1200, "2024-01-01", "2024-12-31", "2024-01-31"))
    assert series[-1]["expected"] == pytest.approx(overall["expectedByNow"])  # June is cut at asOf

    r = await client.get(f"/v1/campaigns/{national['id']}/progress?asOf=2024-06-15&period=quarter", headers=admin)
    assert [(p["periodStart"], p["value"]) for p in r.json()["series"]] == [("2024-01-01", 97), ("2024-04-01", 272)]


async def test_filters(client: httpx.AsyncClient, national, admin) -> None:
    url = f"/v1/campaigns/{national['id']}/progress?asOf=2024-06-15"

    async def codes(query: str) -> list[str]:
        r = await client.get(f"{url}&{query}", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["overall"]["value"] == 272  # the filter narrows sites, never the total
        return [s["siteCode"] for s in r.json()["sites"]]

    assert await codes("filter=stalled") == ["QE1", "Y56"]
    assert await codes("filter=ahead") == ["RQM", "RXN"]
    assert await codes("filter=off_track") == ["QE1"]
    r = await client.get(f"{url}&filter=sleepy", headers=admin)
    assert r.status_code == 422


async def test_as_of_moves_the_judgement(client: httpx.AsyncClient, national, admin) -> None:
    url = f"/v1/campaigns/{national['id']}/progress"
    r = await client.get(f"{url}?asOf=2024-02-15", headers=admin)
    body = r.json()
    # RXN: January 10 and February 20; QE1: 7; RQM had not committed yet.
    assert body["overall"]["value"] == 37
    sites = {s["siteCode"]: s for s in body["sites"]}
    assert (sites["RXN"]["value"], sites["QE1"]["value"], sites["RQM"]["value"]) == (30, 7, 0)
    assert sites["RQM"]["status"] == "no_data" and not sites["RQM"]["stalled"]
    assert sites["RQM"]["expectedByNow"] == 0
    assert sites["QE1"]["stalled"]  # weekly: nothing since the week of 8 January
    assert not sites["Y56"]["stalled"]  # monthly (none reported): committed less than two months before
    assert [p["value"] for p in body["series"]] == [17, 37]

    r = await client.get(f"{url}?asOf=2023-12-01", headers=admin)
    body = r.json()
    assert body["overall"] == {
        "value": 0,
        "target": 1200,
        "expectedByNow": 0,
        "status": "no_data",
        "projectedCompletion": None,
    }
    assert body["series"] == []
    # After the campaign ends, nothing later counts: July's 70 at RXN is the last.
    r = await client.get(f"{url}?asOf=2025-06-01", headers=admin)
    assert r.json()["overall"]["value"] == 272 + 70
    assert len(r.json()["series"]) == 12
    assert r.json()["overall"]["expectedByNow"] == 1200


async def test_every_status_against_milestones(client: httpx.AsyncClient, conn, admin) -> None:
    """One site, 15 a month all year; target 120 by 31 December with a milestone of 100 by 1 July."""
    await rows.measure(conn)
    innovation = await rows.innovation(conn, "steady")
    adoption = await rows.adoption(conn, innovation, "RXN")
    await rows.observe(conn, adoption, {f"2024-{m:02d}-01": 15 for m in range(1, 13)})
    campaign = await make_campaign(
        client,
        admin,
        [str(innovation)],
        aim={"measureCode": rows.MEASURE, "baseline": 0, "target": 120, "dueOn": "2024-12-31"},
        milestones=[{"on": "2024-07-01", "target": 100}],
    )
    r = await commit(client, admin, campaign["id"], "RXN", 120, milestones=[{"on": "2024-07-01", "target": 100}])
    assert r.status_code == 201, r.text
    url = f"/v1/campaigns/{campaign['id']}/progress"

    async def overall(as_of: str) -> dict:
        r = await client.get(f"{url}?asOf={as_of}", headers=admin)
        assert r.status_code == 200, r.text
        site = r.json()["sites"][0]
        o = r.json()["overall"]
        assert (site["value"], site["status"]) == (o["value"], o["status"])
        return o

    o = await overall("2023-12-31")
    assert (o["value"], o["status"], o["expectedByNow"]) == (0, "no_data", 0)
    o = await overall("2024-03-15")  # 45 against 100 x 74/182
    assert (o["value"], o["status"]) == (45, "on_track")
    assert o["expectedByNow"] == pytest.approx(100 * 74 / 182)
    o = await overall("2024-06-15")  # 90 against 100 x 166/182
    assert (o["value"], o["status"]) == (90, "off_track")
    assert o["expectedByNow"] == pytest.approx(100 * 166 / 182)
    o = await overall("2024-10-01")  # past the milestone: 100 + 20 x 92/183
    assert o["expectedByNow"] == pytest.approx(100 + 20 * 92 / 183)
    assert (o["value"], o["status"]) == (150, "met")
    assert o["projectedCompletion"] == "2024-08-01"  # August's observation took it to 120
    o = await overall("2024-07-01")
    assert (o["value"], o["status"], o["expectedByNow"]) == (105, "on_track", 100)
    # 105 in 182 days; 15 to go at 105/182 a day (26 days).
    assert o["projectedCompletion"] == (dt.date(2024, 7, 1) + dt.timedelta(days=math.ceil(15 * 182 / 105))).isoformat()


async def test_svg_chart(client: httpx.AsyncClient, national, admin, conn) -> None:
    await client.patch(
        f"/v1/campaigns/{national['id']}",
        json={"name": 'Homes <for> "all" & more', "milestones": [{"on": "2024-06-30", "target": 500}]},
        headers=admin,
    )
    r = await client.get(f"/v1/campaigns/{national['id']}/progress?asOf=2024-06-15&format=svg", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)  # noqa: S314 (SVG this API rendered)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == 'Homes <for> "all" & more'
    classes = {e.get("class") for e in root.iter() if e.get("class")}
    assert {"trajectory", "cumulative", "target", "milestone", "as-of", "point"} <= classes
    points = [e for e in root.iter(f"{SVG}circle") if e.get("class") == "point"]
    assert len(points) == 6
    assert "272" in root.find(f"{SVG}desc").text
    assert b"<script" not in r.content and b"href" not in r.content

    # No data at all still draws.
    r = await client.get(f"/v1/campaigns/{national['id']}/progress?asOf=2023-06-01&format=svg", headers=admin)
    assert r.status_code == 200
    ET.fromstring(r.content)  # noqa: S314 (SVG this API rendered)


async def test_progress_input_problems(client: httpx.AsyncClient, national, admin) -> None:
    url = f"/v1/campaigns/{national['id']}/progress"
    for query in ("asOf=yesterday", "period=day", "format=png", "filter=all"):
        r = await client.get(f"{url}?{query}", headers=admin)
        assert r.status_code == 422, query
        assert r.headers["content-type"].startswith("application/problem+json")


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False), min_size=0, max_size=30),
    target=st.floats(min_value=1e-6, max_value=1e12),
    name=st.text(max_size=40),
    as_of_days=st.integers(min_value=-400, max_value=4000),
)
def test_svg_always_parses(values: list[float], target: float, name: str, as_of_days: int) -> None:
    """Any series, target, name and date draws a well-formed document (no DB: the renderer alone)."""
    start = dt.date(2024, 1, 1)
    campaign = msgspec.convert(
        {
            "id": "00000000-0000-0000-0000-000000000001",
            "name": name or "x",
            "description": "",
            "kind": "campaign",
            "leadPartner": "p",
            "leadPartnerId": "00000000-0000-0000-0000-000000000002",
            "innovationIds": [],
            "startsOn": "2024-01-01",
            "endsOn": "2026-12-31",
            "aim": {"measureCode": "M_X", "baseline": 0, "target": target, "dueOn": "2026-06-30"},
            "milestones": [{"on": "2025-01-01", "target": max(target / 2, 1e-6)}],
            "status": "active",
            "commitmentCount": 0,
            "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
        },
        Campaign,
    )
    cumulative = list(itertools.accumulate(values))
    progress = msgspec.convert(
        {
            "campaignId": str(campaign.id),
            "measureCode": "M_X",
            "asOf": (start + dt.timedelta(days=as_of_days)).isoformat(),
            "period": "month",
            "overall": {
                "value": cumulative[-1] if cumulative else 0,
                "target": target,
                "expectedByNow": target / 3,
                "status": "off_track",
                "projectedCompletion": None,
            },
            "sites": [],
            "series": [
                {"periodStart": f"{2024 + i // 12}-{i % 12 + 1:02d}-01", "value": v, "expected": 0}
                for i, v in enumerate(cumulative)
            ],
        },
        Progress,
    )
    root = ET.fromstring(render_progress_svg(progress, campaign, unit="<people>"))  # noqa: S314 (our own SVG)
    assert root.tag == f"{SVG}svg"


async def test_progress_by_site_as_csv(client: httpx.AsyncClient, national, admin) -> None:
    url = f"/v1/campaigns/{national['id']}/progress?asOf=2024-06-15"
    as_json = (await client.get(url, headers=admin)).json()
    r = await client.get(url, headers={**admin, "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    found = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["siteCode"] for row in found] == [s["siteCode"] for s in as_json["sites"]]
    assert list(found[0]) == list(as_json["sites"][0])
    assert (await client.get(url + "&format=csv", headers=admin)).text == r.text
    assert (await client.get(url, headers={**admin, "Accept": "text/html"})).status_code == 406
