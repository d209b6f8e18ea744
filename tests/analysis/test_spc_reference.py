"""SPC against published expectations: NHSRplotthedots (R) and nhspy-plotthedots (Python).

Every case in ``tests/data/spc_cases`` runs through the engine (:func:`calculate_spc`) and through
``POST /v1/analysis/spc``; both must give every expected value. Where the Python port disagrees
with R (``nhspy_divergences_from_R.json``) these tests follow R. Where a case names no
improvement direction, R's default (``increase``) is used, as upstream did.

``r_rule_units.json`` holds R's unit tests of its internal rule helpers (vectors of "relative
to mean" and "close to limits" flags, not series); those run against the engine's helpers of
the same names, and the series-shaped ones (trends, assurance, short-phase warnings) also
through the endpoint.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from service.analysis import spc as engine
from service.analysis.spc import calculate_spc

CASES = Path(__file__).resolve().parent.parent / "data" / "spc_cases"
R_DEFAULT_DIRECTION = "increase"

Spc = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def load(name: str) -> dict[str, Any]:
    return json.loads((CASES / f"{name}.json").read_text())


def test_every_case_file_has_tests() -> None:
    covered = {
        "ae_RQM_breaches_readme",
        "ae_RRK_breaches_rebase_2018_07",
        "ae_RRK_breaches_stable_vignette",
        "ae_six_trusts_facets",
        "mdc_excel_vs_screened_outlier",
        "nhspy_divergences_from_R",
        "nhspy_limits_calculations",
        "nhspy_pandas_spc_x_calc",
        "ptd_rnorm20_limits",
        "ptd_rnorm20_outlier_screened",
        "ptd_rnorm20_outlier_unscreened",
        "ptd_rnorm20_two_facets",
        "ptd_rnorm24_icons",
        "r_rule_units",
        "two_in_three_opposite_sides",
    }
    assert {p.stem for p in CASES.glob("*.json")} == covered


# --- the two ways in ---------------------------------------------------------------------------


async def _via_engine(body: dict[str, Any]) -> dict[str, Any]:
    periods = [dt.date.fromisoformat(p) for p in body["periods"]] if body.get("periods") else None
    rebase = [dt.date.fromisoformat(r) if isinstance(r, str) else r for r in body.get("rebase") or []] or None
    result = calculate_spc(
        body["values"],
        periods=periods,
        improvement_direction=body.get("improvementDirection", "neutral"),
        target=body.get("target"),
        rebase=rebase,
        screen_outliers=body.get("screenOutliers", True),
    )
    return msgspec.json.decode(msgspec.json.encode(result))  # the same shape the endpoint sends


@pytest.fixture(params=["engine", "http"])
def spc(request: pytest.FixtureRequest) -> Spc:
    """Run a request body through the engine, or through the endpoint with a read-only key."""
    if request.param == "engine":
        return _via_engine
    client = request.getfixturevalue("client")
    headers = request.getfixturevalue("reader")

    async def via_http(body: dict[str, Any]) -> dict[str, Any]:
        r = await client.post("/v1/analysis/spc", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    return via_http


# --- helpers -----------------------------------------------------------------------------------


def daily(spec: str) -> list[str]:
    """``"2020-01-02 .. 2020-01-21 daily"`` as ISO dates."""
    first, _, rest = spec.partition(" .. ")
    last = rest.split()[0]
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def body_for(
    values: list[float], params: dict[str, Any], dates: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "values": values,
        "improvementDirection": params.get("improvement_direction", R_DEFAULT_DIRECTION),
    }
    if dates:
        body["periods"] = dates
    if params.get("target") is not None:
        body["target"] = params["target"]
    if "screen_outliers" in params:
        body["screenOutliers"] = params["screen_outliers"]
    body.update(extra)
    return body


def printed(actual: float, expected: float, figures: int | None = None, decimals: int | None = None) -> bool:
    """Whether ``actual`` prints as ``expected`` did: to ``figures`` significant figures, to
    ``decimals`` places, or else to as many significant figures as ``expected`` shows."""
    if decimals is not None:
        tolerance = 0.5 * 10**-decimals
    else:
        if figures is None:
            figures = len(repr(abs(expected)).replace(".", "").lstrip("0"))
        tolerance = 0.5 * 10 ** (math.floor(math.log10(abs(expected))) - figures + 1)
    return abs(actual - expected) <= tolerance * (1 + 1e-9)


def exact(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12)


R_RULE = {
    "Above UCL": "outside_limits",
    "Below LCL": "outside_limits",
    "7 Point Trend (Increasing)": "trend",
    "7 Point Trend (Decreasing)": "trend",
    "2 in 3 Above CL": "two_of_three",
    "2 in 3 Below CL": "two_of_three",
    "7 Points Above CL": "run",
    "7 Points Below CL": "run",
}
R_POINT_TYPE = {
    "common_cause": "common_cause",
    "special_cause_improvement": "special_cause_improvement",
    "special_cause_concern": "special_cause_concern",
    "special_cause_neutral_high": "special_cause_neutral",
    "special_cause_neutral_low": "special_cause_neutral",
}


def r_icon(point_type: str, direction: str) -> str:
    """The variation icon R draws for the last point (``ptd_get_icons``)."""
    if point_type == "special_cause_concern":
        return "concern_low" if direction == "increase" else "concern_high"
    if point_type == "special_cause_improvement":
        return "improvement_high" if direction == "increase" else "improvement_low"
    return point_type.removeprefix("special_cause_")


def phase_points(result: dict[str, Any], phase: int) -> list[dict[str, Any]]:
    return [p for p in result["points"] if p["phase"] == phase]


def check_reference_impl(result: dict[str, Any], reference: dict[str, Any], direction: str) -> None:
    """Point by point and phase by phase against the R algorithm's output."""
    points = result["points"]
    assert len(points) == len(reference["points"])
    for point, want in zip(points, reference["points"], strict=True):
        where = f"point {point['index']} ({point['value']})"
        assert point["value"] == want["y"], where
        assert point["phase"] == want["rebase_group"], where
        assert point["pointType"] == R_POINT_TYPE[want["point_type"]], where
        if want["special_cause_type"] == "Common Cause":
            assert point["rules"] == [], where
        else:  # the rule R names is the one that decided the point, so it comes first
            assert point["rules"][0] == R_RULE[want["special_cause_type"]], where
    assert len(result["phases"]) == len(reference["summary"])
    for phase, want in zip(result["phases"], reference["summary"], strict=True):
        number = want["rebase_group"]
        mine = phase_points(result, number)
        assert exact(phase["mean"], want["mean"])
        assert exact(phase["lowerLimit"], want["lpl"])
        assert exact(phase["upperLimit"], want["upl"])
        assert len(mine) == want["n"]
        assert sum(p["pointType"] == "common_cause" for p in mine) == want["common_cause"]
        assert sum(p["pointType"] == "special_cause_improvement" for p in mine) == want["special_cause_improvement"]
        assert sum(p["pointType"] == "special_cause_concern" for p in mine) == want["special_cause_concern"]
        assert mine[-1]["pointType"] == R_POINT_TYPE[want["variation_type"]]
        assert bool(phase["warnings"]) == (want["n"] < 12)
        for p in mine:
            assert (p["mean"], p["lowerLimit"], p["upperLimit"]) == (
                phase["mean"],
                phase["lowerLimit"],
                phase["upperLimit"],
            )
    last = reference["summary"][-1]["variation_type"]
    assert result["variation"] == r_icon(last, direction)
    assert result["assurance"] == reference.get("assurance_type")


# --- real A&E series ---------------------------------------------------------------------------


async def test_ae_rqm_readme(spc: Spc) -> None:
    case = load("ae_RQM_breaches_readme")
    dates = case["input"]["dates"]
    result = await spc(body_for(case["input"]["values"], case["params"], dates))
    want = case["expected"]
    (phase,) = result["phases"]
    assert round(phase["upperLimit"]) == want["upl_rounded"]
    assert round(phase["mean"]) == want["mean_rounded"]
    assert round(phase["lowerLimit"]) == want["lpl_rounded"]
    assert result["variation"] == want["variation_type"]
    assert result["assurance"] == want["assurance_type"]
    for kind in ("improvement", "concern"):
        got = [p["period"] for p in result["points"] if p["pointType"] == f"special_cause_{kind}"]
        assert got == want[f"special_cause_{kind}_dates"], kind
    check_reference_impl(result, case["reference_impl"], "decrease")


async def test_ae_rrk_stable_vignette(spc: Spc) -> None:
    case = load("ae_RRK_breaches_stable_vignette")
    result = await spc(body_for(case["input"]["values"], case["params"], case["input"]["dates"]))
    blue = [p for p in result["points"] if p["pointType"] == "special_cause_improvement"]
    assert [p["period"] for p in blue] == case["expected"]["blue_run_dates"]  # 8 in a row below the mean
    assert all("run" in p["rules"] for p in blue)
    check_reference_impl(result, case["reference_impl"], "decrease")


@pytest.mark.parametrize("rebase_by", ["date", "index"])
async def test_ae_rrk_rebased_july_2018(spc: Spc, rebase_by: str) -> None:
    case = load("ae_RRK_breaches_rebase_2018_07")
    dates = case["input"]["dates"]
    rebase: list[Any] = list(case["input"]["rebase_dates"])
    if rebase_by == "index":
        rebase = [dates.index(d) for d in rebase]
    result = await spc(body_for(case["input"]["values"], case["params"], dates, rebase=rebase))
    assert [p["start"] for p in result["phases"]] == [0, dates.index("2018-07-01")]
    check_reference_impl(result, case["reference_impl"], "decrease")
    assert "9 points" in result["phases"][1]["warnings"][0]


@pytest.mark.parametrize("trust", ["RRK", "RJC", "RJ7", "R1K", "R1H", "RQM"])
async def test_ae_six_trusts(spc: Spc, trust: str) -> None:
    case = load("ae_six_trusts_facets")
    facet = case["facets"][trust]
    result = await spc(body_for(facet["values"], case["params"], facet["dates"]))
    check_reference_impl(result, facet["reference_impl"], case["params"]["improvement_direction"])


# --- Making Data Count vignette: outlier screening -------------------------------------------------


@pytest.mark.parametrize(
    ("screen", "key"), [(True, "screen_outliers_true"), (False, "screen_outliers_false_excel_MDC")]
)
async def test_mdc_screened_and_excel(spc: Spc, screen: bool, key: str) -> None:
    case = load("mdc_excel_vs_screened_outlier")
    values = case["input"]["values"]
    dates = daily(case["input"]["dates"])
    assert len(dates) == len(values)
    result = await spc(body_for(values, case["params"], dates, screenOutliers=screen))
    (phase,) = result["phases"]
    want = case["expected"][key]
    assert printed(phase["upperLimit"], want["upl"], decimals=2)
    assert printed(phase["mean"], want["mean"], decimals=2)
    assert printed(phase["lowerLimit"], want["lpl"], decimals=2)
    types = [p["pointType"] for p in result["points"]]
    assert types[4] == "special_cause_improvement"  # point 5, the 10
    assert types[:4] + types[5:] == ["common_cause"] * 17


# --- where the Python port and R disagree: R wins ----------------------------------------------------


def test_divergence_run_helper_follows_r() -> None:
    case = load("nhspy_divergences_from_R")["cases"][0]
    assert case["fn"] == "seven_point_one_side_mean"
    assert engine.run_ends(case["input"]) == case["R_behaviour"]
    assert engine.run_ends(case["input"]) != [int(b) for b in case["python_expected"]]


@pytest.mark.parametrize("level", [1.0, 0.0, -3.5])
async def test_divergence_points_on_the_mean_are_not_a_run(spc: Spc, level: float) -> None:
    case = load("nhspy_divergences_from_R")["cases"][1]
    assert case["fn"] == "special_cause_flag"
    values = [level] * len(case["input"]["values"])
    result = await spc({"values": values, "improvementDirection": "increase"})
    assert all(p["value"] == p["mean"] for p in result["points"])  # relative_to_mean all 0
    assert [p["pointType"] for p in result["points"]] == ["common_cause"] * 7  # R: all Common Cause
    assert all(p["rules"] == [] for p in result["points"])


# --- nhspy-plotthedots unit tests ----------------------------------------------------------------


@pytest.mark.parametrize("test", [c["test"] for c in load("nhspy_limits_calculations")["cases"]])
async def test_nhspy_limits(spc: Spc, test: str) -> None:
    case = next(c for c in load("nhspy_limits_calculations")["cases"] if c["test"] == test)
    result = await spc({"values": case["values"], "screenOutliers": True})
    (phase,) = result["phases"]
    want = case["expected"]
    assert exact(phase["mean"], want["mean"])
    assert exact(phase["lowerLimit"], want["lpl"])
    assert exact(phase["upperLimit"], want["upl"])
    assert exact(phase["nearLower"], want["near_lpl"])
    assert exact(phase["nearUpper"], want["near_upl"])


FIX_AFTER_N_POINTS = (
    "Spread's SpcRequest has no 'fix after n points' option: every phase's mean and limits use all "
    "of its points, so a baseline fixed after {n} points cannot be asked for (NHSRplotthedots also "
    "refuses fix_after_n_points below 12)."
)


@pytest.mark.parametrize(
    "test",
    [
        pytest.param(
            c["test"],
            marks=pytest.mark.skip(reason=FIX_AFTER_N_POINTS.format(n=c["fix_after_n_points"]))
            if c["fix_after_n_points"] is not None
            else (),
        )
        for c in load("nhspy_pandas_spc_x_calc")["cases"]
    ],
)
async def test_nhspy_spc_x_calc(spc: Spc, test: str) -> None:
    case = next(c for c in load("nhspy_pandas_spc_x_calc")["cases"] if c["test"] == test)
    result = await spc({"values": case["values"], "improvementDirection": "increase"})
    (phase,) = result["phases"]
    want = case["expected"]
    assert exact(phase["mean"], want["mean"])
    assert exact(phase["lowerLimit"], want["lpl"])
    assert exact(phase["upperLimit"], want["upl"])
    points = result["points"]
    assert ["outside_limits" in p["rules"] for p in points] == want["outside_limits"]
    assert [(p["value"] > p["mean"]) - (p["value"] < p["mean"]) for p in points] == want["relative_to_mean"]
    close = [
        "outside_limits" not in p["rules"] and (p["value"] < phase["nearLower"] or p["value"] > phase["nearUpper"])
        for p in points
    ]
    assert close == want["close_to_limits"]
    assert [p["pointType"] != "common_cause" for p in points] == want["special_cause_flag"]


# --- NHSRplotthedots snapshots (rnorm series) ------------------------------------------------------


async def test_ptd_rnorm20_limits(spc: Spc) -> None:
    case = load("ptd_rnorm20_limits")
    values = case["input"]["values"]
    result = await spc(body_for(values, case["params"], daily(case["input"]["dates"])))
    (phase,) = result["phases"]
    want = case["expected"]
    assert printed(phase["mean"], want["mean"])
    assert printed(phase["lowerLimit"], want["lpl"])
    assert printed(phase["upperLimit"], want["upl"])
    types = [p["pointType"] for p in result["points"]]
    assert len(types) == want["n"]
    assert types.count("common_cause") == want["common_cause"]
    assert types.count("special_cause_improvement") == want["special_cause_improvement"]
    assert types.count("special_cause_concern") == want["special_cause_concern"]
    assert result["variation"] == want["variation_type"]
    assert phase["warnings"] == []


async def test_ptd_outlier_screened_and_unscreened(spc: Spc) -> None:
    screened_case, unscreened_case = load("ptd_rnorm20_outlier_screened"), load("ptd_rnorm20_outlier_unscreened")
    assert screened_case["input"]["values"] == unscreened_case["input"]["values"]
    phases = {}
    for case in (screened_case, unscreened_case):
        result = await spc(body_for(case["input"]["values"], case["params"]))
        (phase,) = result["phases"]
        want = case["expected"]
        assert printed(phase["mean"], want["mean"])
        assert printed(phase["lowerLimit"], want["lpl"])
        assert printed(phase["upperLimit"], want["upl"])
        phases[case["params"]["screen_outliers"]] = phase
    assert unscreened_case["expected"]["assert_wider_than_screened"]
    assert (
        phases[False]["upperLimit"] - phases[False]["lowerLimit"]
        > phases[True]["upperLimit"] - phases[True]["lowerLimit"]
    )


@pytest.mark.parametrize("facet", ["0", "1"])
async def test_ptd_rnorm20_two_facets(spc: Spc, facet: str) -> None:
    case = load("ptd_rnorm20_two_facets")
    result = await spc(body_for(case["input"]["facets"][facet], case["params"]))
    (phase,) = result["phases"]
    want = case["expected"][facet]
    assert printed(phase["mean"], want["mean"], figures=3)
    assert printed(phase["lowerLimit"], want["lpl"], figures=3)
    assert printed(phase["upperLimit"], want["upl"], figures=3)
    types = [p["pointType"] for p in result["points"]]
    assert len(types) == want["n"]
    assert types.count("common_cause") == want["common_cause"]
    assert phase["warnings"]  # 10 points: R warns too


@pytest.mark.parametrize(
    ("part", "target", "variation", "assurance"),
    [
        ("no_facet", None, "common_cause", None),
        ("no_facet_target_0_5", 0.5, "common_cause", "inconsistent"),
        ("facet_0", 0.5, "common_cause", "inconsistent"),
        ("facet_1", 0.5, "common_cause", "inconsistent"),
    ],
)
async def test_ptd_rnorm24_icons(
    spc: Spc, part: str, target: float | None, variation: str, assurance: str | None
) -> None:
    case = load("ptd_rnorm24_icons")
    values = case["input"]["values"]
    values = values[:12] if part == "facet_0" else values[12:] if part == "facet_1" else values
    want = case["expected"][part]
    assert want["variation_icon"] == variation
    assert want.get("assurance_icon", want.get("assurance_icon_with_target_0_5")) == assurance
    result = await spc(body_for(values, {"target": target}))  # R's default direction, increase
    assert result["variation"] == variation
    assert result["assurance"] == assurance


async def test_two_in_three_opposite_sides(spc: Spc) -> None:
    case = load("two_in_three_opposite_sides")
    result = await spc(body_for(case["input"]["values"], case["params"], daily(case["input"]["dates"])))
    (phase,) = result["phases"]
    last_two = result["points"][-2:]
    assert [p["pointType"] for p in last_two] == case["expected"]["last_two_point_types"]
    # both really are in the near-limit band, on opposite sides of the mean
    assert phase["nearUpper"] < last_two[0]["value"] <= phase["upperLimit"]
    assert phase["lowerLimit"] <= last_two[1]["value"] < phase["nearLower"]


# --- NHSRplotthedots unit tests of its rule helpers --------------------------------------------------

RULES = load("r_rule_units")


@pytest.mark.parametrize("case", RULES["seven_point_one_side_mean"])
def test_r_seven_point_one_side_mean(case: dict[str, Any]) -> None:
    assert engine.run_ends(case["rtm"]) == case["out"]


@pytest.mark.parametrize("case", RULES["part_of_seven"])
def test_r_part_of_seven(case: dict[str, Any]) -> None:
    assert engine.part_of_seven(case["v"]) == case["out"]


@pytest.mark.parametrize("case", RULES["seven_point_trend"])
def test_r_seven_point_trend(case: dict[str, Any]) -> None:
    assert engine.trend_ends(case["y"]) == case["out"]


@pytest.mark.parametrize("case", RULES["seven_point_trend"])
async def test_r_seven_point_trend_as_series(spc: Spc, case: dict[str, Any]) -> None:
    result = await spc({"values": case["y"]})
    in_trend = [int("trend" in p["rules"]) for p in result["points"]]
    assert in_trend == engine.part_of_seven(case["out"])


@pytest.mark.parametrize("case", RULES["two_in_three"])
def test_r_two_in_three(case: dict[str, Any]) -> None:
    assert engine.two_in_three(case["close"], case["rtm"]) == case["out"]


@pytest.mark.parametrize("case", RULES["part_of_two_in_three"])
def test_r_part_of_two_in_three(case: dict[str, Any]) -> None:
    windows = engine.two_in_three(case["close"], case["rtm"])
    assert engine.part_of_two_in_three(windows, case["close"]) == case["out"]


ASSURANCE = [
    (group["improvement"], group["target"], lower, upper, out)
    for group in RULES["assurance"]
    for (lower, upper), out in zip(group["lpl_upl"], group["out"], strict=True)
]


@pytest.mark.parametrize(("direction", "target", "lower", "upper", "out"), ASSURANCE)
def test_r_assurance(direction: str, target: float, lower: float, upper: float, out: str | None) -> None:
    assert engine.assurance(direction, target, lower, upper) == out  # type: ignore[arg-type]


def series_with_limits(lower: float, upper: float, n: int = 12) -> list[float]:
    """A series whose (screened) process limits are ``lower`` and ``upper``: it zigzags about the
    middle, each moving range the same, so the mean moving range is (upper - lower) / 5.32."""
    middle, half_step = (lower + upper) / 2, (upper - lower) / (2 * engine.LIMIT) / 2
    return [middle + (half_step if i % 2 else -half_step) for i in range(n)]


@pytest.mark.parametrize(("direction", "target", "lower", "upper", "out"), ASSURANCE)
async def test_r_assurance_as_series(
    spc: Spc, direction: str, target: float, lower: float, upper: float, out: str | None
) -> None:
    result = await spc(
        {"values": series_with_limits(lower, upper), "improvementDirection": direction, "target": target}
    )
    (phase,) = result["phases"]
    assert math.isclose(phase["lowerLimit"], lower) and math.isclose(phase["upperLimit"], upper)
    assert result["assurance"] == out


@pytest.mark.parametrize("n", [11, 12])
async def test_r_short_group_warning(spc: Spc, n: int) -> None:
    threshold = RULES["short_group_warning"]["threshold"]
    result = await spc({"values": series_with_limits(0, 10, n)})
    (phase,) = result["phases"]
    assert bool(phase["warnings"]) == (n < threshold)
