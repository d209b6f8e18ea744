"""A batch's plan (matching, then the lineage rules), as pure functions: no database, no app.

Work is counted, not timed: ``check_lineage`` reports how many rows it placed in a rejection
layer and how many links it looked at while propagating.
"""

from __future__ import annotations

import datetime as dt
import uuid

from service.errors import FieldError
from service.submissions.planner import Registry, Row, check_lineage, plan
from service.submissions.queries import ExistingAdoption, ExistingLink, InnovationInfo
from service.submissions.schemas import LearnedFrom, Report

INNOVATION = InnovationInfo(uuid.uuid4(), "virtual-wards", frozenset())
PARTNER = uuid.uuid4()
DAY = dt.date(2024, 1, 1)


def report(site: str, started: dt.date, *sources: str) -> Report:
    return Report(
        innovation=INNOVATION.slug,
        site_code=site,
        stage="implementing",
        started_on=started,
        learned_from=[LearnedFrom(site_code=s, channel="peer_visit") for s in sources],
    )


def row(n: int, rep: Report, target: ExistingAdoption | None = None) -> Row:
    r = Row(n=n, report=rep, errors=[], external_id=None, innovation=INNOVATION)
    r.target = target
    r.adoption_id = target.id if target else uuid.uuid4()
    return r


def existing(site: str, started: dt.date) -> ExistingAdoption:
    return ExistingAdoption(
        uuid.uuid4(), INNOVATION.id, site, "implementing", started, "", None, None, PARTNER, dt.datetime(2024, 1, 1)
    )


def link(learner: ExistingAdoption, source: ExistingAdoption) -> ExistingLink:
    return ExistingLink(uuid.uuid4(), learner.id, source.id, "peer_visit", None, learner.started_on, source.started_on)


def test_reverse_chain_of_10000_rows_is_rejected_in_one_propagation() -> None:
    """Row k learns from row k+1 and the last row is invalid: every row is rejected, each
    visited once, with the message naming the row it learned from."""
    size = 10_000
    reports = [
        report(f"S{k}", DAY - dt.timedelta(days=k), f"S{k + 1}" if k < size - 1 else "NOWHERE") for k in range(size)
    ]
    rows = [row(k + 1, rep) for k, rep in enumerate(reports)]
    work = check_lineage(rows, Registry([], [], PARTNER))

    last = rows[-1]
    assert last.errors == [
        FieldError(
            field="learnedFrom[0].siteCode",
            detail="site NOWHERE has no adoption of this innovation, in the registry or in this batch",
        )
    ]
    for k, r in enumerate(rows[:-1]):
        assert r.errors == [
            FieldError(field="learnedFrom[0].siteCode", detail=f"the row for site S{k + 1} (row {k + 2}) was rejected")
        ], k
    assert work.rows_propagated == size  # each row placed in a layer once
    assert work.layers == size  # one layer per link of the chain, plus the first rejection
    assert work.links_examined == size - 1  # each in-batch link looked at once


def test_chain_broken_in_the_middle_keeps_the_rows_upstream_of_the_break() -> None:
    size = 50
    reports = [report(f"S{k}", DAY - dt.timedelta(days=k), f"S{k + 1}") for k in range(size - 1)]
    reports.append(report(f"S{size - 1}", DAY - dt.timedelta(days=size - 1)))
    reports[30] = report("S30", DAY + dt.timedelta(days=1), "S31")  # after its learner S29: S29 breaks
    rows = [row(k + 1, rep) for k, rep in enumerate(reports)]
    work = check_lineage(rows, Registry([], [], PARTNER))

    rejected = [k for k, r in enumerate(rows) if r.errors]
    assert rejected == list(range(30))
    assert rows[29].errors == [
        FieldError(field="learnedFrom[0].siteCode", detail=f"the source started on {DAY + dt.timedelta(days=1)}, "
                   f"after this adoption ({DAY - dt.timedelta(days=29)})")
    ]  # fmt: skip
    assert rows[28].errors[0].detail == "the row for site S29 (row 30) was rejected"
    kept = rows[30:]
    assert all(len(r.links) == (1 if r is not rows[-1] else 0) for r in kept)
    assert kept[0].links[0].source == rows[31].adoption_id and kept[0].links[0].index == 0
    assert work.rows_propagated == 30 and work.links_examined == 29


def test_a_row_learning_from_two_rejected_rows_names_both_in_order() -> None:
    a = report("A", DAY, "NOWHERE")
    b = report("B", DAY, "NOWHERE")
    c = report("C", DAY + dt.timedelta(days=3), "B", "A")
    rows = [row(1, a), row(2, b), row(3, c)]
    check_lineage(rows, Registry([], [], PARTNER))
    assert [e.field for e in rows[2].errors] == ["learnedFrom[0].siteCode", "learnedFrom[1].siteCode"]
    assert rows[2].errors[0].detail == "the row for site B (row 2) was rejected"
    assert rows[2].errors[1].detail == "the row for site A (row 1) was rejected"


def test_a_rejected_move_keeps_its_old_start_and_breaks_a_learner_moved_before_it() -> None:
    """Existing link A -> B. The batch moves both earlier (fine together), but A's row fails for
    another reason, so A keeps its old start and B's move now puts it before its source."""
    old_a, old_b = existing("A", DAY), existing("B", DAY + dt.timedelta(days=10))
    reg = Registry([old_a, old_b], [link(old_b, old_a)], PARTNER)
    moved_a = row(1, report("A", DAY - dt.timedelta(days=20), "NOWHERE"), target=old_a)
    moved_b = row(2, report("B", DAY - dt.timedelta(days=10)), target=old_b)
    work = check_lineage([moved_a, moved_b], reg)
    assert moved_a.errors[0].field == "learnedFrom[0].siteCode"
    assert moved_b.errors == [
        FieldError(
            field="startedOn",
            detail=f"moving the start to {DAY - dt.timedelta(days=10)} would put it before its source at site A ({DAY})",
        )
    ]
    assert work.rows_propagated == 2 and work.layers == 2


def test_cycles_between_rows_starting_the_same_day_are_refused() -> None:
    rows = [row(1, report("A", DAY, "B")), row(2, report("B", DAY, "A")), row(3, report("C", DAY, "A"))]
    check_lineage(rows, Registry([], [], PARTNER))
    assert rows[0].errors[0].detail == "learning from site B would make a cycle (between sites A, B)"
    assert rows[1].errors[0].detail == "learning from site A would make a cycle (between sites A, B)"
    assert rows[2].errors == [
        FieldError(field="learnedFrom[0].siteCode", detail="the row for site A (row 1) was rejected")
    ]


def test_dense_batch_propagation_looks_at_each_link_once() -> None:
    """300 rows, each learning from up to 50 later ones, the last one invalid: every row is
    rejected and the propagation looks at each in-batch link exactly once."""
    size, fan = 300, 50
    reports = [
        report(f"S{k}", DAY - dt.timedelta(days=k), *[f"S{j}" for j in range(k + 1, min(size, k + 1 + fan))])
        for k in range(size - 1)
    ]
    reports.append(report(f"S{size - 1}", DAY - dt.timedelta(days=size - 1), "NOWHERE"))
    rows = [row(k + 1, rep) for k, rep in enumerate(reports)]
    work = check_lineage(rows, Registry([], [], PARTNER))
    assert all(r.errors for r in rows)
    links = sum(len(rep.learned_from) for rep in reports[:-1])
    assert work.rows_propagated == size and work.links_examined == links


def test_plan_matches_rows_to_adoptions_once_then_checks_lineage() -> None:
    """A row for a site with an open adoption updates it; a second row for that adoption is
    refused; a row learning from the refused row is rejected by the propagation."""
    there = existing("A", DAY)
    reg = Registry([there], [], PARTNER)
    first = Row(n=1, report=report("A", DAY), errors=[], external_id=None, innovation=INNOVATION)
    second = Row(n=2, report=report("A", DAY), errors=[], external_id=None, innovation=INNOVATION)
    fresh = Row(
        n=3, report=report("B", DAY + dt.timedelta(days=1), "A"), errors=[], external_id=None, innovation=INNOVATION
    )
    rows = [first, second, fresh]
    work = plan(rows, rows, reg, known={"A", "B"})
    assert first.target == there and first.adoption_id == there.id and not first.errors
    assert second.adoption_id is None
    assert second.errors == [
        FieldError(
            field="siteCode", detail="row 1 already reports this adoption (site A); report each adoption once per batch"
        )
    ]
    assert fresh.target is None and fresh.adoption_id is not None and not fresh.errors
    assert [(link.index, link.source) for link in fresh.links] == [(0, there.id)]  # the row for A is row 1
    assert work.rows_propagated == 0
