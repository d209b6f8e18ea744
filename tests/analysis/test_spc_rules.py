"""SPC rules value by value on series small enough to check by hand, properties, errors, the SVG.

Reminders for checking by hand: limits are mean +/- 2.66 x mMR, the near-limit band starts at
mean +/- 1.7733 x mMR, and with screening a moving range of at least 3.267 x mMR is dropped
once before mMR is recomputed.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET

import httpx
import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from litestar.openapi.spec import Example

from service.analysis import spc as engine
from service.analysis.routes import _BARE, _MONTHLY
from service.analysis.schemas import SpcResult
from service.analysis.spc import calculate_spc, exact_mean
from service.analysis.svg import COLOURS, render_spc_svg
from service.errors import InvalidInputError
from tests.conftest import KeyMaker

ZIGZAG = [10.0, 12.0] * 6  # mean 11, every moving range 2: mMR 2
SPIKE = [10, 12, 10, 12, 10, 12, 24, 12, 10, 12, 10, 12, 10]  # mean 156 / 13 = 12


def flagged(result: SpcResult, rule: str) -> list[int]:
    return [p.index for p in result.points if rule in p.rules]


def special(result: SpcResult) -> list[int]:
    return [p.index for p in result.points if p.point_type != "common_cause"]


# --- limits --------------------------------------------------------------------------------------


def test_limits_of_a_zigzag() -> None:
    r = calculate_spc(ZIGZAG, improvement_direction="increase")
    (phase,) = r.phases
    assert phase.start == 0
    assert phase.mean == 11
    assert phase.upper_limit == pytest.approx(11 + 5.32)
    assert phase.lower_limit == pytest.approx(11 - 5.32)
    assert phase.near_upper == pytest.approx(11 + 2 * 2.66 / 3 * 2)
    assert phase.near_lower == pytest.approx(11 - 2 * 2.66 / 3 * 2)
    assert phase.warnings == []  # 12 points is enough
    assert [p.index for p in r.points] == list(range(12))
    assert all(p.phase == 0 and p.period is None and p.rules == [] for p in r.points)
    assert all((p.mean, p.upper_limit, p.lower_limit) == (11, phase.upper_limit, phase.lower_limit) for p in r.points)
    assert {p.point_type for p in r.points} == {"common_cause"}
    assert r.variation == "common_cause"
    assert r.assurance is None


def test_outlier_screening_drops_the_spike_moving_ranges() -> None:
    # moving ranges: ten of 2 and two of 12; mMR = 44 / 12 = 3.667; 3.267 x 3.667 = 11.98 <= 12,
    # so both 12s are dropped and mMR = 20 / 10 = 2.
    screened = calculate_spc(SPIKE, improvement_direction="increase")
    (phase,) = screened.phases
    assert phase.mean == 12
    assert phase.upper_limit == pytest.approx(12 + 2.66 * 2)
    assert phase.lower_limit == pytest.approx(12 - 2.66 * 2)
    assert special(screened) == [6]
    assert screened.points[6].point_type == "special_cause_improvement"
    assert screened.points[6].rules == ["outside_limits"]


def test_without_screening_the_spike_widens_the_limits() -> None:
    unscreened = calculate_spc(SPIKE, improvement_direction="increase", screen_outliers=False)
    (phase,) = unscreened.phases
    assert phase.mean == 12
    assert phase.upper_limit == pytest.approx(12 + 2.66 * 44 / 12)  # 21.7533
    assert phase.lower_limit == pytest.approx(12 - 2.66 * 44 / 12)  # 2.2467
    assert special(unscreened) == [6]  # 24 is still outside


def test_screening_can_change_what_is_special() -> None:
    # the spike's two moving ranges of 18 are screened out, narrowing the limits enough that
    # the 20 falls outside them (19.55); unscreened, it is inside (23.67)
    values = [10, 12, 10, 12, 10, 12, 30, 10, 12, 10, 12, 10, 12, 10, 12, 20, 10, 12, 10, 12, 10, 12]
    screened = calculate_spc(values, improvement_direction="increase")
    unscreened = calculate_spc(values, improvement_direction="increase", screen_outliers=False)
    assert screened.phases[0].upper_limit < 20 < unscreened.phases[0].upper_limit
    assert "outside_limits" in screened.points[15].rules
    assert "outside_limits" not in unscreened.points[15].rules


# --- runs --------------------------------------------------------------------------------------

WIDE = [10.0, 0.0] * 4  # wide limits, alternating about the mean: no run, no trend


def test_run_of_seven_is_special() -> None:
    r = calculate_spc([*WIDE, 6, 7, 6, 7, 6, 7, 6, 0, 10, 0, 10], improvement_direction="increase")
    assert r.phases[0].mean == pytest.approx(105 / 19)  # 5.53: the 6s and 7s are above it
    assert special(r) == list(range(8, 15))
    assert all(r.points[i].rules == ["run"] for i in range(8, 15))
    assert {r.points[i].point_type for i in range(8, 15)} == {"special_cause_improvement"}


def test_run_of_six_is_not() -> None:
    r = calculate_spc([*WIDE, 6, 7, 6, 7, 6, 7, 0, 10, 0, 10], improvement_direction="increase")
    assert r.phases[0].mean == 5.5
    assert special(r) == []


def test_run_below_with_decrease_is_improvement() -> None:
    r = calculate_spc([0.0, 10.0] * 4 + [4, 3, 4, 3, 4, 3, 4, 10, 0, 10, 0], improvement_direction="decrease")
    assert r.phases[0].mean == pytest.approx(85 / 19)  # 4.47: the 4s and 3s are below it
    assert special(r) == list(range(8, 15))
    assert {r.points[i].point_type for i in range(8, 15)} == {"special_cause_improvement"}


@pytest.mark.parametrize(("middle", "mirror", "expected"), [(5, 5, []), (6, 4, [*range(8, 15), *range(15, 23)])])
def test_a_point_on_the_mean_breaks_a_run(middle: float, mirror: float, expected: list[int]) -> None:
    # the mean is exactly 5 either way: the deviations cancel
    values = [*WIDE, 6, 7, 6, middle, 7, 6, 7, 0, 4, 3, 4, mirror, 3, 4, 3, 10]
    r = calculate_spc(values, improvement_direction="increase")
    assert r.phases[0].mean == 5
    assert flagged(r, "run") == expected
    assert special(r) == expected


# --- trends ------------------------------------------------------------------------------------

LOW_HIGH = [0.0, 20.0] * 4  # ends high, so a trend starting after it starts on its own


def test_seven_rising_is_a_trend() -> None:
    r = calculate_spc([*LOW_HIGH, 7, 8, 9, 10, 11, 12, 13, 0, 20, 0, 20], improvement_direction="increase")
    assert r.phases[0].mean == 10
    assert flagged(r, "trend") == list(range(8, 15))
    assert special(r) == list(range(8, 15))
    # the trend decides the direction, below the mean too
    assert {r.points[i].point_type for i in range(8, 15)} == {"special_cause_improvement"}


def test_seven_falling_is_a_trend_of_concern_when_more_is_better() -> None:
    r = calculate_spc([20.0, 0.0] * 4 + [13, 12, 11, 10, 9, 8, 7, 20, 0, 20, 0], improvement_direction="increase")
    assert flagged(r, "trend") == list(range(8, 15))
    assert {r.points[i].point_type for i in range(8, 15)} == {"special_cause_concern"}


def test_six_rising_is_not_a_trend() -> None:
    r = calculate_spc([*LOW_HIGH, 7, 8, 9, 11, 12, 13, 0, 20, 0, 20], improvement_direction="increase")
    assert r.phases[0].mean == 10
    assert special(r) == []


def test_equal_neighbours_break_a_trend() -> None:
    r = calculate_spc([*LOW_HIGH, 7, 8, 9, 10, 10, 11, 12, 13, 0, 20, 0, 20], improvement_direction="increase")
    assert r.phases[0].mean == 10
    assert special(r) == []


def test_trend_decides_over_run_as_in_nhsrplotthedots() -> None:
    # 20, 19 .. 13 fall while above the mean (8.33): a run says "high", the trend says "falling".
    # NHSRplotthedots labels by precedence outside > trend > two-in-three > run, so: concern.
    values = [*LOW_HIGH, 19, 18, 17, 16, 15, 14, 13, 0, 2, 0, 2, 0, 2, 0, 2, 0]
    r = calculate_spc(values, improvement_direction="increase")
    for i in range(7, 15):
        assert r.points[i].value > r.phases[0].mean
        assert r.points[i].rules == ["trend", "run"]
        assert r.points[i].point_type == "special_cause_concern"


def test_outside_limits_decides_over_everything() -> None:
    r = calculate_spc(SPIKE, improvement_direction="decrease")
    assert r.points[6].point_type == "special_cause_concern"
    assert r.points[6].rules[0] == "outside_limits"


# --- two of three ------------------------------------------------------------------------------

BEFORE = [10.0, 12.0] * 10
AFTER = [12.0, 10.0] * 10


def test_two_of_three_near_the_upper_limit() -> None:
    r = calculate_spc([*BEFORE, 16, 12, 16, *AFTER], improvement_direction="increase")
    (phase,) = r.phases
    assert phase.mean == pytest.approx(484 / 43)  # 11.26: the 12 between the 16s is above it too
    assert phase.near_upper < 16 <= phase.upper_limit
    assert flagged(r, "two_of_three") == [20, 22]  # the near points; the 12 between them is not flagged
    assert special(r) == [20, 22]
    assert r.points[20].point_type == "special_cause_improvement"


def test_two_of_three_on_opposite_sides_is_not_special() -> None:
    r = calculate_spc([*BEFORE, 16, 12, 6, *AFTER], improvement_direction="increase")
    (phase,) = r.phases
    assert phase.near_upper < 16 and phase.near_lower > 6  # both near a limit...
    assert phase.mean < 12  # ...the middle one above the mean...
    assert special(r) == []  # ...but not all three on one side


def test_two_of_three_with_the_middle_across_the_mean_is_not_special() -> None:
    r = calculate_spc([*BEFORE, 16, 10, 16, *AFTER], improvement_direction="increase")
    assert r.points[21].value < r.phases[0].mean
    assert special(r) == []


def test_one_of_three_is_not_special() -> None:
    r = calculate_spc([*BEFORE, 16, 12, 12, *AFTER], improvement_direction="increase")
    assert r.phases[0].near_upper < 16
    assert special(r) == []


# --- variation and assurance -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "direction", "variation", "point_type"),
    [
        (30, "increase", "improvement_high", "special_cause_improvement"),
        (30, "decrease", "concern_high", "special_cause_concern"),
        (30, "neutral", "neutral_high", "special_cause_neutral"),
        (-8, "increase", "concern_low", "special_cause_concern"),
        (-8, "decrease", "improvement_low", "special_cause_improvement"),
        (-8, "neutral", "neutral_low", "special_cause_neutral"),
        (11, "increase", "common_cause", "common_cause"),
    ],
)
def test_variation_comes_from_the_last_point(last: float, direction: str, variation: str, point_type: str) -> None:
    r = calculate_spc([*ZIGZAG, 11, 10, 12, last], improvement_direction=direction)  # type: ignore[arg-type]
    assert r.points[-1].point_type == point_type
    assert r.variation == variation


@pytest.mark.parametrize(
    ("direction", "target", "expected"),
    [
        ("increase", 20, "consistent_fail"),  # above the upper limit (16.32)
        ("decrease", 20, "consistent_pass"),
        ("increase", 3, "consistent_pass"),  # below the lower limit (5.68)
        ("decrease", 3, "consistent_fail"),
        ("increase", 11, "inconsistent"),
        ("decrease", 11, "inconsistent"),
        ("neutral", 20, None),
        ("increase", None, None),
    ],
)
def test_assurance(direction: str, target: float | None, expected: str | None) -> None:
    r = calculate_spc(ZIGZAG, improvement_direction=direction, target=target)  # type: ignore[arg-type]
    assert r.assurance == expected


def test_assurance_on_a_limit_is_inconsistent() -> None:
    upper = calculate_spc(ZIGZAG).phases[0].upper_limit
    assert calculate_spc(ZIGZAG, improvement_direction="increase", target=upper).assurance == "inconsistent"


def test_assurance_is_judged_on_the_last_phase() -> None:
    values = [*ZIGZAG, *(v + 30 for v in ZIGZAG)]
    r = calculate_spc(values, improvement_direction="increase", target=20, rebase=[12])
    assert r.phases[0].upper_limit < 20 < r.phases[1].lower_limit
    assert r.assurance == "consistent_pass"


# --- rebasing ----------------------------------------------------------------------------------

STEP = [*ZIGZAG, *(v + 10 for v in ZIGZAG)]  # 10/12 then 20/22
MONTHS = [dt.date(2023 + (i // 12), i % 12 + 1, 1) for i in range(24)]


def test_without_a_rebase_a_step_is_two_runs() -> None:
    r = calculate_spc(STEP, improvement_direction="increase")
    assert r.phases[0].mean == 16
    assert special(r) == list(range(24))
    assert {r.points[i].point_type for i in range(12)} == {"special_cause_concern"}
    assert {r.points[i].point_type for i in range(12, 24)} == {"special_cause_improvement"}


@pytest.mark.parametrize("rebase", [[12], [MONTHS[12]], [0, 12, 12]])
def test_rebasing_gives_each_phase_its_own_limits(rebase: list) -> None:
    r = calculate_spc(STEP, periods=MONTHS, improvement_direction="increase", rebase=rebase)
    assert [(ph.start, ph.mean) for ph in r.phases] == [(0, 11), (12, 21)]
    assert r.phases[1].upper_limit == pytest.approx(21 + 5.32)
    assert [p.phase for p in r.points] == [0] * 12 + [1] * 12
    assert r.points[12].upper_limit == r.phases[1].upper_limit
    assert r.points[12].period == dt.date(2024, 1, 1)
    assert special(r) == []
    assert all(ph.warnings == [] for ph in r.phases)


def test_rules_do_not_cross_phases() -> None:
    # 4 rising at the end of one phase and 4 at the start of the next are not a trend of 8
    values = [*LOW_HIGH[:-1], 0, 7, 8, 9, 10, 11, 12, 13, 14, 20, 0, 20, 0]
    whole = calculate_spc(values)
    split = calculate_spc(values, rebase=[12])
    assert flagged(whole, "trend") != []
    assert flagged(split, "trend") == []


def test_a_short_phase_warns() -> None:
    r = calculate_spc(STEP, rebase=[18])
    assert r.phases[0].warnings == []
    (warning,) = r.phases[1].warnings
    assert "6 points" in warning and "12" in warning


# --- input errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"values": []}, "values"),
        ({"values": [1.0]}, "values"),
        ({"values": [1.0, math.nan]}, "values"),
        ({"values": [1.0, math.inf]}, "values"),
        ({"values": [1.0, -math.inf]}, "values"),
        ({"values": [1.0, 1e16]}, "values"),
        ({"values": [1.0, 2.0], "target": math.nan}, "target"),
        ({"values": [1.0, 2.0], "periods": [dt.date(2024, 1, 1)]}, "periods"),
        ({"values": [1.0, 2.0], "periods": [dt.date(2024, 2, 1), dt.date(2024, 1, 1)]}, "periods"),
        ({"values": [1.0, 2.0], "periods": [dt.date(2024, 1, 1)] * 2}, "periods"),
        ({"values": [1.0, 2.0, 3.0, 4.0], "rebase": [4]}, "rebase"),
        ({"values": [1.0, 2.0, 3.0, 4.0], "rebase": [-1]}, "rebase"),
        ({"values": [1.0, 2.0, 3.0, 4.0], "rebase": [3]}, "rebase"),  # leaves a phase of one point
        ({"values": [1.0, 2.0, 3.0, 4.0], "rebase": [1]}, "rebase"),  # leaves a phase of one point
        ({"values": [1.0, 2.0, 3.0, 4.0], "rebase": [dt.date(2024, 1, 1)]}, "rebase"),  # no periods
        (
            {"values": [1.0, 2.0, 3.0, 4.0], "periods": MONTHS[:4], "rebase": [dt.date(2030, 1, 1)]},
            "rebase",
        ),
        ({"values": [1.0, 2.0], "improvement_direction": "up"}, "improvementDirection"),
    ],
)
def test_engine_refuses_bad_input(kwargs: dict, field: str) -> None:
    kwargs = dict(kwargs)  # the parameter is shared by every run of this test in one process
    values = kwargs.pop("values")
    with pytest.raises(InvalidInputError) as caught:
        calculate_spc(values, **kwargs)
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors or []] == [field]


def test_two_values_are_enough() -> None:
    r = calculate_spc([1.0, 3.0])
    assert r.phases[0].mean == 2
    assert r.phases[0].upper_limit == pytest.approx(2 + 2.66 * 2)
    assert r.phases[0].warnings


def test_exact_mean_is_correctly_rounded() -> None:
    assert exact_mean([0.1, 0.2, 0.3]) == 0.2  # naive sum / n gives 0.19999999999999998
    assert calculate_spc([0.1, 0.2, 0.3]).points[1].value == calculate_spc([0.1, 0.2, 0.3]).phases[0].mean


# --- properties ----------------------------------------------------------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
series = st.lists(finite, min_size=2, max_size=60)
directions = st.sampled_from(["increase", "decrease", "neutral"])


@settings(max_examples=200, deadline=None)
@given(values=series, direction=directions, screen=st.booleans())
def test_limits_are_symmetric_about_the_mean(values: list[float], direction: str, screen: bool) -> None:
    r = calculate_spc(values, improvement_direction=direction, screen_outliers=screen)  # type: ignore[arg-type]
    for ph in r.phases:
        scale = max(1.0, abs(ph.mean), ph.upper_limit - ph.lower_limit)
        assert math.isclose(ph.upper_limit - ph.mean, ph.mean - ph.lower_limit, rel_tol=1e-9, abs_tol=1e-12 * scale)
        assert math.isclose(ph.near_upper - ph.mean, ph.mean - ph.near_lower, rel_tol=1e-9, abs_tol=1e-12 * scale)
        assert ph.lower_limit <= ph.near_lower <= ph.mean <= ph.near_upper <= ph.upper_limit
    msgspec.json.encode(r)  # no NaN or infinity to send


@settings(max_examples=200, deadline=None)
@given(values=series)
def test_screening_never_widens_the_limits(values: list[float]) -> None:
    screened = calculate_spc(values).phases[0]
    unscreened = calculate_spc(values, screen_outliers=False).phases[0]
    assert screened.upper_limit - screened.lower_limit <= unscreened.upper_limit - unscreened.lower_limit


def _near_a_boundary(r: SpcResult) -> bool:
    ph = r.phases[0]
    edges = (ph.lower_limit, ph.near_lower, ph.near_upper, ph.upper_limit)
    return any(abs(p.value - e) < 1e-6 for p in r.points for e in edges)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(min_value=-10_000, max_value=10_000), min_size=2, max_size=40),
    shift=st.integers(min_value=-1_000_000, max_value=1_000_000),
    direction=directions,
)
def test_adding_a_constant_shifts_levels_not_point_types(values: list[int], shift: int, direction: str) -> None:
    before = calculate_spc([float(v) for v in values], improvement_direction=direction)  # type: ignore[arg-type]
    assume(not _near_a_boundary(before))  # an exact tie with a limit may round either way
    after = calculate_spc([float(v + shift) for v in values], improvement_direction=direction)  # type: ignore[arg-type]
    assert [p.point_type for p in after.points] == [p.point_type for p in before.points]
    assert [p.rules for p in after.points] == [p.rules for p in before.points]
    assert after.variation == before.variation
    for a, b in zip(after.phases, before.phases, strict=True):
        assert math.isclose(a.mean, b.mean + shift, abs_tol=1e-6)
        assert math.isclose(a.upper_limit, b.upper_limit + shift, abs_tol=1e-6)
        assert math.isclose(a.lower_limit, b.lower_limit + shift, abs_tol=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    level=finite,
    n=st.integers(min_value=2, max_value=40),
    direction=directions,
    screen=st.booleans(),
    target=st.none() | finite,
)
def test_a_constant_series_is_all_common_cause(
    level: float, n: int, direction: str, screen: bool, target: float | None
) -> None:
    r = calculate_spc([level] * n, improvement_direction=direction, target=target, screen_outliers=screen)  # type: ignore[arg-type]
    (ph,) = r.phases
    assert ph.mean == ph.upper_limit == ph.lower_limit == level
    assert {p.point_type for p in r.points} == {"common_cause"}
    assert r.variation == "common_cause"
    render_spc_svg(r, "Flat", "count", target)


# The rule helpers scan in one pass; these are NHSRplotthedots' definitions written out literally.


def _r_seven_point_one_side_mean(v: list[int]) -> list[int]:
    vp = [0] * 6 + v
    return [int(all(vp[i] == vp[i - k] for k in range(1, 7)) and vp[i] != 0) for i in range(6, len(vp))]


def _r_part_of_seven_trend(v: list[int]) -> list[int]:
    vp = v + [0] * 6
    return [int(any(abs(vp[i + k]) == 1 for k in range(7))) for i in range(len(v))]


def _r_seven_point_trend(y: list[float]) -> list[int]:
    out = [0] * len(y)
    for i in range(6, len(y)):
        d = [(y[i - k] > y[i - k - 1]) - (y[i - k] < y[i - k - 1]) for k in range(6)]
        out[i] = 1 if all(x == 1 for x in d) else -1 if all(x == -1 for x in d) else 0
    return out


def _r_two_in_three(v: list[int], rtm: list[int]) -> list[int]:
    vp, rp = [0, 0, *v, 0, 0], [0, 0, *rtm, 0, 0]
    return [
        int(any(sum(vp[i + o : i + o + 3]) >= 2 and abs(sum(rp[i + o : i + o + 3])) == 3 for o in range(3)))
        for i in range(len(v))
    ]


sides = st.lists(st.sampled_from([-1, 0, 1]), max_size=40)
stretches = st.lists(st.tuples(st.sampled_from([-1, 0, 1]), st.integers(1, 9)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(rtm=sides, ends=sides, steps=stretches)
def test_rule_helpers_match_nhsrplotthedots(rtm: list[int], ends: list[int], steps: list[tuple[int, int]]) -> None:
    assert engine.run_ends(rtm) == _r_seven_point_one_side_mean(rtm)
    assert engine.part_of_seven(ends) == _r_part_of_seven_trend(ends)
    y = [0.0]  # a walk of monotone stretches, so trends of every length turn up
    for step, repeat in steps:
        y += [y[-1] + step * (k + 1) for k in range(repeat)]
    assert engine.trend_ends(y) == _r_seven_point_trend(y)
    close = [abs(e) for e in ends[: len(rtm)]] + [0] * max(0, len(rtm) - len(ends))
    assert engine.two_in_three(close, rtm) == _r_two_in_three(close, rtm)


# --- the endpoint: errors and keys -------------------------------------------------------------------

URL = "/v1/analysis/spc"


async def test_needs_a_key(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"values": [1, 2, 3]})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_a_read_key_may_post(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await client.post(
        URL, json={"values": ZIGZAG, "target": 20, "improvementDirection": "increase"}, headers=reader
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"points", "phases", "variation", "assurance"}
    assert set(body["points"][0]) == {
        "index",
        "period",
        "value",
        "phase",
        "mean",
        "upperLimit",
        "lowerLimit",
        "pointType",
        "rules",
    }
    assert set(body["phases"][0]) == {"start", "mean", "upperLimit", "lowerLimit", "nearUpper", "nearLower", "warnings"}
    assert body["assurance"] == "consistent_fail"


@pytest.mark.parametrize("example", [_MONTHLY, _BARE], ids=["monthly", "bare"])
async def test_the_documented_examples_work(
    client: httpx.AsyncClient, reader: dict[str, str], example: Example
) -> None:
    r = await client.post(URL, json=example.value, headers=reader)
    assert r.status_code == 200, r.text
    if example is _MONTHLY:  # NHSRplotthedots' README: 2 350 / 1 545 / 740
        (phase,) = r.json()["phases"]
        assert [round(phase[k]) for k in ("upperLimit", "mean", "lowerLimit")] == [2350, 1545, 740]


async def test_ten_thousand_points(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    values = [float(i % 7) for i in range(10_000)]
    r = await client.post(URL, json={"values": values, "rebase": [5_000]}, headers=reader)
    assert r.status_code == 200, r.text
    assert len(r.json()["points"]) == 10_000


async def test_periods_come_back_on_points(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    periods = [d.isoformat() for d in MONTHS]
    r = await client.post(URL, json={"values": STEP, "periods": periods, "rebase": ["2024-01-01"]}, headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["period"] for p in body["points"]] == periods
    assert [ph["start"] for ph in body["phases"]] == [0, 12]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": [1]}, "values"),
        ({"values": []}, "values"),
        ({"values": [1, 2e15]}, "values[1]"),
        ({"values": [1, None]}, "values[1]"),
        ({"values": [1, 2], "target": -2e15}, "target"),
        ({"values": [1, 2, 3], "periods": ["2024-01-01", "2024-02-01"]}, "periods"),
        ({"values": [1, 2], "periods": ["2024-02-01", "2024-01-01"]}, "periods"),
        ({"values": [1, 2, 3, 4], "rebase": [9]}, "rebase"),
        ({"values": [1, 2, 3, 4], "rebase": [-1]}, "rebase[0]"),
        ({"values": [1, 2, 3, 4], "rebase": [3]}, "rebase"),
        ({"values": [1, 2, 3, 4], "rebase": ["2024-01-01"]}, "rebase"),
        (
            {
                "values": [1, 2, 3, 4],
                "periods": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"],
                "rebase": ["2024-01-15"],
            },
            "rebase",
        ),
        ({"values": [1, 2], "rebase": [True]}, "rebase[0]"),
        ({"values": [1, 2], "improvementDirection": "up"}, "improvementDirection"),
        ({"values": [1, 2], "colour": "blue"}, "colour"),
        ({"values": [1.0] * 10_001}, "values"),
    ],
)
async def test_invalid_input_is_422_naming_the_field(
    client: httpx.AsyncClient, reader: dict[str, str], body: dict, field: str
) -> None:
    r = await client.post(URL, json=body, headers=reader)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "/problems/invalid-input"
    assert [e["field"] for e in problem["errors"]] == [field], problem


async def test_values_are_required(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await client.post(URL, json={"improvementDirection": "increase"}, headers=reader)
    assert r.status_code == 422
    assert "`values`" in r.json()["detail"]


async def test_nan_is_not_json(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    headers = {**reader, "Content-Type": "application/json"}
    r = await client.post(URL, content=b'{"values": [1, NaN]}', headers=headers)
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/malformed-body"


@pytest.mark.parametrize(
    "raw", [b'{"values": [1, 1e999]}', b'{"values": [1, -1e999]}', b'{"values": [1], "target": 1e400}']
)
async def test_numbers_too_big_for_a_double_do_not_parse(
    client: httpx.AsyncClient, reader: dict[str, str], raw: bytes
) -> None:
    # JSON has no infinity; a literal that overflows a double fails in JSON decoding, before validation
    r = await client.post(URL, content=raw, headers={**reader, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert "out of range" in r.json()["detail"]


async def test_a_write_only_key_may_post_too(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    headers = await make_key("write")  # write implies read
    r = await client.post(URL, json={"values": [1, 2, 3]}, headers=headers)
    assert r.status_code == 200, r.text


# --- the SVG -----------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (only SVG these tests render)


def _by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls in (e.get("class") or "").split()]


def test_svg_draws_points_lines_and_target() -> None:
    values = [*STEP[:-1], 40.0]
    r = calculate_spc(values, periods=MONTHS, improvement_direction="increase", rebase=[12])
    svg = render_spc_svg(r, "Falls per 1,000 bed days", "falls", 15.0)
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "Falls per 1,000 bed days"
    circles = _by_class(root, "circle", "point")
    assert len(circles) == 24
    for circle, point in zip(circles, r.points, strict=True):
        assert point.point_type in circle.get("class").split()
        assert circle.get("fill") == COLOURS[point.point_type]
    assert r.points[-1].point_type == "special_cause_improvement"
    assert circles[-1].get("fill") == "#41B6E6"
    assert len(_by_class(root, "line", "mean")) == 2  # one per phase
    limits = _by_class(root, "line", "limit")
    assert len(limits) == 4 and all(e.get("stroke-dasharray") for e in limits)
    assert all(not e.get("stroke-dasharray") for e in _by_class(root, "line", "mean"))
    (target,) = _by_class(root, "line", "target")
    assert target.get("stroke-dasharray") and target.get("stroke") == "#DA291C"
    assert len(_by_class(root, "line", "rebase")) == 1
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "2023-01-01" in texts and "2024-12-01" in texts
    assert "falls" in texts
    assert _by_class(root, "polyline", "series")


def test_svg_colours_concern_and_neutral() -> None:
    concern = calculate_spc([*ZIGZAG, 30.0], improvement_direction="decrease")
    neutral = calculate_spc([*ZIGZAG, 30.0])
    assert _by_class(_parse(render_spc_svg(concern, "t")), "circle", "point")[-1].get("fill") == "#ED8B00"
    assert _by_class(_parse(render_spc_svg(neutral, "t")), "circle", "point")[-1].get("fill") == "#330072"


def test_svg_without_target_or_periods() -> None:
    root = _parse(render_spc_svg(calculate_spc(ZIGZAG), "Plain", None, None))
    assert _by_class(root, "line", "target") == []
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "0" in texts and "11" in texts  # indices label the x axis


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e15, max_value=1e15), min_size=2, max_size=30),
    target=st.none() | st.floats(min_value=-1e15, max_value=1e15),
    title=st.text(max_size=40),
)
def test_svg_always_parses(values: list[float], target: float | None, title: str) -> None:
    result = calculate_spc(values, improvement_direction="increase", target=target)
    root = _parse(render_spc_svg(result, title, title, target))
    assert len(_by_class(root, "circle", "point")) == len(values)


def test_svg_of_a_tiny_spread_at_a_huge_level() -> None:
    result = calculate_spc([9e14, 9e14 + 0.125, 9e14, 9e14 + 0.25])
    assert _by_class(_parse(render_spc_svg(result, "t")), "line", "mean")


def test_svg_escapes_text() -> None:
    title = 'A&E <script>alert("x")</script> \x00\x07'
    unit = "<b>patients</b> & 'others'"
    svg = render_spc_svg(calculate_spc(ZIGZAG), title, unit, None)
    assert "<script>" not in svg and "<b>" not in svg
    root = _parse(svg)
    assert root.find(f"{SVG}title").text == 'A&E <script>alert("x")</script> '
    assert unit in [t.text for t in root.iter(f"{SVG}text")]
    assert not list(root.iter(f"{SVG}script"))
