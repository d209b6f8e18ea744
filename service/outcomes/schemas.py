"""Request and response bodies for measures, observations, aims, adoption SPC and insight."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from service.analysis.schemas import VALUE_BOUND, Assurance, SpcPhase, SpcPoint, Variation
from service.types import LINE, TEXT, Base, ReadBase
from service.vocab import ImprovementDirection, ReaimDimension

Period = Literal["week", "month", "quarter"]
AimStatus = Literal["met", "on_track", "off_track", "no_data"]

MeasureCode = Annotated[
    str,
    Meta(
        min_length=2,
        max_length=40,
        pattern=r"^[A-Z][A-Z0-9_]{1,39}$(?!\n)",
        description="Upper-case letters, digits and underscores, starting with a letter.",
        examples=["AE_4HR"],
    ),
]
MeasureName = Annotated[
    str, Meta(min_length=1, max_length=300, pattern=LINE, examples=["4-hour A&E performance (type 1)"])
]
Unit = Annotated[
    str,
    Meta(
        max_length=60,
        pattern=LINE,
        description="What a value is counted in. `%`, `percent` or `percentage` mark percentages "
        "(a value with numerator and denominator must then be 100 x numerator / denominator).",
        examples=["proportion"],
    ),
]
Description = Annotated[str, Meta(max_length=20_000, pattern=TEXT)]
Source = Annotated[
    str, Meta(max_length=2000, pattern=TEXT, examples=["NHS England A&E attendances and emergency admissions"])
]
Value = Annotated[
    float,
    Meta(ge=-VALUE_BOUND, le=VALUE_BOUND, description="A finite number, at most 10^15 in magnitude.", examples=[0.87]),
]
Numerator = Annotated[float, Meta(ge=0, le=VALUE_BOUND, description="Count of events (0 or more).", examples=[870])]
Denominator = Annotated[float, Meta(gt=0, le=VALUE_BOUND, description="Count of the population (above 0).")]


# --- measures --------------------------------------------------------------------------------


class Measure(ReadBase, frozen=True):
    """An outcome definition that observations and aims refer to by ``code``."""

    code: str
    name: str
    unit: str
    improvement_direction: ImprovementDirection
    reaim_dimension: ReaimDimension
    description: str
    source: str
    innovation_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MeasurePage(ReadBase, frozen=True):
    items: list[Measure]
    next_cursor: str | None


class MeasureCreate(Base, frozen=True):
    """A new measure. ``innovationId`` ties it to one innovation; leave it out for a shared measure."""

    code: MeasureCode
    name: MeasureName
    improvement_direction: ImprovementDirection
    unit: Unit = ""
    reaim_dimension: ReaimDimension = "effectiveness"
    description: Description = ""
    source: Source = ""
    innovation_id: uuid.UUID | None = None


class MeasureUpdate(Base, frozen=True):
    """A partial update (the code never changes); ``null`` clears ``innovationId``."""

    name: MeasureName | UnsetType = UNSET
    unit: Unit | UnsetType = UNSET
    improvement_direction: ImprovementDirection | UnsetType = UNSET
    reaim_dimension: ReaimDimension | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    source: Source | UnsetType = UNSET
    innovation_id: uuid.UUID | None | UnsetType = UNSET


# --- observations ----------------------------------------------------------------------------


class ObservationIn(Base, frozen=True):
    """One value of one measure in one period. ``periodStart`` is the period's first day: the 1st
    of the month, a Monday, or the 1st of January, April, July or October."""

    measure_code: MeasureCode
    period_start: dt.date
    period: Period
    value: Value
    numerator: Numerator | None = None
    denominator: Denominator | None = None


MAX_OBSERVATIONS = 1000  # per request


class Observation(ReadBase, frozen=True):
    """A stored observation of an adoption."""

    id: uuid.UUID
    adoption_id: uuid.UUID
    measure_code: str
    period: Period
    period_start: dt.date
    value: float
    numerator: float | None
    denominator: float | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ObservationPage(ReadBase, frozen=True):
    items: list[Observation]
    next_cursor: str | None


class ObservationsWritten(ReadBase, frozen=True):
    """What an upsert did: counts, and every submitted observation as now stored (in the order sent)."""

    created: int
    updated: int
    unchanged: int
    items: list[Observation]


# --- aims ------------------------------------------------------------------------------------


class TrajectoryPoint(Base, frozen=True):
    """An interim target: the value the aim expects from ``periodStart`` on."""

    period_start: dt.date
    target: Value


Trajectory = Annotated[list[TrajectoryPoint], Meta(max_length=520, description="Interim targets (at most 520).")]


class AdoptionAimCreate(Base, frozen=True):
    """A concrete, time-bound aim on one measure for this adoption."""

    measure_code: MeasureCode
    baseline: Value
    target: Value
    due_on: dt.date
    trajectory: Trajectory = []


class AdoptionAim(ReadBase, frozen=True):
    """An aim and how it stands: ``status`` compares the latest observation with the target and with
    what the trajectory (or the straight line from the baseline at the adoption's start to the
    target on ``dueOn``) expects by then."""

    id: uuid.UUID
    adoption_id: uuid.UUID
    measure_code: str
    baseline: float
    target: float
    due_on: dt.date
    trajectory: list[TrajectoryPoint]
    status: AimStatus
    latest_period_start: Annotated[dt.date | None, Meta(description="The observation judged (the latest).")]
    latest_value: float | None
    expected_value: Annotated[
        float | None, Meta(description="What the trajectory or the line expects at `latestPeriodStart`.")
    ]
    created_at: dt.datetime
    updated_at: dt.datetime


class AdoptionAimPage(ReadBase, frozen=True):
    items: list[AdoptionAim]
    next_cursor: str | None


# --- adoption SPC ----------------------------------------------------------------------------


class AdoptionSpc(ReadBase, frozen=True):
    """An XmR chart of one adoption's series of one measure (the fields of `POST /v1/analysis/spc`'s
    answer, with what the chart was drawn from)."""

    adoption_id: uuid.UUID
    site_code: str
    measure_code: str
    measure_name: str
    unit: str
    improvement_direction: ImprovementDirection
    period: Period
    started_on: dt.date
    rebase_at_adoption: bool
    target: float | None
    points: list[SpcPoint]
    phases: list[SpcPhase]
    variation: Variation
    assurance: Assurance | None
