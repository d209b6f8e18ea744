"""The submission rules one by one, on the planner's pure functions (no database, no app).

Depends on service/submissions/planner.py's public names: Row, Registry, match, plan,
check_lineage (and ExistingAdoption/ExistingLink/InnovationInfo, Report/LearnedFrom). Each
test states a rule of bulk submissions (docs/DOMAIN.md): which adoption a row updates, that
a batch reports an adoption once, that a moved start keeps every learned-from link's source
no later than its learner, and that a same-day link may not close a cycle.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from service.errors import FieldError
from service.submissions.planner import Registry, Row, check_lineage, match, plan
from service.submissions.queries import ExistingAdoption, ExistingLink, InnovationInfo
from service.submissions.schemas import LearnedFrom, Report

INNOVATION = InnovationInfo(uuid.uuid4(), "virtual-wards", frozenset())
PARTNER, OTHER_PARTNER = uuid.uuid4(), uuid.uuid4()
DAY = dt.date(2024, 1, 1)


def days(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def report(
    site: str,
    started: dt.date = DAY,
    *sources: str,
    stage: str = "implementing",
    external_id: str | None = None,
    reason: str | None = None,
) -> Report:
    return Report(
        innovation=INNOVATION.slug,
        site_code=site,
        stage=stage,  # type: ignore[arg-type]
        started_on=started,
        learned_from=[LearnedFrom(site_code=s, channel="peer_visit") for s in sources],
        external_id=external_id,
        discontinued_reason=reason,
    )


def adoption(
    site: str,
    started: dt.date = DAY,
    *,
    stage: str = "implementing",
    external_id: str | None = None,
    partner: uuid.UUID = PARTNER,
    reason: str | None = None,
    created: int = 0,
) -> ExistingAdoption:
    return ExistingAdoption(
        uuid.uuid4(),
        INNOVATION.id,
        site,
        stage,
        started,
        "",
        reason,
        external_id,
        partner,
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=created),
    )


def link(learner: ExistingAdoption, source: ExistingAdoption) -> ExistingLink:
    return ExistingLink(uuid.uuid4(), learner.id, source.id, "peer_visit", None, learner.started_on, source.started_on)


def fresh_row(n: int, rep: Report) -> Row:
    return Row(n=n, report=rep, errors=[], external_id=rep.external_id, innovation=INNOVATION)


def matched(rep: Report, *existing: ExistingAdoption, links: list[ExistingLink] | None = None) -> Row:
    r = fresh_row(1, rep)
    match(r, Registry(list(existing), links or [], PARTNER))
    return r


def placed(n: int, rep: Report, target: ExistingAdoption | None = None) -> Row:
    r = fresh_row(n, rep)
    r.target = target
    r.adoption_id = target.id if target else uuid.uuid4()
    return r


# --- which adoption a row updates ---------------------------------------------------------------


def test_a_row_updates_the_sites_open_adoption() -> None:
    there = adoption("A")
    r = matched(report("A"), adoption("B"), there)
    assert (r.target, r.adoption_id, r.errors) == (there, there.id, [])


def test_a_row_for_a_site_without_an_adoption_creates_one() -> None:
    r = matched(report("A"), adoption("B"))
    assert r.target is None and r.adoption_id is not None and r.errors == []


def test_your_external_id_finds_your_adoption() -> None:
    mine = adoption("A", external_id="X1")
    r = matched(report("A", external_id="X1"), mine)
    assert (r.target, r.adoption_id) == (mine, mine.id)


def test_another_partners_external_id_is_not_yours() -> None:
    """Another partner's externalId does not find its adoption: a row at another site with the
    same externalId creates a new adoption rather than being refused as a move."""
    theirs = adoption("A", external_id="X1", partner=OTHER_PARTNER)
    r = matched(report("B", external_id="X1"), theirs)
    assert r.target is None and r.errors == []


def test_an_adoption_cannot_move_site_by_external_id() -> None:
    mine = adoption("A", external_id="X1")
    r = matched(report("B", external_id="X1"), mine)
    assert r.errors == [
        FieldError(
            field="siteCode",
            detail="externalId 'X1' already names your adoption at site A; an adoption cannot move to another site",
        )
    ]
    assert r.adoption_id is None


def test_a_discontinued_adoption_is_not_reopened_by_a_new_report_of_the_site() -> None:
    closed = adoption("A", stage="discontinued", reason="funding")
    r = matched(report("A"), closed)
    assert r.target is None and r.adoption_id not in (None, closed.id) and r.errors == []


def test_a_discontinued_report_updates_the_latest_discontinued_adoption() -> None:
    older = adoption("A", days(-30), stage="discontinued", reason="old")
    latest = adoption("A", days(-10), stage="discontinued", reason="new")
    same_start_earlier = adoption("A", days(-10), stage="discontinued", reason="same day", created=-1)
    for order in ([older, latest, same_start_earlier], [same_start_earlier, latest, older]):
        r = matched(report("A", days(-10), stage="discontinued"), *order)
        assert r.target == latest, order
        assert r.reason == "new"  # no reason given: the adoption's own is kept
        assert r.errors == []


def test_the_open_adoption_wins_over_a_discontinued_one() -> None:
    closed = adoption("A", days(-30), stage="discontinued", reason="old")
    open_ = adoption("A", days(-5))
    for order in ([closed, open_], [open_, closed]):
        assert matched(report("A"), *order).target == open_


def test_reopening_by_external_id_is_refused_while_the_site_has_another_open_adoption() -> None:
    closed = adoption("A", days(-30), stage="discontinued", external_id="X1", reason="old")
    open_ = adoption("A", days(-5))
    r = matched(report("A", external_id="X1"), closed, open_)
    assert r.errors == [
        FieldError(
            field="stage",
            detail=f"site A already has an open adoption of this innovation ({open_.id}); it cannot reopen another one",
        )
    ]
    assert r.adoption_id is None


def test_reopening_by_external_id_is_allowed_when_nothing_else_is_open() -> None:
    closed = adoption("A", days(-30), stage="discontinued", external_id="X1", reason="old")
    r = matched(report("A", external_id="X1"), closed)
    assert (r.target, r.errors, r.reason) == (closed, [], None)


def test_discontinued_needs_a_reason() -> None:
    r = matched(report("A", stage="discontinued"))
    assert r.errors == [FieldError(field="discontinuedReason", detail="stage 'discontinued' needs a reason")]
    given = matched(report("A", stage="discontinued", reason="funding"))
    assert (given.errors, given.reason) == ([], "funding")
    still_open = matched(report("A", stage="discontinued"), adoption("A"))
    assert still_open.errors == [FieldError(field="discontinuedReason", detail="stage 'discontinued' needs a reason")]


# --- one row per adoption -----------------------------------------------------------------------


def test_two_new_rows_with_one_external_id_are_refused_on_external_id() -> None:
    rows = [fresh_row(1, report("A", external_id="X1")), fresh_row(2, report("B", external_id="X1"))]
    plan(rows, rows, Registry([], [], PARTNER), known={"A", "B"})
    assert rows[0].errors == []
    assert rows[1].errors == [
        FieldError(
            field="externalId",
            detail="row 1 already reports this adoption (site B); report each adoption once per batch",
        )
    ]
    assert rows[1].adoption_id is None


def test_two_new_rows_for_one_site_are_refused_on_site_code() -> None:
    rows = [fresh_row(1, report("A")), fresh_row(2, report("A", days(-3)))]
    plan(rows, rows, Registry([], [], PARTNER), known={"A"})
    assert rows[0].errors == [] and rows[0].adoption_id is not None
    assert [(e.field, e.detail) for e in rows[1].errors] == [
        ("siteCode", "row 1 already reports this adoption (site A); report each adoption once per batch")
    ]


def test_two_discontinued_new_rows_for_one_site_may_both_be_recorded() -> None:
    """Only one adoption per site may be open; closed ones can be many (reported with distinct externalIds)."""
    rows = [
        fresh_row(1, report("A", stage="discontinued", reason="r", external_id="X1")),
        fresh_row(2, report("A", stage="discontinued", reason="r", external_id="X2")),
    ]
    plan(rows, rows, Registry([], [], PARTNER), known={"A"})
    assert rows[0].errors == [] and rows[1].errors == []
    assert rows[0].adoption_id != rows[1].adoption_id


def test_rows_for_unknown_sites_or_innovations_are_not_matched() -> None:
    unknown_site = fresh_row(1, report("NOPE"))
    no_innovation = Row(n=2, report=report("A"), errors=[], external_id=None, innovation=None)
    rows = [unknown_site, no_innovation]
    plan(rows, rows, Registry([adoption("A")], [], PARTNER), known={"A"})
    assert unknown_site.adoption_id is None and no_innovation.adoption_id is None
    assert unknown_site.errors == [] and no_innovation.errors == []  # the caller reports those


def test_only_readable_rows_are_matched() -> None:
    unread = fresh_row(1, report("A"))
    plan([unread], [], Registry([adoption("A")], [], PARTNER), known={"A"})
    assert unread.adoption_id is None and unread.target is None


# --- a moved start keeps every link's source first ---------------------------------------------------


def test_moving_a_source_after_its_learner_is_refused_naming_the_learner() -> None:
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    r = placed(1, report("A", days(11)), target=source)
    check_lineage([r], reg)
    assert r.errors == [
        FieldError(
            field="startedOn",
            detail=f"moving the start to {days(11)} would put it after the adoption at site B "
            f"that learned from it ({days(10)})",
        )
    ]


def test_moving_a_learner_before_its_source_is_refused_naming_the_source() -> None:
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    r = placed(1, report("B", days(-1)), target=learner)
    check_lineage([r], reg)
    assert r.errors == [
        FieldError(
            field="startedOn",
            detail=f"moving the start to {days(-1)} would put it before its source at site A ({DAY})",
        )
    ]


def test_a_source_in_another_innovation_is_named_by_its_adoption_id() -> None:
    outside = uuid.uuid4()
    learner = adoption("B", days(10))
    foreign = ExistingLink(uuid.uuid4(), learner.id, outside, "peer_visit", None, days(10), days(5))
    r = placed(1, report("B", days(1)), target=learner)
    check_lineage([r], Registry([learner], [foreign], PARTNER))
    assert [e.detail for e in r.errors] == [
        f"moving the start to {days(1)} would put it before its source at adoption {outside} ({days(5)})"
    ]


def test_moves_on_the_same_day_and_moves_together_are_allowed() -> None:
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    onto_the_learner = placed(1, report("A", days(10)), target=source)
    check_lineage([onto_the_learner], reg)
    assert onto_the_learner.errors == []
    both = [placed(1, report("A", days(20)), target=source), placed(2, report("B", days(20)), target=learner)]
    check_lineage(both, Registry([source, learner], [link(learner, source)], PARTNER))
    assert [r.errors for r in both] == [[], []]


def test_a_row_that_does_not_move_its_start_is_not_rechecked() -> None:
    source, learner = adoption("A", DAY), adoption("B", days(10))
    bad_link = msgspec.structs.replace(
        link(learner, source), learner_started_on=days(-1)
    )  # as stored; not this row's business
    r = placed(1, report("A", DAY), target=source)
    check_lineage([r], Registry([source, learner], [bad_link], PARTNER))
    assert r.errors == []


def test_a_rejected_learner_row_does_not_hold_back_its_source_row() -> None:
    """B (learner) moves before A and is refused; A's own row, which moves nothing, stands."""
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    rows = [placed(1, report("A", DAY), target=source), placed(2, report("B", days(-3)), target=learner)]
    work = check_lineage(rows, reg)
    assert rows[0].errors == []
    assert [e.field for e in rows[1].errors] == ["startedOn"]
    assert work.layers == 1 and work.rows_propagated == 1


def test_a_rejected_moved_source_takes_back_its_start_and_breaks_a_learner_that_moved_before_it() -> None:
    """Existing A -> B (A on DAY, B on day 10); A's row is refused for another reason, so A's
    start goes back to DAY. Moves of A to day 5 and B to day 6: DAY is still before day 6, B
    stands. Moves of A to day -5 and B to day -4: DAY is after day -4, B is refused."""
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    kept = [placed(1, report("A", days(5), "NOWHERE"), target=source), placed(2, report("B", days(6)), target=learner)]
    check_lineage(kept, reg)
    assert [e.field for e in kept[0].errors] == ["learnedFrom[0].siteCode"]
    assert kept[1].errors == []

    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    broken = [
        placed(1, report("A", days(-5), "NOWHERE"), target=source),
        placed(2, report("B", days(-4)), target=learner),
    ]
    work = check_lineage(broken, reg)
    assert broken[1].errors == [
        FieldError(
            field="startedOn",
            detail=f"moving the start to {days(-4)} would put it before its source at site A ({DAY})",
        )
    ]
    assert work.layers == 2 and work.rows_propagated == 2


def test_a_rejected_moved_learner_takes_back_its_start_and_breaks_a_source_that_moved_after_it() -> None:
    """Existing A -> B. The batch moves B to day 30 and A to day 20; B is refused for another
    reason and goes back to day 10, before A's new day 20: A is refused, naming B."""
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    rows = [
        placed(1, report("A", days(20)), target=source),
        placed(2, report("B", days(30), "NOWHERE"), target=learner),
    ]
    work = check_lineage(rows, reg)
    assert rows[0].errors == [
        FieldError(
            field="startedOn",
            detail=f"moving the start to {days(20)} would put it after the adoption at site B "
            f"that learned from it ({days(10)})",
        )
    ]
    assert work.layers == 2


# --- learned-from links in a batch -----------------------------------------------------------------


def test_a_source_must_start_no_later_than_its_learner() -> None:
    rows = [placed(1, report("A", days(2))), placed(2, report("B", days(1), "A")), placed(3, report("C", days(2), "A"))]
    check_lineage(rows, Registry([], [], PARTNER))
    assert rows[1].errors == [
        FieldError(
            field="learnedFrom[0].siteCode",
            detail=f"the source started on {days(2)}, after this adoption ({days(1)})",
        )
    ]
    assert rows[2].errors == []  # the same day is fine
    assert [(lk.index, lk.source, lk.channel) for lk in rows[2].links] == [(0, rows[0].adoption_id, "peer_visit")]


def test_a_source_in_the_registry_is_found_by_its_site() -> None:
    there = adoption("A", DAY)
    r = placed(1, report("B", days(3), "NOWHERE", "A"))
    check_lineage([r], Registry([there], [], PARTNER))
    assert [lk.source for lk in r.links] == [there.id]
    assert [lk.index for lk in r.links] == [1]
    assert r.errors == [
        FieldError(
            field="learnedFrom[0].siteCode",
            detail="site NOWHERE has no adoption of this innovation, in the registry or in this batch",
        )
    ]


def test_a_same_day_link_closing_a_cycle_with_the_registry_is_refused() -> None:
    a, b = adoption("A", DAY), adoption("B", DAY)
    reg = Registry([a, b], [link(b, a)], PARTNER)  # B learned from A, the same day
    r = placed(1, report("A", DAY, "B"), target=a)
    check_lineage([r], reg)
    assert r.errors == [
        FieldError(
            field="learnedFrom[0].siteCode", detail="learning from site B would make a cycle (between sites A, B)"
        )
    ]


def test_restating_an_existing_same_day_link_is_no_cycle() -> None:
    a, b = adoption("A", DAY), adoption("B", DAY)
    reg = Registry([a, b], [link(b, a)], PARTNER)
    r = placed(1, report("B", DAY, "A"), target=b)
    check_lineage([r], reg)
    assert r.errors == [] and [lk.source for lk in r.links] == [a.id]


def test_a_move_onto_the_same_day_can_close_a_cycle() -> None:
    """Existing B learned from A (A on DAY, B on day 3). The batch moves B to DAY and says A
    learned from B: a cycle between two adoptions now starting the same day."""
    a, b = adoption("A", DAY), adoption("B", days(3))
    reg = Registry([a, b], [link(b, a)], PARTNER)
    rows = [placed(1, report("B", DAY), target=b), placed(2, report("A", DAY, "B"), target=a)]
    check_lineage(rows, reg)
    assert rows[1].errors == [
        FieldError(
            field="learnedFrom[0].siteCode", detail="learning from site B would make a cycle (between sites A, B)"
        )
    ]
    assert rows[0].errors == []


def test_a_three_site_cycle_names_every_site() -> None:
    rows = [
        placed(1, report("A", DAY, "C")),
        placed(2, report("B", DAY, "A")),
        placed(3, report("C", DAY, "B")),
        placed(4, report("D", DAY, "A")),  # learns from the cycle, not on it
    ]
    check_lineage(rows, Registry([], [], PARTNER))
    for r, source in zip(rows[:3], "CAB", strict=True):
        assert r.errors[0].detail == f"learning from site {source} would make a cycle (between sites A, B, C)"
    assert rows[3].errors == [
        FieldError(field="learnedFrom[0].siteCode", detail="the row for site A (row 1) was rejected")
    ]


def test_a_site_has_one_open_adoption_even_under_two_external_ids() -> None:
    rows = [fresh_row(1, report("A", external_id="X1")), fresh_row(2, report("A", external_id="X2"))]
    plan(rows, rows, Registry([], [], PARTNER), known={"A"})
    assert rows[0].errors == []
    assert [e.detail for e in rows[1].errors] == [
        "row 1 already reports this adoption (site A); report each adoption once per batch"
    ]


def test_new_adoptions_at_two_sites_and_updates_of_two_adoptions_are_all_kept() -> None:
    a, b = adoption("A"), adoption("B")
    rows = [
        fresh_row(1, report("C")),
        fresh_row(2, report("D")),
        fresh_row(3, report("A")),
        fresh_row(4, report("B")),
    ]
    plan(rows, rows, Registry([a, b], [], PARTNER), known={"A", "B", "C", "D"})
    assert [r.errors for r in rows] == [[], [], [], []]
    assert [r.target for r in rows] == [None, None, a, b]


def test_a_row_that_cannot_be_matched_does_not_stop_the_rows_after_it() -> None:
    mine = adoption("A", external_id="X1")
    rows = [
        fresh_row(1, report("NOPE")),  # unknown site
        fresh_row(2, report("B", external_id="X1")),  # would move A's adoption: refused
        fresh_row(3, report("A")),
    ]
    plan(rows, rows, Registry([mine], [], PARTNER), known={"A", "B"})
    assert rows[1].errors and rows[2].errors == []
    assert rows[2].target == mine


def test_a_bad_source_does_not_stop_the_next_source_and_a_link_keeps_its_date() -> None:
    rows = [placed(1, report("A", days(5))), placed(2, report("B", days(1)))]
    learner_report = Report(
        innovation=INNOVATION.slug,
        site_code="C",
        stage="implementing",
        started_on=days(3),
        learned_from=[
            LearnedFrom(site_code="A", channel="peer_visit"),  # starts after C
            LearnedFrom(site_code="B", channel="conference", on=days(2)),
        ],
    )
    learner = placed(3, learner_report)
    check_lineage([*rows, learner], Registry([], [], PARTNER))
    assert [e.field for e in learner.errors] == ["learnedFrom[0].siteCode"]
    assert [(lk.index, lk.source, lk.channel, lk.on) for lk in learner.links] == [
        (1, rows[1].adoption_id, "conference", days(2))
    ]


def test_moving_an_adoption_without_links_is_allowed_and_its_rejection_breaks_nothing() -> None:
    lonely = adoption("A", DAY)
    r = placed(1, report("A", days(-30)), target=lonely)
    check_lineage([r], Registry([lonely], [], PARTNER))
    assert r.errors == []
    refused = placed(1, report("A", days(-30), "NOWHERE"), target=lonely)
    work = check_lineage([refused], Registry([lonely], [], PARTNER))
    assert [e.field for e in refused.errors] == ["learnedFrom[0].siteCode"]
    assert (work.layers, work.rows_propagated, work.links_examined) == (1, 1, 0)


def test_moving_a_source_after_a_learner_in_another_innovation_is_refused() -> None:
    """The learner is a derived innovation's adoption (not among this batch's adoptions): its
    start comes with the link."""
    source = adoption("A", DAY)
    outside = uuid.uuid4()
    foreign = ExistingLink(uuid.uuid4(), outside, source.id, "peer_visit", None, days(10), DAY)
    r = placed(1, report("A", days(11)), target=source)
    check_lineage([r], Registry([source], [foreign], PARTNER))
    assert [e.detail for e in r.errors] == [
        f"moving the start to {days(11)} would put it after the adoption at adoption {outside} "
        f"that learned from it ({days(10)})"
    ]


def test_propagation_through_moved_links_looks_at_each_link_once_per_layer() -> None:
    source, learner = adoption("A", DAY), adoption("B", days(10))
    reg = Registry([source, learner], [link(learner, source)], PARTNER)
    rows = [
        placed(1, report("A", days(-5), "NOWHERE"), target=source),
        placed(2, report("B", days(-4)), target=learner),
    ]
    work = check_lineage(rows, reg)
    assert [e.field for e in rows[1].errors] == ["startedOn"]
    # layer 1 (A) looks at A's one link and breaks B; layer 2 (B) looks at it again, finds A rejected
    assert (work.layers, work.rows_propagated, work.links_examined) == (2, 2, 2)
