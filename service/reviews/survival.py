"""The Kaplan-Meier product-limit estimate (Kaplan and Meier, 1958), pure.

Each subject is (time, event): ``event`` True when the subject failed at ``time`` (here: the
adoption stopped being in use), False when it was last seen still going (censored). At a time
with both, failures count before censorings, as in the usual convention.
"""

from __future__ import annotations

import msgspec


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    """S(t) at one time, with the subjects at risk just after it and the counts up to it."""

    time: float
    survival: float | None  # None when nobody was followed that long
    at_risk: int
    events: int
    censored: int


def kaplan_meier(subjects: list[tuple[float, bool]], at: list[float]) -> list[Estimate]:
    """S(t) = product over failure times t_i <= t of (1 - d_i / n_i), for each t in ``at``."""
    times = sorted({t for t, _ in subjects})
    steps: list[tuple[float, float]] = []  # (failure time, S just after it)
    survival = 1.0
    for t in times:
        at_risk = sum(1 for s, _ in subjects if s >= t)
        deaths = sum(1 for s, e in subjects if s == t and e)
        if deaths:
            survival *= 1.0 - deaths / at_risk
            steps.append((t, survival))
    out: list[Estimate] = []
    for t in at:
        s = 1.0
        for when, value in steps:
            if when <= t:
                s = value
        # Beyond the longest follow-up the estimate is undefined (unless everyone has failed).
        followed = bool(subjects) and (max(time for time, _ in subjects) >= t or s == 0.0)
        out.append(
            Estimate(
                time=t,
                survival=round(s, 6) if followed else None,
                at_risk=sum(1 for time, _ in subjects if time > t),
                events=sum(1 for time, e in subjects if e and time <= t),
                censored=sum(1 for time, e in subjects if not e and time <= t),
            )
        )
    return out
