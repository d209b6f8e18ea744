"""Request and response bodies of statistical process control (XmR, "Making Data Count")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from msgspec import Meta

from service.types import Base, ReadBase

MAX_POINTS = 10_000
VALUE_BOUND = 1e15

Direction = Literal["increase", "decrease", "neutral"]
PointType = Literal["common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neutral"]
Rule = Literal["outside_limits", "trend", "two_of_three", "run"]
Variation = Literal[
    "common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low", "neutral_high", "neutral_low"
]
Assurance = Literal["consistent_pass", "consistent_fail", "inconsistent"]

SpcValue = Annotated[
    float,
    Meta(
        ge=-VALUE_BOUND,
        le=VALUE_BOUND,
        description="A finite measurement, at most 10^15 in magnitude.",
        examples=[1199],
    ),
]
RebaseIndex = Annotated[int, Meta(ge=0, le=MAX_POINTS - 1, description="0-based index of a phase's first point.")]

# Litestar's OpenAPI generator drops constraints on list items; restate them for the spec
# (msgspec still enforces the ones on SpcValue and RebaseIndex).
_VALUE_ITEMS = {"items": {"type": "number", "minimum": -VALUE_BOUND, "maximum": VALUE_BOUND}}
_REBASE_ITEMS = {
    "items": {
        "oneOf": [
            {"type": "integer", "minimum": 0, "maximum": MAX_POINTS - 1},
            {"type": "string", "format": "date"},
        ]
    }
}


class SpcRequest(Base, frozen=True):
    """A series in time order, and how to judge it."""

    values: Annotated[
        list[SpcValue],
        Meta(
            min_length=2,
            max_length=MAX_POINTS,
            description="The measurements in time order (2 to 10,000), each at most 10^15 in magnitude.",
            extra_json_schema={"extra": _VALUE_ITEMS},
        ),
    ]
    periods: (
        Annotated[
            list[dt.date],
            Meta(
                min_length=2,
                max_length=MAX_POINTS,
                description="The period of each value (same length as `values`, strictly increasing).",
            ),
        ]
        | None
    ) = None
    improvement_direction: Annotated[
        Direction, Meta(description="Which way is better: `increase`, `decrease` or `neutral` (neither).")
    ] = "neutral"
    target: (
        Annotated[
            float,
            Meta(ge=-VALUE_BOUND, le=VALUE_BOUND, description="A target to judge assurance against.", examples=[1200]),
        ]
        | None
    ) = None
    rebase: (
        Annotated[
            list[RebaseIndex | dt.date],
            Meta(
                max_length=MAX_POINTS,
                description="Where new phases start (recalculated mean and limits): 0-based indices into "
                "`values`, or dates found in `periods`.",
                extra_json_schema={"extra": _REBASE_ITEMS},
            ),
        ]
        | None
    ) = None
    screen_outliers: Annotated[
        bool,
        Meta(
            description="Drop moving ranges of at least 3.267 times the mean moving range once before setting the "
            "limits (NHSRplotthedots' default)."
        ),
    ] = True


class SpcPoint(ReadBase, frozen=True):
    """One value, its phase's mean and limits, and whether it shows special cause variation."""

    index: int
    period: dt.date | None
    value: float
    phase: Annotated[int, Meta(description="0-based phase number.")]
    mean: float
    upper_limit: float
    lower_limit: float
    point_type: PointType
    rules: Annotated[
        list[Rule],
        Meta(
            description="Every special-cause rule that flags this point, the one that decides `pointType` first "
            "(precedence: outside_limits, trend, two_of_three, run)."
        ),
    ]


class SpcPhase(ReadBase, frozen=True):
    """A stretch of the series with its own mean and limits."""

    start: Annotated[int, Meta(description="Index of the phase's first point.")]
    mean: float
    upper_limit: float
    lower_limit: float
    near_upper: Annotated[float, Meta(description="Upper edge of the near-limit band (two sigma).")]
    near_lower: Annotated[float, Meta(description="Lower edge of the near-limit band (two sigma).")]
    warnings: list[str]


class SpcResult(ReadBase, frozen=True):
    """An XmR chart: every point, every phase, the variation icon and the assurance against a target."""

    points: list[SpcPoint]
    phases: list[SpcPhase]
    variation: Annotated[Variation, Meta(description="The variation icon, from the last point.")]
    assurance: Annotated[
        Assurance | None,
        Meta(description="Against the target, on the last phase; null without a target or a direction."),
    ]
