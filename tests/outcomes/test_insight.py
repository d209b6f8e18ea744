"""Insight on hand-built series: exceptional ranking, peers ordering and reasons, RE-AIM counts."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import httpx
import pytest

from service.analysis.spc import calculate_spc
from tests.outcomes import rows

NOISE = [0.0, 0.01, -0.01, 0.005, -0.005, 0.01, -0.01, 0.0, 0.005, -0.005, 0.01, -0.01]
FIRST = dt.date(2017, 1, 1)
STARTED = dt.date(2018, 1, 1)


def stepped(before: float, after: float, n_before: int = 12, n_after: int = 12) -> list[float]:
    """A level ``before`` then ``after``, with the same small wobble on both."""
    return [before + NOISE[i % 12] for i in range(n_before)] + [after + NOISE[i % 12] for i in range(n_after)]


async def observed(conn, adoption, values, first=FIRST, code="AE_4HR") -> None:
    await rows.series(conn, adoption, code, first, values)


# --- exceptional -----------------------------------------------------------------------------


@pytest.fixture
async def exceptional_setup(conn) -> dict:
    await rows.measure(conn, "AE_4HR", "increase")
    await rows.measure(conn, "WAIT_DAYS", "decrease", "days")
    await rows.measure(conn, "BEDS", "neutral", "count")
    a = await rows.innovation(conn, "innovation-a")
    b = await rows.innovation(conn, "innovation-b")
    ids = {
        "a_rxn": await rows.adoption(conn, a, "RXN", STARTED),  # +0.08
        "a_rqm": await rows.adoption(conn, a, "RQM", STARTED),  # +0.04
        "a_r0a": await rows.adoption(conn, a, "R0A", STARTED),  # flat
        "a_rxr": await rows.adoption(conn, a, "RXR", STARTED),  # better before, worse after
        "a_rxl": await rows.adoption(conn, a, "RXL", STARTED),  # data only after the start
        "b_rqm": await rows.adoption(conn, b, "RQM", dt.date(2017, 7, 1)),  # +0.10
    }
    await observed(conn, ids["a_rxn"], stepped(0.80, 0.88))
    await observed(conn, ids["a_rqm"], stepped(0.80, 0.84))
    await observed(conn, ids["a_r0a"], stepped(0.80, 0.80))
    await observed(conn, ids["a_rxr"], stepped(0.88, 0.80))
    await observed(conn, ids["a_rxl"], stepped(0.80, 0.90, 0, 12), first=STARTED)
    await observed(conn, ids["b_rqm"], stepped(0.75, 0.85, 6, 18))
    await observed(conn, ids["a_rxn"], stepped(20, 12), code="WAIT_DAYS")
    await observed(conn, ids["a_rxn"], stepped(5, 9), code="BEDS")
    await rows.adaptation(conn, ids["a_rxn"], a, "Streaming nurse at triage", "consistent", dt.date(2018, 2, 1))
    await rows.adaptation(conn, ids["a_rxn"], a, "Dropped the huddle at night", "inconsistent", dt.date(2018, 3, 1))
    return {"a": a, "b": b, **ids}


async def test_exceptional_ranking(client: httpx.AsyncClient, exceptional_setup, reader) -> None:
    s = exceptional_setup
    r = await client.get("/v1/insights/exceptional?measure=AE_4HR", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["measureCode"] == "AE_4HR" and body["improvementDirection"] == "increase"
    # assessed: 2+ points either side of the start (not RXL, whose data all comes after)
    assert body["assessed"] == 5
    items = body["items"]
    assert [i["adoptionId"] for i in items] == [str(s["b_rqm"]), str(s["a_rxn"]), str(s["a_rqm"])]
    assert [i["rank"] for i in items] == [1, 2, 3]
    b_values = stepped(0.75, 0.85, 6, 18)
    b_shift = statistics.fmean(b_values[6:]) - statistics.fmean(b_values[:6])  # 0.0989: the wobble is uneven
    assert [i["spc"]["shift"] for i in items] == pytest.approx([b_shift, 0.08, 0.04])

    top = items[1]
    assert top["site"] == {
        "code": "RXN",
        "name": "Lancashire Teaching Hospitals NHS Foundation Trust",
        "kind": "trust",
        "regionCode": "Y62",
        "icbCode": "QE1",
    }
    spc = top["spc"]
    assert (spc["points"], spc["pointsBefore"], spc["pointsAfter"]) == (24, 12, 12)
    assert spc["improving"] is True and spc["improvementPointsAfter"] == 12 and spc["rules"]
    assert spc["meanBefore"] == pytest.approx(0.80) and spc["meanAfter"] == pytest.approx(0.88)
    assert spc["improvement"] == pytest.approx(0.08)
    # the summary agrees with the engine charting the whole series as one phase
    chart = calculate_spc(stepped(0.80, 0.88), improvement_direction="increase")
    assert spc["variation"] == chart.variation
    flagged = sum(p.point_type == "special_cause_improvement" for p in chart.points[12:])
    assert spc["improvementPointsAfter"] == flagged
    assert [a["description"] for a in top["adaptations"]] == [
        "Streaming nurse at triage",
        "Dropped the huddle at night",
    ]
    assert top["adaptations"][1]["fidelity"] == "inconsistent"
    assert items[0]["adaptations"] == [] and items[0]["innovationTitle"] == "Innovation B"

    # filters: innovation, region, since, limit
    r = await client.get(f"/v1/insights/exceptional?measure=AE_4HR&innovation={s['a']}", headers=reader)
    assert [i["adoptionId"] for i in r.json()["items"]] == [str(s["a_rxn"]), str(s["a_rqm"])]
    r = await client.get("/v1/insights/exceptional?measure=AE_4HR&region=y56", headers=reader)
    assert [i["adoptionId"] for i in r.json()["items"]] == [str(s["b_rqm"]), str(s["a_rqm"])]
    r = await client.get("/v1/insights/exceptional?measure=AE_4HR&since=2017-12-01", headers=reader)
    assert [i["adoptionId"] for i in r.json()["items"]] == [str(s["a_rxn"]), str(s["a_rqm"])]
    r = await client.get("/v1/insights/exceptional?measure=ae_4hr&limit=1", headers=reader)
    assert [i["rank"] for i in r.json()["items"]] == [1]

    # fewer is better: a fall is the improvement
    r = await client.get("/v1/insights/exceptional?measure=WAIT_DAYS", headers=reader)
    (item,) = r.json()["items"]
    assert item["spc"]["shift"] == pytest.approx(-8) and item["spc"]["improvement"] == pytest.approx(8)


async def test_exceptional_errors(client: httpx.AsyncClient, exceptional_setup, reader) -> None:
    for query, field in (
        ("measure=NOPE", "measure"),
        ("measure=BEDS", "measure"),
        ("measure=AE_4HR&innovation=00000000-0000-0000-0000-000000000001", "innovation"),
    ):
        r = await client.get(f"/v1/insights/exceptional?{query}", headers=reader)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, query
    for query, field in (
        ("", "measure"),
        ("measure=AE_4HR&limit=0", "limit"),
        ("measure=AE_4HR&limit=101", "limit"),
        ("measure=AE_4HR&since=yesterday", "since"),
    ):
        r = await client.get(f"/v1/insights/exceptional?{query}", headers=reader)
        assert r.status_code == 422, (query, r.text)
        assert field in r.json()["detail"], (query, r.text)
    assert (await client.get("/v1/insights/exceptional?measure=AE_4HR")).status_code == 401


# --- peers -----------------------------------------------------------------------------------


@pytest.fixture
async def peers_setup(conn) -> dict:
    await rows.measure(conn, "AE_4HR", "increase")
    inno = await rows.innovation(conn, "peer-innovation")
    ids = {
        "RXN": await rows.adoption(conn, inno, "RXN", STARTED, "sustaining", origin=True),
        "RQM": await rows.adoption(conn, inno, "RQM", STARTED, "sustaining"),
        "R0A": await rows.adoption(conn, inno, "R0A", STARTED, "implementing"),
        "QE1": await rows.adoption(conn, inno, "QE1", STARTED, "implementing"),
        "RW6": await rows.adoption(conn, inno, "RW6", STARTED, "piloting"),
        "RXL": await rows.adoption(conn, inno, "RXL", STARTED, "discontinued", reason="Funding ended"),
        "RTX": await rows.adoption(conn, inno, "RTX", STARTED, "exploring"),
        "RXR": await rows.adoption(conn, inno, "RXR", STARTED, "exploring"),
    }
    await observed(conn, ids["RXN"], stepped(0.80, 0.88))
    await observed(conn, ids["RQM"], stepped(0.80, 0.86))
    await observed(conn, ids["R0A"], stepped(0.80, 0.80))
    return {"innovation": inno, **ids}


async def test_peers_order_and_reasons(client: httpx.AsyncClient, peers_setup, reader, conn) -> None:
    s = peers_setup
    r = await client.get(f"/v1/innovations/{s['innovation']}/peers?site=rxr", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["site"]["code"] == "RXR" and body["innovationId"] == str(s["innovation"])
    items = body["items"]
    # sustaining/implementing first; then improving; then distance band and kind; piloting last;
    # discontinued, exploring and the site's own adoption left out
    assert [i["site"]["code"] for i in items] == ["RXN", "RQM", "R0A", "QE1", "RW6"]
    by = {i["site"]["code"]: i for i in items}
    assert by["RXN"]["improving"] and by["RXN"]["improvingMeasures"] == ["AE_4HR"]
    assert by["RQM"]["improving"] and not by["R0A"]["improving"]
    assert by["RXN"]["distanceKm"] < 50 and by["RQM"]["distanceKm"] > 250
    assert by["R0A"]["distanceKm"] < 50 and by["QE1"]["distanceKm"] < 150
    assert by["RW6"]["distanceKm"] is None  # no coordinates, hospitals, ICB or region
    assert by["R0A"]["sameKind"] and not by["QE1"]["sameKind"]
    assert by["RXN"]["reasons"] == [
        "sustaining since adopting on 2018-01-01",
        "special-cause improvement in AE_4HR after it started",
        f"{by['RXN']['distanceKm']:.0f} km away",
        "in the same ICB (QE1)",
        "the same kind of site as RXR (trust)",
    ]
    assert "in the same region (Y62)" in by["R0A"]["reasons"]
    assert not any("improvement" in reason for reason in by["R0A"]["reasons"])
    assert not any("km away" in reason for reason in by["RW6"]["reasons"])

    # the distance is the haversine between the trusts' hospital sites' mean positions
    points = {
        code: await conn.fetchrow(
            "SELECT avg(latitude) AS lat, avg(longitude) AS lon FROM sites WHERE parent_code = $1 "
            "AND latitude IS NOT NULL",
            code,
        )
        for code in ("RXR", "RQM")
    }

    def haversine(a, b) -> float:
        p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
        dp, dl = p2 - p1, math.radians(b["lon"] - a["lon"])
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(h))

    assert by["RQM"]["distanceKm"] == pytest.approx(haversine(points["RXR"], points["RQM"]), abs=0.06)

    r = await client.get(f"/v1/innovations/{s['innovation']}/peers?site=RXR&limit=2", headers=reader)
    assert [i["site"]["code"] for i in r.json()["items"]] == ["RXN", "RQM"]
    # from London, RQM's own adoption is left out and the nearest improver comes first
    r = await client.get(f"/v1/innovations/{s['innovation']}/peers?site=RQM", headers=reader)
    assert [i["site"]["code"] for i in r.json()["items"]][:1] == ["RXN"]
    assert "RQM" not in [i["site"]["code"] for i in r.json()["items"]]


async def test_peers_from_a_site_with_no_icb_or_region(client: httpx.AsyncClient, peers_setup, reader) -> None:
    """RW6 has no ICB, region or coordinates: nothing is near it or shares its ICB (found by the fuzzer as a 500)."""
    r = await client.get(f"/v1/innovations/{peers_setup['innovation']}/peers?site=RW6", headers=reader)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    codes = [i["site"]["code"] for i in items]
    assert set(codes[:2]) == {"RXN", "RQM"} and codes[2:] == ["R0A", "QE1"]  # sustaining, then implementing
    for item in items:
        assert item["distanceKm"] is None, item  # RW6 has no position
        assert not any("same ICB" in reason or "same region" in reason for reason in item["reasons"]), item


async def test_peers_errors(client: httpx.AsyncClient, peers_setup, reader) -> None:
    inno = peers_setup["innovation"]
    r = await client.get("/v1/innovations/00000000-0000-0000-0000-000000000001/peers?site=RXR", headers=reader)
    assert r.status_code == 404
    r = await client.get(f"/v1/innovations/{inno}/peers?site=ZZZ9", headers=reader)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "site"
    for query, field in (
        ("", "site"),
        ("site=RXR&limit=0", "limit"),
        ("site=R", "site"),
        ("site=RXR&limit=1000", "limit"),
    ):
        r = await client.get(f"/v1/innovations/{inno}/peers?{query}", headers=reader)
        assert r.status_code == 422, (query, r.text)
        assert field in r.json()["detail"], (query, r.text)


# --- RE-AIM ----------------------------------------------------------------------------------


async def test_reaim_against_hand_counts(client: httpx.AsyncClient, reader, conn) -> None:
    await rows.measure(conn, "AE_4HR", "increase")
    await rows.measure(conn, "BEDS", "neutral", "count")
    inno = await rows.innovation(conn, "reaim-innovation")
    rxr_site = await conn.fetchval("SELECT code FROM sites WHERE parent_code = 'RXR' AND kind = 'trust_site' LIMIT 1")
    ids = {
        "RXN": await rows.adoption(conn, inno, "RXN", dt.date(2016, 1, 1), "sustaining", origin=True),
        "RQM": await rows.adoption(conn, inno, "RQM", dt.date(2016, 6, 1), "sustaining"),
        "R0A": await rows.adoption(conn, inno, "R0A", dt.date(2017, 1, 1), "implementing"),
        "RW6": await rows.adoption(conn, inno, "RW6", dt.date(2017, 1, 1), "piloting"),
        "RXL": await rows.adoption(conn, inno, "RXL", dt.date(2017, 1, 1), "implementing"),
        "QE1": await rows.adoption(conn, inno, "QE1", dt.date(2018, 1, 1), "exploring"),
        rxr_site: await rows.adoption(conn, inno, rxr_site, dt.date(2018, 1, 1), "implementing"),
    }
    await rows.move_stage(conn, ids["R0A"], "sustaining")  # today: sustaining, but not for 12 months yet
    # the stage trigger dates the move by the database's date (the pool's session is UTC)
    before = await conn.fetchval("SELECT current_date")
    await rows.move_stage(conn, ids["RXL"], "discontinued", "Funding ended")
    after = await conn.fetchval("SELECT current_date")
    for fidelity in ("consistent", "consistent", "inconsistent"):
        await rows.adaptation(conn, ids["RQM"], inno, f"A {fidelity} change", fidelity)
    await rows.series(conn, ids["RXN"], "AE_4HR", dt.date(2015, 1, 1), stepped(0.80, 0.88))  # improving
    await rows.series(conn, ids["RQM"], "AE_4HR", dt.date(2015, 6, 1), stepped(0.80, 0.80))  # flat
    await rows.series(conn, ids["R0A"], "AE_4HR", dt.date(2017, 1, 1), stepped(0.80, 0.90, 0, 12))  # no baseline
    await rows.series(conn, ids["RXN"], "BEDS", dt.date(2015, 1, 1), stepped(5, 9))  # no direction

    r = await client.get(f"/v1/innovations/{inno}/reaim", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["asOf"] == dt.date.today().isoformat()
    assert body["reach"] == {
        "adoptions": 7,
        "sites": 7,
        "regions": 2,
        "icbs": 3,
        "regionCodes": ["Y56", "Y62"],
        "icbCodes": ["QE1", "QOP", "QRV"],
    }

    trusts = await conn.fetchval(
        "SELECT count(*) FROM sites WHERE kind = 'trust' AND status = 'open' AND region_code IS NOT NULL"
    )
    icbs = await conn.fetchval("SELECT count(*) FROM sites WHERE kind = 'icb' AND status = 'open'")
    adoption = body["adoption"]
    # trusts: RXN, RQM, R0A, RXL and RXR (through its hospital site); RW6 has no region (not English)
    assert (adoption["trusts"], adoption["trustsAdopted"]) == (trusts, 5)
    assert adoption["trustShare"] == round(5 / trusts, 4)
    assert (adoption["icbs"], adoption["icbsAdopted"]) == (icbs, 3)
    by_region = {x["regionCode"]: x for x in adoption["byRegion"]}
    assert len(by_region) == 7
    assert (by_region["Y62"]["trustsAdopted"], by_region["Y62"]["icbsAdopted"]) == (4, 2)
    assert (by_region["Y56"]["trustsAdopted"], by_region["Y56"]["icbsAdopted"]) == (1, 1)
    y62_trusts = await conn.fetchval(
        "SELECT count(*) FROM sites WHERE kind = 'trust' AND status = 'open' AND region_code = 'Y62'"
    )
    assert by_region["Y62"]["trusts"] == y62_trusts
    assert by_region["Y62"]["trustShare"] == round(4 / y62_trusts, 4)
    assert by_region["Y61"]["trustsAdopted"] == 0 and by_region["Y61"]["trustShare"] == 0

    assert body["implementation"] == {
        "adoptionsByStage": {
            "exploring": 1,
            "planning": 0,
            "piloting": 1,
            "implementing": 1,
            "sustaining": 3,
            "discontinued": 1,
        },
        "adaptations": 3,
        "adaptationsByFidelity": {"consistent": 2, "inconsistent": 1, "unknown": 0},
    }
    maintenance = body["maintenance"]
    assert (maintenance["sustaining"], maintenance["sustained12Months"], maintenance["discontinued"]) == (3, 2, 1)
    on = maintenance["discontinuedAdoptions"][0]["on"]
    assert on in {before.isoformat(), after.isoformat()}
    assert maintenance["discontinuedAdoptions"] == [
        {"adoptionId": str(ids["RXL"]), "siteCode": "RXL", "on": on, "reason": "Funding ended"}
    ]
    assert body["effectiveness"] == {
        "adoptionsWithData": 3,
        "assessed": 2,
        "improving": 1,
        "improvingAdoptionIds": [str(ids["RXN"])],
        "byMeasure": [
            {
                "measureCode": "AE_4HR",
                "improvementDirection": "increase",
                "adoptionsWithData": 3,
                "assessed": 2,
                "improving": 1,
            },
            {
                "measureCode": "BEDS",
                "improvementDirection": "neutral",
                "adoptionsWithData": 1,
                "assessed": 0,
                "improving": 0,
            },
        ],
    }
    r = await client.get("/v1/innovations/00000000-0000-0000-0000-000000000001/reaim", headers=reader)
    assert r.status_code == 404
