"""Recording NASSS complexity assessments, and the innovation's complexity summary.

An assessment's phase is where the adoption stood when it was recorded: exploring, planning or
piloting is ``adoption``; implementing or sustaining is ``sustainment``; discontinued is
``abandonment``.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.complexity import queries
from service.complexity.schemas import (
    DOMAIN_COLUMNS,
    Assessment,
    AssessmentCreate,
    ComplexitySummary,
    LevelCounts,
    Phase,
    PhaseSummary,
)
from service.db import Actor, write_transaction
from service.errors import FieldError, InvalidInputError, NotFoundError
from service.innovations.queries import exists as innovation_exists
from service.reviews.queries import adoption_facts

PHASE_OF_STAGE: dict[str, Phase] = {
    "exploring": "adoption",
    "planning": "adoption",
    "piloting": "adoption",
    "implementing": "sustainment",
    "sustaining": "sustainment",
    "discontinued": "abandonment",
}
PHASES: tuple[Phase, ...] = ("adoption", "sustainment", "abandonment")


async def create(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adoption_id: uuid.UUID, data: AssessmentCreate
) -> tuple[Assessment, int]:
    async with write_transaction(conn, actor):
        facts = await adoption_facts(conn, adoption_id)  # the adoption row locked
        if facts is None:
            raise NotFoundError(f"no adoption has id {adoption_id}")
        await require_site_writer(conn, principal, facts.site_code)
        errors: list[FieldError] = []
        if data.assessed_on < facts.started_on:
            errors.append(
                FieldError(
                    field="assessedOn",
                    detail=f"an assessment cannot be dated before the adoption started ({facts.started_on})",
                )
            )
        if data.assessed_on > dt.date.today():
            errors.append(FieldError(field="assessedOn", detail="assessedOn cannot be in the future"))
        if errors:
            raise InvalidInputError("; ".join(f"{e.field}: {e.detail}" for e in errors), errors=errors)
        new_id = await queries.insert(conn, adoption_id, PHASE_OF_STAGE[facts.stage], data, principal.partner_id)
    found = await queries.get(conn, new_id)
    assert found is not None
    return found


async def summary(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> ComplexitySummary:
    if not await innovation_exists(conn, innovation_id):
        raise NotFoundError(f"no innovation has id {innovation_id}")
    rows, counts = await queries.summary(conn, innovation_id)
    phases: list[PhaseSummary] = []
    for phase in PHASES:
        tally = {wire: {"simple": 0, "complicated": 0, "complex": 0} for wire in DOMAIN_COLUMNS}
        for r in rows:
            if r.phase == phase:
                tally[r.domain][r.level] = r.adoptions
        phases.append(
            PhaseSummary(
                phase=phase,
                adoptions=counts.get(phase, 0),
                domains={d: LevelCounts(**levels) for d, levels in tally.items()},
            )
        )
    return ComplexitySummary(innovation_id=innovation_id, phases=phases)
