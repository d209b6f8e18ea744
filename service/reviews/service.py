"""Recording sustainment reviews, and the innovation's sustainment summary.

Writes follow the house order: open the write transaction, fetch and lock the adoption, check
the caller covers its site (``require_site_writer``, which locks the site row), apply the rules,
write.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.db import Actor, write_transaction
from service.errors import FieldError, InvalidInputError, NotFoundError
from service.innovations.queries import exists as innovation_exists
from service.reviews import queries
from service.reviews.queries import AdoptionFacts
from service.reviews.schemas import Review, ReviewCreate, SurvivalPoint, Sustainment
from service.reviews.survival import kaplan_meier

MILESTONES = (6, 12, 24)
# Months as days for the survival times: 6 -> 183, 12 -> 365, 24 -> 730 (365.25 / 12 a month).
DAYS_PER_MONTH = 365.25 / 12
METHOD = (
    "Kaplan-Meier product-limit estimate over the adoptions that reached implementing (or sustaining): "
    "time runs from the first such stage; an adoption stops being in use at its first review with "
    "stillInUse 'no' or its discontinuation (an event); adoptions still going are censored at today, "
    "so one not yet 6, 12 or 24 months old counts as followed that long and not as a failure. "
    "A month is 365.25/12 days."
)


def review_errors(facts: AdoptionFacts, data: ReviewCreate, today: dt.date) -> list[FieldError]:
    """Every rule the review breaks, each naming its field (levels outside 1-4 never get here)."""
    errors: list[FieldError] = []
    if data.reviewed_on < facts.started_on:
        errors.append(
            FieldError(
                field="reviewedOn",
                detail=f"a review cannot be dated before the adoption started ({facts.started_on})",
            )
        )
    if data.reviewed_on > today:
        errors.append(FieldError(field="reviewedOn", detail="reviewedOn cannot be in the future"))
    return errors


async def create_review(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adoption_id: uuid.UUID, data: ReviewCreate
) -> tuple[Review, int]:
    async with write_transaction(conn, actor):
        facts = await queries.adoption_facts(conn, adoption_id)
        if facts is None:
            raise NotFoundError(f"no adoption has id {adoption_id}")
        await require_site_writer(conn, principal, facts.site_code)
        errors = review_errors(facts, data, dt.date.today())
        if errors:
            raise InvalidInputError("; ".join(f"{e.field}: {e.detail}" for e in errors), errors=errors)
        review_id = await queries.insert_review(conn, adoption_id, data, principal.partner_id)
    found = await queries.get_review(conn, review_id)
    assert found is not None
    return found


def survival_points(rows: list[queries.SurvivalRow], today: dt.date) -> list[SurvivalPoint]:
    """Share still in use at 6, 12 and 24 months, from each adoption's start and end."""
    subjects: list[tuple[float, bool]] = []
    for row in rows:
        end = row.ended_on if row.ended_on is not None else today
        subjects.append((float((end - row.implementing_on).days), row.ended_on is not None))
    at = [m * DAYS_PER_MONTH for m in MILESTONES]
    return [
        SurvivalPoint(
            months=m,
            still_in_use=e.survival,
            at_risk=e.at_risk,
            events=e.events,
            censored=e.censored,
        )
        for m, e in zip(MILESTONES, kaplan_meier(subjects, at), strict=True)
    ]


async def sustainment(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> Sustainment:
    if not await innovation_exists(conn, innovation_id):
        raise NotFoundError(f"no innovation has id {innovation_id}")
    today = dt.date.today()
    rows = await queries.survival_rows(conn, innovation_id)
    replaced_by, replaced = await queries.replacements(conn, innovation_id)
    return Sustainment(
        innovation_id=innovation_id,
        as_of=today,
        adoptions=len(rows),
        points=survival_points(rows, today),
        replaced_by=replaced_by,
        replaced=replaced,
        method=METHOD,
    )
