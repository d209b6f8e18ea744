"""An adoption's series on an SPC chart, and the assessment the insight endpoints share.

``assess_series`` judges one adoption's series of one measure: the chart from its first point,
the means before and after the adoption started, and the special-cause improvement after it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import uuid

import asyncpg

from service.analysis.spc import DIRECTIONS, calculate_spc, exact_mean
from service.errors import InvalidInputError, NotFoundError
from service.outcomes import aim_queries, queries
from service.outcomes.insight_queries import SeriesRow
from service.outcomes.insight_schemas import SpcSummary
from service.outcomes.schemas import AdoptionSpc, Period
from service.outcomes.service import load_adoption

RULE_ORDER = ("outside_limits", "trend", "two_of_three", "run")


# --- SPC of an adoption's series --------------------------------------------------------------


def split_index(periods: list[dt.date], started_on: dt.date) -> int:
    """Index of the first period that begins on or after the adoption's start."""
    return bisect.bisect_left(periods, started_on)


async def adoption_spc(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    code: str,
    *,
    rebase_at_adoption: bool,
    target: float | None,
    screen_outliers: bool,
    period: Period | None,
) -> tuple[AdoptionSpc, str, str]:
    """The chart, the site's name and the measure's name (for a title)."""
    adoption = await load_adoption(conn, adoption_id)
    measure = await queries.get_measure(conn, code)
    if measure is None:
        raise NotFoundError(f"no measure has code '{code}'")
    used, periods, values = await queries.series(conn, adoption_id, code, period)
    if len(values) < 2:
        per = f" per {period}" if period else ""
        raise InvalidInputError(
            f"adoption {adoption_id} has {len(values)} observation(s) of {code}{per}; an SPC chart needs at least 2",
            field="code",
        )
    assert used is not None
    if target is None:
        target = await aim_queries.latest_aim_target(conn, adoption_id, code)
    rebase: list[int | dt.date] | None = None
    if rebase_at_adoption:
        k = split_index(periods, adoption.started_on)
        if 0 < k < len(values):
            if k < 2 or len(values) - k < 2:
                raise InvalidInputError(
                    f"rebasing at the adoption's start ({adoption.started_on}) leaves {min(k, len(values) - k)} "
                    "point on one side; each phase needs at least 2",
                    field="rebaseAtAdoption",
                )
            rebase = [k]
    result = calculate_spc(
        values,
        periods=periods,
        improvement_direction=measure.measure.improvement_direction,
        target=target,
        rebase=rebase,
        screen_outliers=screen_outliers,
    )
    chart = AdoptionSpc(
        adoption_id=adoption_id,
        site_code=adoption.site_code,
        measure_code=code,
        measure_name=measure.measure.name,
        unit=measure.measure.unit,
        improvement_direction=measure.measure.improvement_direction,
        period=used,
        started_on=adoption.started_on,
        rebase_at_adoption=rebase_at_adoption,
        target=target,
        points=result.points,
        phases=result.phases,
        variation=result.variation,
        assurance=result.assurance,
    )
    return chart, adoption.site_name, measure.measure.name


def assess_series(row: SeriesRow, *, screen_outliers: bool = True) -> SpcSummary | None:
    """Chart the whole series as one phase and judge it around the adoption's start.

    ``improving``: at least 2 points before and 2 after the start, at least one special-cause
    improvement point from the start on, and the mean after the start better than before.
    None when the series cannot be charted (fewer than 2 points, or values out of range).
    """
    values, periods = row.values, row.periods
    if len(values) < 2:
        return None
    try:
        result = calculate_spc(
            values,
            periods=periods,
            improvement_direction=row.improvement_direction,
            screen_outliers=screen_outliers,
        )
    except InvalidInputError:
        return None
    k = split_index(periods, row.started_on)
    before, after = values[:k], values[k:]
    mean_before = exact_mean(before) if before else None
    mean_after = exact_mean(after) if after else None
    shift = mean_after - mean_before if mean_before is not None and mean_after is not None else None
    sign = DIRECTIONS.get(row.improvement_direction, 0)
    improvement = shift * sign if shift is not None and sign else None
    flagged = [p for p in result.points[k:] if p.point_type == "special_cause_improvement"]
    rules = sorted({r for p in flagged for r in p.rules}, key=RULE_ORDER.index)
    assessed = len(before) >= 2 and len(after) >= 2 and sign != 0
    return SpcSummary(
        measure_code=row.measure_code,
        period=row.period,
        points=len(values),
        first_period=periods[0],
        last_period=periods[-1],
        points_before=len(before),
        points_after=len(after),
        mean_before=mean_before,
        mean_after=mean_after,
        shift=shift,
        improvement=improvement,
        improvement_points_after=len(flagged),
        rules=rules,
        improving=assessed and bool(flagged) and improvement is not None and improvement > 0,
        variation=result.variation,
        last_point_type=result.points[-1].point_type,
    )


def assessable(row: SeriesRow) -> bool:
    """Whether a series can be judged: a direction, and 2 points or more either side of the start."""
    k = split_index(row.periods, row.started_on)
    return DIRECTIONS.get(row.improvement_direction, 0) != 0 and k >= 2 and len(row.values) - k >= 2


def could_improve(row: SeriesRow) -> bool:
    """Assessable, and the mean from the start on is better than before: the cheap half of
    ``improving``, so the insight scans chart only the series that may qualify."""
    if not assessable(row):
        return False
    k = split_index(row.periods, row.started_on)
    before, after = row.values[:k], row.values[k:]
    mean_before, mean_after = math.fsum(before) / len(before), math.fsum(after) / len(after)
    # fsum is not exact_mean; the slack keeps every series assess_series could call improving
    slack = 1e-9 * (abs(mean_before) + abs(mean_after) + 1e-300)
    return (mean_after - mean_before) * DIRECTIONS[row.improvement_direction] > -slack
