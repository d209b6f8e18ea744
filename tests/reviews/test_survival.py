"""Kaplan-Meier against the textbook example: Freireich et al. (1963) 6-MP arm, as worked in
Kleinbaum and Klein, Survival Analysis: A Self-Learning Text (and Gehan, 1965).

Remission times in weeks, + = censored: 6,6,6,6+,7,9+,10,10+,11+,13,16,17+,19+,20+,22,23,25+,
32+,32+,34+,35+ (21 patients, 9 relapses). Hand-worked product-limit values:
  t=6:  n=21, d=3 -> 18/21                 = 0.857143
  t=7:  n=17, d=1 -> 0.857143 * 16/17      = 0.806723
  t=10: n=15, d=1 -> 0.806723 * 14/15      = 0.752941
  t=13: n=12, d=1 -> 0.752941 * 11/12      = 0.690196
  t=16: n=11, d=1 -> 0.690196 * 10/11      = 0.627451
  t=22: n=7,  d=1 -> 0.627451 * 6/7        = 0.537815
  t=23: n=6,  d=1 -> 0.537815 * 5/6        = 0.448179
"""

from __future__ import annotations

import datetime as dt

import pytest

from service.reviews.queries import SurvivalRow
from service.reviews.service import survival_points
from service.reviews.survival import kaplan_meier

SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True), (10, False), (11, False),
    (13, True), (16, True), (17, False), (19, False), (20, False), (22, True), (23, True), (25, False),
    (32, False), (32, False), (34, False), (35, False),
]  # fmt: skip
HAND = {6: 0.857143, 7: 0.806723, 10: 0.752941, 13: 0.690196, 16: 0.627451, 22: 0.537815, 23: 0.448179}


def test_six_mp_textbook_values() -> None:
    subjects = [(float(t), e) for t, e in SIX_MP]
    times = [5.0, *map(float, HAND), 8.0, 24.0, 35.0, 36.0]
    got = {e.time: e for e in kaplan_meier(subjects, times)}
    assert got[5.0].survival == 1.0
    for t, s in HAND.items():
        assert got[float(t)].survival == pytest.approx(s, abs=1e-6), t
    # between failure times the curve is flat; at the longest follow-up it is the last step
    assert got[8.0].survival == pytest.approx(HAND[7], abs=1e-6)
    assert got[24.0].survival == pytest.approx(HAND[23], abs=1e-6)
    assert got[35.0].survival == pytest.approx(HAND[23], abs=1e-6)
    # beyond the longest follow-up (a censored time) the estimate is undefined
    assert got[36.0].survival is None
    # counts: 9 relapses, 12 censored; by t=23: 9 relapses, 7 censored (6+,9+,10+,11+,17+,19+,20+), 5 left
    assert (got[35.0].events, got[35.0].censored, got[35.0].at_risk) == (9, 12, 0)
    assert (got[23.0].events, got[23.0].censored, got[23.0].at_risk) == (9, 7, 5)


def test_censoring_is_not_failure() -> None:
    # Two adoptions, one 3 months old and still going: it must not pull the 6-month share down.
    today = dt.date(2026, 1, 1)
    rows = [
        SurvivalRow(implementing_on=today - dt.timedelta(days=90), ended_on=None),
        SurvivalRow(implementing_on=today - dt.timedelta(days=800), ended_on=None),
    ]
    points = survival_points(rows, today)
    assert [(p.months, p.still_in_use) for p in points] == [(6, 1.0), (12, 1.0), (24, 1.0)]
    assert points[0].censored == 1 and points[0].events == 0
    # counting the young one as a failure (the mistake) would give 0.5
    failed = [SurvivalRow(implementing_on=r.implementing_on, ended_on=today) for r in rows[:1]] + rows[1:]
    assert survival_points(failed, today)[0].still_in_use == 0.5


def test_no_adoptions_no_estimate() -> None:
    assert all(p.still_in_use is None for p in survival_points([], dt.date(2026, 1, 1)))
