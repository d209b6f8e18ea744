"""XmR statistical process control, as NHS England's "Making Data Count" and NHSRplotthedots do it.

Pure Python, no I/O. :func:`calculate_spc` takes a series in time order and returns an
:class:`~service.analysis.schemas.SpcResult`. It follows the R package NHSRplotthedots (v0.2,
``ptd_spc_standard``, ``ptd_calculate_point_type``, ``ptd_calculate_assurance_type``) step by step:

* the series is split into phases at rebase points; each phase is calculated on its own;
* mean; moving ranges ``|x[i] - x[i-1]|`` within the phase; mean moving range (mMR);
* outlier screening (default on): moving ranges not below ``3.267 x mMR`` are dropped once and
  mMR is recomputed;
* process limits ``mean +/- 2.66 x mMR``; near-limit band ``mean +/- 2 x (2.66 / 3) x mMR``;
* special cause, by precedence (the first rule that applies decides the direction):
  ``outside_limits`` (a point strictly above the upper or below the lower limit);
  ``trend`` (every point of 7 or more strictly rising or strictly falling; equal neighbours
  break it); ``two_of_three`` (in any 3 consecutive points all on one side of the mean, at
  least 2 between the near-limit band and the limits: those points are flagged);
  ``run`` (every point of 7 or more on one side of the mean; a point on the mean breaks it);
* each special-cause point is improvement or concern by the improvement direction (neutral
  where there is none); the variation icon comes from the last point; assurance against a
  target uses the last phase's limits.

Where R's ``mean()`` accumulates in long double, this takes the correctly rounded mean, so a
point that lies exactly on the mean in R lies on it here too. Two deliberate differences from
R, both where R yields NaN: a phase needs at least 2 points (R gives NaN limits for one), and
when screening drops every moving range (a constant phase) mMR is 0, as it is unscreened.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.analysis.schemas import (
    MAX_POINTS,
    VALUE_BOUND,
    Assurance,
    Direction,
    PointType,
    Rule,
    SpcPhase,
    SpcPoint,
    SpcResult,
    Variation,
)
from service.errors import InvalidInputError

LIMIT = 2.66
LIMIT_CLOSE = 2 * (LIMIT / 3)  # written as NHSRplotthedots writes it, so the floats agree
OUTLIER_SCALE = 3.267
RUN_LENGTH = 7
SHORT_PHASE = 12
DIRECTIONS: dict[str, int] = {"increase": 1, "neutral": 0, "decrease": -1}


def exact_mean(xs: Sequence[float]) -> float:
    """The mean of finite floats, correctly rounded (the exact rational sum divided once)."""
    ratios = [float(x).as_integer_ratio() for x in xs]
    denominator = max(den for _, den in ratios)  # every denominator is a power of two
    total = sum(num * (denominator // den) for num, den in ratios)
    return total / (denominator * len(ratios))  # int / int is correctly rounded


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


# --- the rules, one function per NHSRplotthedots helper ---------------------------------------


def run_ends(relative_to_mean: Sequence[int]) -> list[int]:
    """1 where a point ends 7 in a row on the same side of the mean (``ptd_seven_point_one_side_mean``)."""
    out = [0] * len(relative_to_mean)
    streak = 0
    for i, side in enumerate(relative_to_mean):
        streak = 0 if side == 0 else streak + 1 if i and relative_to_mean[i - 1] == side else 1
        if streak >= RUN_LENGTH:
            out[i] = 1
    return out


def trend_ends(y: Sequence[float]) -> list[int]:
    """+1 / -1 where a point ends 7 strictly rising / falling points (``ptd_seven_point_trend``)."""
    out = [0] * len(y)
    streak, previous = 0, 0
    for i in range(1, len(y)):
        step = _sign(y[i] - y[i - 1])
        streak = 0 if step == 0 else streak + 1 if step == previous else 1
        previous = step
        if streak >= RUN_LENGTH - 1:  # 6 steps the same way join 7 points
            out[i] = step
    return out


def part_of_seven(ends: Sequence[int]) -> list[int]:
    """1 for every point of a run or trend, given where they end (``ptd_part_of_seven_trend``)."""
    out = [0] * len(ends)
    next_end = None
    for i in range(len(ends) - 1, -1, -1):
        if abs(ends[i]) == 1:
            next_end = i
        if next_end is not None and next_end - i < RUN_LENGTH:
            out[i] = 1
    return out


def two_in_three(close_to_limits: Sequence[int], relative_to_mean: Sequence[int]) -> list[int]:
    """1 for each point in some 3 consecutive points, all one side of the mean, 2+ near the limits.

    ``ptd_two_in_three``: windows that run off either end of the phase never count.
    """
    n = len(close_to_limits)
    qualifies = [
        sum(close_to_limits[s : s + 3]) >= 2 and abs(sum(relative_to_mean[s : s + 3])) == 3 for s in range(n - 2)
    ]
    return [int(any(qualifies[s] for s in range(max(0, i - 2), min(i, n - 3) + 1))) for i in range(n)]


def part_of_two_in_three(windows: Sequence[int], close_to_limits: Sequence[int]) -> list[int]:
    """Of the points in a 2-of-3 window, those that are themselves near the limits (``ptd_part_of_two_in_three``)."""
    return [int(w == 1 and abs(c) == 1) for w, c in zip(windows, close_to_limits, strict=True)]


def trend_directions(y: Sequence[float], part_trend: Sequence[int]) -> list[int]:
    """The direction each point of a trend is labelled with: the step to its right when the next
    point is in a trend too, else the step from its left (as ``ptd_special_cause_type``)."""
    n = len(y)
    out = []
    for i in range(n):
        if i + 1 < n and part_trend[i] and part_trend[i + 1]:
            step = _sign(y[i + 1] - y[i])
        else:
            step = _sign(y[i] - y[i - 1]) if i > 0 else 0
        out.append(1 if step == 1 else -1)
    return out


# --- phases ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhaseLimits:
    """One phase's centre line and limits."""

    start: int
    end: int  # exclusive
    mean: float
    mean_moving_range: float
    lower_limit: float
    upper_limit: float
    near_lower: float
    near_upper: float


def phase_limits(y: Sequence[float], start: int, end: int, *, screen_outliers: bool = True) -> PhaseLimits:
    """Mean, mean moving range and limits of ``y[start:end]`` (``ptd_spc_standard``)."""
    ys = y[start:end]
    mean = exact_mean(ys)
    ranges = [abs(ys[i] - ys[i - 1]) for i in range(1, len(ys))]
    mmr = exact_mean(ranges)
    if screen_outliers:
        kept = [r for r in ranges if r < OUTLIER_SCALE * mmr]
        mmr = exact_mean(kept) if kept else 0.0
    return PhaseLimits(
        start=start,
        end=end,
        mean=mean,
        mean_moving_range=mmr,
        lower_limit=mean - LIMIT * mmr,
        upper_limit=mean + LIMIT * mmr,
        near_lower=mean - LIMIT_CLOSE * mmr,
        near_upper=mean + LIMIT_CLOSE * mmr,
    )


@dataclass(frozen=True, slots=True)
class _Flagged:
    rules: list[Rule]
    direction: int  # +1 high, -1 low, 0 common cause


def _flag_phase(ys: Sequence[float], limits: PhaseLimits) -> list[_Flagged]:
    outside = [y > limits.upper_limit or y < limits.lower_limit for y in ys]
    rtm = [_sign(y - limits.mean) for y in ys]
    close = [int(not o and (y < limits.near_lower or y > limits.near_upper)) for y, o in zip(ys, outside, strict=True)]
    in_trend = part_of_seven(trend_ends(ys))
    in_two_of_three = part_of_two_in_three(two_in_three(close, rtm), close)
    in_run = part_of_seven(run_ends(rtm))
    trend_dir = trend_directions(ys, in_trend)

    flagged = []
    for i in range(len(ys)):
        rules: list[Rule] = []
        side = 1 if rtm[i] > 0 else -1
        if outside[i]:
            rules.append("outside_limits")
        if in_trend[i]:
            rules.append("trend")
        if in_two_of_three[i]:
            rules.append("two_of_three")
        if in_run[i]:
            rules.append("run")
        if not rules:
            direction = 0
        elif rules[0] == "outside_limits":
            direction = 1 if rtm[i] == 1 else -1
        elif rules[0] == "trend":
            direction = trend_dir[i]
        else:
            direction = side
        flagged.append(_Flagged(rules, direction))
    return flagged


def _point_type(direction: int, improvement: int) -> PointType:
    if direction == 0:
        return "common_cause"
    if improvement == 0:
        return "special_cause_neutral"
    return "special_cause_improvement" if direction * improvement > 0 else "special_cause_concern"


def _variation(direction: int, improvement: int) -> Variation:
    if direction == 0:
        return "common_cause"
    level = "high" if direction > 0 else "low"
    if improvement == 0:
        return "neutral_high" if direction > 0 else "neutral_low"
    if direction * improvement > 0:
        return "improvement_high" if level == "high" else "improvement_low"
    return "concern_high" if level == "high" else "concern_low"


def assurance(improvement_direction: Direction, target: float | None, lower: float, upper: float) -> Assurance | None:
    """Whether a process with these limits will meet the target (``ptd_calculate_assurance_type``)."""
    if target is None or improvement_direction == "neutral":
        return None
    increasing = improvement_direction == "increase"
    if target > upper:
        return "consistent_fail" if increasing else "consistent_pass"
    if target < lower:
        return "consistent_pass" if increasing else "consistent_fail"
    return "inconsistent"


# --- input checks ----------------------------------------------------------------------------


def _check_values(values: Sequence[float]) -> list[float]:
    if len(values) < 2:
        raise InvalidInputError("An SPC chart needs at least 2 values.", field="values")
    if len(values) > MAX_POINTS:
        raise InvalidInputError(f"An SPC chart takes at most {MAX_POINTS} values.", field="values")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InvalidInputError(f"values[{i}] is not a number.", field="values")
        x = float(v)
        if not math.isfinite(x) or abs(x) > VALUE_BOUND:
            raise InvalidInputError(
                f"values[{i}] must be a finite number of at most 1e15 in magnitude.", field="values"
            )
        out.append(x)
    return out


def _check_periods(periods: Sequence[dt.date] | None, n: int) -> list[dt.date] | None:
    if periods is None:
        return None
    if len(periods) != n:
        raise InvalidInputError(
            f"periods has {len(periods)} items but values has {n}; give one per value.", field="periods"
        )
    for i in range(1, n):
        if periods[i] <= periods[i - 1]:
            raise InvalidInputError(
                f"periods must be strictly increasing (in time order); periods[{i}] = {periods[i]} "
                f"does not come after {periods[i - 1]}.",
                field="periods",
            )
    return list(periods)


def resolve_rebase(rebase: Sequence[int | dt.date] | None, n: int, periods: Sequence[dt.date] | None) -> list[int]:
    """Phase start indices (always starting with 0) from rebase indices or period dates."""
    starts = {0}
    index_of = {p: i for i, p in enumerate(periods)} if periods is not None else None
    for item in rebase or ():
        if isinstance(item, bool):
            raise InvalidInputError("rebase items are indices or dates, not booleans.", field="rebase")
        if isinstance(item, int):
            if not 0 <= item < n:
                raise InvalidInputError(
                    f"rebase index {item} is out of range: values has {n} items (0..{n - 1}).", field="rebase"
                )
            starts.add(item)
        elif isinstance(item, dt.date):
            if index_of is None:
                raise InvalidInputError(
                    f"rebase date {item.isoformat()} needs periods to find it in; give periods or an index.",
                    field="rebase",
                )
            if item not in index_of:
                raise InvalidInputError(f"rebase date {item.isoformat()} is not one of the periods.", field="rebase")
            starts.add(index_of[item])
        else:
            raise InvalidInputError("rebase items are indices or ISO dates.", field="rebase")
    ordered = sorted(starts)
    bounds = [*ordered, n]
    for a, b in itertools.pairwise(bounds):
        if b - a < 2:
            raise InvalidInputError(
                f"The phase starting at index {a} would have {b - a} point; each phase needs at least 2.",
                field="rebase",
            )
    return ordered


def _warnings(n: int) -> list[str]:
    if n >= SHORT_PHASE:
        return []
    return [
        f"This phase has {n} points, fewer than {SHORT_PHASE}: its limits are trial limits and will move "
        "as points are added."
    ]


# --- the chart -------------------------------------------------------------------------------


def calculate_spc(
    values: Sequence[float],
    *,
    periods: Sequence[dt.date] | None = None,
    improvement_direction: Direction = "neutral",
    target: float | None = None,
    rebase: Sequence[int | dt.date] | None = None,
    screen_outliers: bool = True,
) -> SpcResult:
    """An XmR chart of ``values`` (in time order); 422 ``InvalidInputError`` naming the field at fault."""
    if improvement_direction not in DIRECTIONS:
        raise InvalidInputError("improvementDirection is increase, decrease or neutral.", field="improvementDirection")
    improvement = DIRECTIONS[improvement_direction]
    ys = _check_values(values)
    n = len(ys)
    dates = _check_periods(periods, n)
    if target is not None:
        if isinstance(target, bool) or not math.isfinite(target) or abs(target) > VALUE_BOUND:
            raise InvalidInputError("target must be a finite number of at most 1e15 in magnitude.", field="target")
        target = float(target)
    starts = resolve_rebase(rebase, n, dates)

    points: list[SpcPoint] = []
    phases: list[SpcPhase] = []
    last_direction = 0
    last_limits: PhaseLimits | None = None
    for number, (start, end) in enumerate(itertools.pairwise([*starts, n])):
        limits = phase_limits(ys, start, end, screen_outliers=screen_outliers)
        last_limits = limits
        phases.append(
            SpcPhase(
                start=start,
                mean=limits.mean,
                upper_limit=limits.upper_limit,
                lower_limit=limits.lower_limit,
                near_upper=limits.near_upper,
                near_lower=limits.near_lower,
                warnings=_warnings(end - start),
            )
        )
        for offset, flagged in enumerate(_flag_phase(ys[start:end], limits)):
            i = start + offset
            points.append(
                SpcPoint(
                    index=i,
                    period=dates[i] if dates is not None else None,
                    value=ys[i],
                    phase=number,
                    mean=limits.mean,
                    upper_limit=limits.upper_limit,
                    lower_limit=limits.lower_limit,
                    point_type=_point_type(flagged.direction, improvement),
                    rules=flagged.rules,
                )
            )
            last_direction = flagged.direction
    assert last_limits is not None
    return SpcResult(
        points=points,
        phases=phases,
        variation=_variation(last_direction, improvement),
        assurance=assurance(improvement_direction, target, last_limits.lower_limit, last_limits.upper_limit),
    )
