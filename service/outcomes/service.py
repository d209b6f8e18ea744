"""Writing measures, observations and aims; judging aims (charting a series: :mod:`spc_service`).

Rules, as the API documents them:

- **Observations** are upserted by (adoption, measure, period kind, period start). A value must
  be finite; ``periodStart`` must be the first day of its period (the 1st of the month; a
  Monday; the 1st of January, April, July or October) and not in the future; the measure must
  exist; the caller's partner must cover the adoption's site (admins may write anywhere).
  When both ``numerator`` and ``denominator`` are given the value must agree with them:
  ``value = numerator / denominator``, or ``100 x numerator / denominator`` for a measure whose
  unit is a percentage (``%``, ``percent``, ``percentage``, ``per cent``), within a relative
  tolerance of 0.1 % or an absolute 0.0005 (0.05 for percentages), so values rounded to three
  decimal places (percentages to one) pass.
- **Aims** are judged on the latest observation of their measure: ``met`` when it has reached
  the target; ``on_track`` when it is at least as good as what the aim expects by that
  observation's period start; ``off_track`` otherwise; ``no_data`` without observations. The
  expectation is the latest trajectory target at or before that date (the baseline before the
  first), or, without a trajectory, the straight line from the baseline on the **adoption's
  start date** to the target on ``dueOn``; from ``dueOn`` on, the target itself. "Better" is
  the direction from baseline to target (the measure's improvement direction when they are
  equal).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import asyncpg
import msgspec

from service.analysis.spc import DIRECTIONS
from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.constraints import refusal_for
from service.db import Actor, write_transaction
from service.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    stale,
)
from service.outcomes import aim_queries, queries
from service.outcomes.aim_queries import AimRow
from service.outcomes.queries import AdoptionFacts, MeasureRow
from service.outcomes.schemas import (
    AdoptionAim,
    AdoptionAimCreate,
    AimStatus,
    MeasureCreate,
    MeasureUpdate,
    ObservationIn,
    ObservationsWritten,
)
from service.types import if_match_versions

PERCENT_UNITS = frozenset({"%", "percent", "percentage", "per cent"})
REL_TOL = 1e-3
ABS_TOL = 5e-4


async def load_adoption(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionFacts:
    found = await queries.adoption_context(conn, adoption_id)
    if found is None:
        raise NotFoundError(f"no adoption has id {adoption_id}")
    return found


# --- measures --------------------------------------------------------------------------------


def _map_measure_error(exc: asyncpg.PostgresError) -> Exception:
    refusal = refusal_for(exc)
    if refusal is not None:
        return refusal
    if isinstance(exc, asyncpg.UniqueViolationError):
        return ConflictError("a measure with that code already exists; PATCH it instead")
    return exc


async def _check_innovation(conn: asyncpg.Connection, innovation_id: uuid.UUID | None) -> None:
    if innovation_id is not None and not await queries.innovation_exists(conn, innovation_id):
        raise InvalidInputError(f"no innovation has id {innovation_id}", field="innovationId")


async def create_measure(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, data: MeasureCreate
) -> MeasureRow:
    await _check_innovation(conn, data.innovation_id)
    values = msgspec.structs.asdict(data)
    try:
        async with write_transaction(conn, actor):
            return await queries.insert_measure(conn, values, principal.partner_id)
    except asyncpg.PostgresError as exc:
        raise _map_measure_error(exc) from exc


FIXED_ONCE_OBSERVED = ("unit", "improvement_direction")


def check_measure_change(principal: Principal, current: MeasureRow, observed: bool, changes: dict[str, Any]) -> None:
    if not principal.is_admin and current.created_by_partner_id != principal.partner_id:
        raise ForbiddenError("only the partner that defined this measure, or an admin, may change it")
    fixed = [f for f in FIXED_ONCE_OBSERVED if f in changes and changes[f] != getattr(current.measure, f)]
    if observed and fixed:
        names = " and ".join("improvementDirection" if f == "improvement_direction" else f for f in fixed)
        raise ConflictError(
            f"measure {current.measure.code} already has observations, so its {names} cannot change: that would "
            "re-judge every partner's data; define a new measure instead"
        )


async def update_measure(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    code: str,
    data: MeasureUpdate,
    if_match: str | None,
) -> MeasureRow:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            found = await queries.measure_for_change(conn, code)
            if found is None:
                raise NotFoundError(f"no measure has code '{code}'")
            current, observed = found
            check_measure_change(principal, current, observed, changes)
            if "innovation_id" in changes:
                await _check_innovation(conn, changes["innovation_id"])
            updated = await queries.update_measure(conn, code, changes, expected)
    except asyncpg.PostgresError as exc:
        raise _map_measure_error(exc) from exc
    if updated is None:
        raise stale(f"measure {code}", current.version)
    return updated


# --- observations ----------------------------------------------------------------------------


def period_aligned(period: str, start: dt.date) -> bool:
    """Whether ``start`` is the first day of a ``period`` (week: Monday; quarter: calendar quarter)."""
    if period == "week":
        return start.isoweekday() == 1
    if period == "month":
        return start.day == 1
    return start.day == 1 and start.month in (1, 4, 7, 10)


_ALIGNMENT = {
    "week": "a Monday",
    "month": "the 1st of a month",
    "quarter": "the 1st of January, April, July or October",
}


def consistent(value: float, numerator: float, denominator: float, unit: str) -> bool:
    """Whether ``value`` agrees with ``numerator / denominator`` (x 100 for percentage units)."""
    ratio = numerator / denominator
    if unit.strip().lower() in PERCENT_UNITS:
        return math.isclose(value, 100 * ratio, rel_tol=REL_TOL, abs_tol=100 * ABS_TOL)
    return math.isclose(value, ratio, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def check_observations(
    items: list[ObservationIn], measures: dict[str, tuple[str, str]], today: dt.date
) -> list[FieldError]:
    """Every rule each observation breaks, as field errors named ``[i].field``."""
    errors: list[FieldError] = []
    seen: dict[tuple[str, str, dt.date], int] = {}
    for i, o in enumerate(items):
        at = f"[{i}]"
        meta = measures.get(o.measure_code)
        if meta is None:
            errors.append(FieldError(field=f"{at}.measureCode", detail=f"no measure has code '{o.measure_code}'"))
        if not math.isfinite(o.value):
            errors.append(FieldError(field=f"{at}.value", detail="value must be a finite number"))
        if not period_aligned(o.period, o.period_start):
            errors.append(
                FieldError(
                    field=f"{at}.periodStart",
                    detail=f"{o.period_start} does not start a {o.period}: use {_ALIGNMENT[o.period]}",
                )
            )
        if o.period_start > today:
            errors.append(FieldError(field=f"{at}.periodStart", detail=f"{o.period_start} is in the future"))
        if (
            meta is not None
            and o.numerator is not None
            and o.denominator is not None
            and math.isfinite(o.value)
            and not consistent(o.value, o.numerator, o.denominator, meta[0])
        ):
            percent = meta[0].strip().lower() in PERCENT_UNITS
            expected = (100 if percent else 1) * o.numerator / o.denominator
            errors.append(
                FieldError(
                    field=f"{at}.value",
                    detail=f"value {o.value:g} does not match {'100 x ' if percent else ''}numerator / denominator "
                    f"= {expected:.6g}",
                )
            )
        key = (o.measure_code, o.period, o.period_start)
        if key in seen:
            errors.append(
                FieldError(
                    field=f"{at}.periodStart",
                    detail=f"the same measure, period and periodStart as item {seen[key]}; send each once",
                )
            )
        else:
            seen[key] = i
    return errors


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        shown = "; ".join(f"{e.field}: {e.detail}" for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise InvalidInputError(shown + more, errors=errors)


async def write_observations(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    adoption_id: uuid.UUID,
    items: list[ObservationIn],
) -> ObservationsWritten:
    """Upsert a batch of observations for one adoption, in one statement, all or nothing."""
    try:
        async with write_transaction(conn, actor):
            adoption = await load_adoption(conn, adoption_id)
            await require_site_writer(conn, principal, adoption.site_code)
            measures = await queries.measures_meta(conn, sorted({o.measure_code for o in items}))
            _raise_if(check_observations(items, measures, dt.date.today()))
            written = await queries.upsert_observations(conn, adoption_id, items, principal.partner_id)
    except asyncpg.ForeignKeyViolationError as exc:  # a measure deleted meanwhile
        raise InvalidInputError("a measure named in the batch does not exist", field="measureCode") from exc
    outcomes = [w[1] for w in written]
    return ObservationsWritten(
        created=outcomes.count("created"),
        updated=outcomes.count("updated"),
        unchanged=outcomes.count("unchanged"),
        items=[w[0] for w in written],
    )


# --- aims ------------------------------------------------------------------------------------


def expected_value(row: AimRow, at: dt.date) -> float:
    """What the aim expects at ``at``: the trajectory (a step function) or the straight line."""
    if at >= row.due_on:
        return row.target
    if row.trajectory:
        prior = [p.target for p in row.trajectory if p.period_start <= at]
        return prior[-1] if prior else row.baseline
    start = row.started_on
    if at <= start or row.due_on <= start:
        return row.baseline
    fraction = (at - start).days / (row.due_on - start).days
    return row.baseline + (row.target - row.baseline) * fraction


def aim_direction(row: AimRow) -> int:
    if row.target != row.baseline:
        return 1 if row.target > row.baseline else -1
    return DIRECTIONS.get(row.improvement_direction, 0)


def judge_aim(row: AimRow) -> AdoptionAim:
    """The aim with its status against its latest observation."""
    status: AimStatus = "no_data"
    expected: float | None = None
    if row.latest_period_start is not None and row.latest_value is not None:
        value = row.latest_value
        expected = expected_value(row, row.latest_period_start)
        d = aim_direction(row)
        if d == 0:
            status = "met" if math.isclose(value, row.target, rel_tol=1e-9, abs_tol=1e-12) else "off_track"
        elif (value - row.target) * d >= 0:
            status = "met"
        elif (value - expected) * d >= 0:
            status = "on_track"
        else:
            status = "off_track"
    return AdoptionAim(
        id=row.id,
        adoption_id=row.adoption_id,
        measure_code=row.measure_code,
        baseline=row.baseline,
        target=row.target,
        due_on=row.due_on,
        trajectory=row.trajectory,
        status=status,
        latest_period_start=row.latest_period_start,
        latest_value=row.latest_value,
        expected_value=expected,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _aim_errors(data: AdoptionAimCreate, measure_exists: bool, started_on: dt.date) -> list[FieldError]:
    errors: list[FieldError] = []
    if not measure_exists:
        errors.append(FieldError(field="measureCode", detail=f"no measure has code '{data.measure_code}'"))
    if data.due_on <= started_on:
        errors.append(FieldError(field="dueOn", detail=f"dueOn must come after the adoption's start ({started_on})"))
    starts = [p.period_start for p in data.trajectory]
    for i, p in enumerate(data.trajectory):
        if starts.index(p.period_start) != i:
            errors.append(FieldError(field=f"trajectory[{i}].periodStart", detail="the same periodStart twice"))
        if p.period_start > data.due_on:
            errors.append(FieldError(field=f"trajectory[{i}].periodStart", detail="after the aim's dueOn"))
    return errors


async def create_aim(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adoption_id: uuid.UUID, data: AdoptionAimCreate
) -> AdoptionAim:
    values = msgspec.structs.asdict(data)
    values["trajectory"] = msgspec.to_builtins(sorted(data.trajectory, key=lambda p: p.period_start))
    try:
        async with write_transaction(conn, actor):
            adoption = await load_adoption(conn, adoption_id)
            await require_site_writer(conn, principal, adoption.site_code)
            measure = await queries.get_measure(conn, data.measure_code)
            _raise_if(_aim_errors(data, measure is not None, adoption.started_on))
            aim_id = await aim_queries.insert_aim(conn, adoption_id, values, principal.partner_id)
    except asyncpg.ForeignKeyViolationError as exc:
        raise InvalidInputError(f"no measure has code '{data.measure_code}'", field="measureCode") from exc
    rows = await aim_queries.list_aims(conn, adoption_id, None, None, 1, aim_id=aim_id)
    return judge_aim(rows[0])
