"""The SPC engine's edges, stated as rules (pure: no database, no app).

These were written to kill the mutants `python3 dev.py mutate spc` left alive (docs/testing.md):
each states something a client relies on: what a refusal says and which field it names, where
a limit starts to refuse, that screening is on unless turned off, and how a target exactly on
a limit is judged.
"""

from __future__ import annotations

import datetime as dt

import pytest

from service.analysis.schemas import MAX_POINTS, VALUE_BOUND
from service.analysis.spc import assurance, calculate_spc, phase_limits
from service.errors import InvalidInputError

ZIGZAG = [10.0, 12.0] * 6  # mean 11, every moving range 2
SPIKE = [10.0, 12.0, 10.0, 12.0, 10.0, 12.0, 24.0, 12.0, 10.0, 12.0, 10.0, 12.0, 10.0]
JAN, FEB, MAR, APR = (dt.date(2024, m, 1) for m in (1, 2, 3, 4))


def refusal(**kwargs: object) -> InvalidInputError:
    values = kwargs.pop("values", ZIGZAG)
    with pytest.raises(InvalidInputError) as caught:
        calculate_spc(values, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"values": [1.0]}, "values", "An SPC chart needs at least 2 values."),
        ({"values": [1.0] * (MAX_POINTS + 1)}, "values", f"An SPC chart takes at most {MAX_POINTS} values."),
        ({"values": [1.0, "2"]}, "values", "values[1] is not a number."),
        ({"values": [1.0, 2.0, True]}, "values", "values[2] is not a number."),
        ({"values": [1.0, float("nan")]}, "values", "values[1] must be a finite number of at most 1e15 in magnitude."),
        ({"periods": [JAN]}, "periods", "periods has 1 items but values has 12; give one per value."),
        (
            {"values": [1.0, 2.0, 3.0], "periods": [JAN, MAR, FEB]},
            "periods",
            "periods must be strictly increasing (in time order); periods[2] = 2024-02-01 "
            "does not come after 2024-03-01.",
        ),
        ({"rebase": [True]}, "rebase", "rebase items are indices or dates, not booleans."),
        ({"rebase": ["6"]}, "rebase", "rebase items are indices or ISO dates."),
        ({"rebase": [12]}, "rebase", "rebase index 12 is out of range: values has 12 items (0..11)."),
        ({"rebase": [-1]}, "rebase", "rebase index -1 is out of range: values has 12 items (0..11)."),
        (
            {"rebase": [JAN]},
            "rebase",
            "rebase date 2024-01-01 needs periods to find it in; give periods or an index.",
        ),
        (
            {"values": [1.0, 2.0, 3.0, 4.0], "periods": [JAN, FEB, MAR, APR], "rebase": [dt.date(2030, 1, 1)]},
            "rebase",
            "rebase date 2030-01-01 is not one of the periods.",
        ),
        (
            {"rebase": [11]},
            "rebase",
            "The phase starting at index 11 would have 1 point; each phase needs at least 2.",
        ),
        (
            {"improvement_direction": "up"},
            "improvementDirection",
            "improvementDirection is increase, decrease or neutral.",
        ),
        ({"target": float("inf")}, "target", "target must be a finite number of at most 1e15 in magnitude."),
        ({"target": True}, "target", "target must be a finite number of at most 1e15 in magnitude."),
    ],
)
def test_a_refusal_names_the_field_and_says_what_is_wrong(kwargs: dict[str, object], field: str, says: str) -> None:
    error = refusal(**dict(kwargs))
    assert error.status == 422
    assert error.detail == says
    assert [(e.field, e.detail) for e in error.errors or []] == [(field, says)]


def test_the_largest_chart_and_the_largest_numbers_are_accepted() -> None:
    assert len(calculate_spc([1.0, 2.0] * (MAX_POINTS // 2)).points) == MAX_POINTS
    r = calculate_spc([VALUE_BOUND, -VALUE_BOUND], improvement_direction="increase", target=VALUE_BOUND)
    assert r.phases[0].mean == 0
    assert r.assurance == "inconsistent"  # the target lies inside the (enormous) limits


def test_a_short_phase_warns_that_its_limits_are_trial_limits() -> None:
    (warning,) = calculate_spc([1.0, 3.0, 2.0]).phases[0].warnings
    assert warning == (
        "This phase has 3 points, fewer than 12: its limits are trial limits and will move as points are added."
    )


def test_phase_limits_screen_outliers_unless_told_not_to() -> None:
    default = phase_limits(SPIKE, 0, len(SPIKE))
    screened = phase_limits(SPIKE, 0, len(SPIKE), screen_outliers=True)
    unscreened = phase_limits(SPIKE, 0, len(SPIKE), screen_outliers=False)
    assert default == screened
    # moving ranges: ten of 2 and two of 12 (to and from the spike): mMR 44/12; the two 12s are
    # at least 3.267 x mMR, so screening keeps only the ten 2s: mMR 2.
    assert unscreened.mean_moving_range == pytest.approx(44 / 12)
    assert screened.mean_moving_range == 2
    assert (screened.start, screened.end) == (0, 13)
    assert screened.upper_limit == pytest.approx(12 + 2.66 * 2)


def test_phase_limits_of_a_slice() -> None:
    limits = phase_limits([0.0, 0.0, *ZIGZAG, 100.0], 2, 14)
    assert (limits.start, limits.end, limits.mean, limits.mean_moving_range) == (2, 14, 11, 2)


@pytest.mark.parametrize(
    ("direction", "on", "expected"),
    [
        ("increase", "lower", "inconsistent"),
        ("decrease", "lower", "inconsistent"),
        ("increase", "upper", "inconsistent"),
        ("decrease", "upper", "inconsistent"),
    ],
)
def test_a_target_exactly_on_either_limit_is_inconsistent(direction: str, on: str, expected: str) -> None:
    """The process can land on either side of a target that sits on a limit (R: strict < and >)."""
    limits = phase_limits(ZIGZAG, 0, len(ZIGZAG))
    target = limits.lower_limit if on == "lower" else limits.upper_limit
    assert assurance(direction, target, limits.lower_limit, limits.upper_limit) == expected  # type: ignore[arg-type]
    r = calculate_spc(ZIGZAG, improvement_direction=direction, target=target)  # type: ignore[arg-type]
    assert r.assurance == expected
