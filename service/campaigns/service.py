"""Writing campaigns, commitments, impediments and breakthroughs.

Each write is fetch -> check -> act in one ``write_transaction``: the campaign row is read
``FOR SHARE`` (``FOR UPDATE`` when the campaign itself changes), so a campaign cannot be closed,
or its lead handed over, between the checks and the write. Every rule a client can break is
checked here first and reported field by field (nothing is written then); the database
enforces the structural ones again (constraint names mapped below), and refuses any write to
a closed campaign (``campaigns_closed_read_only``).

Who may write (the site rule is :func:`service.authz.require_site_writer`):
- a campaign: an admin creates one and names its lead (the caller's partner by default); the
  lead partner or an admin edits it; only an admin changes the lead;
- a commitment, an impediment, a breakthrough: a partner covering the site, the campaign's
  lead partner (for any site: apportioning the aim is the lead's job), or an admin. Each
  records the partner that wrote it, and impediments and breakthroughs show it.

A closed campaign is read-only: every write answers 409, except an admin's PATCH that only
reopens it (``{"status": "active"}`` or ``"planned"``).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.campaigns import queries
from service.campaigns.queries import CampaignFacts
from service.campaigns.rules import (
    EARLIEST,
    LATEST,
    MAX_SPAN_DAYS,
    check_lead_change,
    check_milestones,
    is_lead_or_admin,
    milestones_json,
    raise_if,
    require_open,
)
from service.campaigns.schemas import (
    Campaign,
    CampaignCreate,
    CampaignUpdate,
    Milestone,
)
from service.constraints import refusal_for
from service.db import Actor, write_transaction
from service.errors import (
    FieldError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    stale,
)
from service.types import changes_of, if_match_allows, if_match_versions


def map_db_error(exc: asyncpg.PostgresError) -> Exception:
    """Constraint violations the checks should have caught first (races, other paths)."""
    refusal = refusal_for(exc)
    if refusal is not None:
        return refusal
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        constraint = getattr(exc, "constraint_name", None)
        return InvalidInputError(f"a referenced record does not exist ({constraint})")
    return exc


# --- shared checks ---------------------------------------------------------------------------


async def load_campaign(conn: asyncpg.Connection, campaign_id: uuid.UUID, *, for_update: bool = False) -> CampaignFacts:
    """The campaign, locked FOR SHARE (FOR UPDATE when it changes itself); 404 when there is none."""
    meta = await queries.campaign_meta(conn, campaign_id, for_update=for_update)
    if meta is None:
        raise NotFoundError(f"no campaign has id {campaign_id}")
    return meta


# --- campaigns -------------------------------------------------------------------------------


class _Shape(msgspec.Struct, kw_only=True):
    """A campaign as it would be after a write, for the checks."""

    innovation_ids: list[uuid.UUID]
    starts_on: dt.date
    ends_on: dt.date
    measure_code: str
    baseline: float
    target: float
    due_on: dt.date
    milestones: list[Milestone]


async def _check_shape(
    conn: asyncpg.Connection, shape: _Shape, changed: set[str], campaign_id: uuid.UUID | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    if "innovation_ids" in changed:
        found = await queries.existing_innovations(conn, shape.innovation_ids)
        seen: set[uuid.UUID] = set()
        for i, innovation_id in enumerate(shape.innovation_ids):
            if innovation_id in seen:
                errors.append(FieldError(field=f"innovationIds[{i}]", detail="listed twice"))
            elif innovation_id not in found:
                errors.append(FieldError(field=f"innovationIds[{i}]", detail=f"no innovation has id {innovation_id}"))
            seen.add(innovation_id)
    for field, day in (("startsOn", shape.starts_on), ("endsOn", shape.ends_on)):
        if not EARLIEST <= day <= LATEST:
            errors.append(
                FieldError(field=field, detail=f"{day} is outside the years {EARLIEST.year} to {LATEST.year}")
            )
    if shape.ends_on < shape.starts_on:
        errors.append(
            FieldError(field="endsOn", detail=f"endsOn ({shape.ends_on}) is before startsOn ({shape.starts_on})")
        )
    elif (shape.ends_on - shape.starts_on).days > MAX_SPAN_DAYS:
        errors.append(FieldError(field="endsOn", detail="a campaign runs for at most ten years"))
    if not shape.starts_on <= shape.due_on <= shape.ends_on:
        errors.append(
            FieldError(
                field="aim.dueOn",
                detail=f"{shape.due_on} is outside the campaign ({shape.starts_on} to {shape.ends_on})",
            )
        )
    if shape.target <= shape.baseline:
        errors.append(
            FieldError(
                field="aim.target",
                detail=f"the target ({shape.target:g}) must be above the baseline ({shape.baseline:g})",
            )
        )
    if "aim" in changed and not await queries.measure_exists(conn, shape.measure_code):
        errors.append(FieldError(field="aim.measureCode", detail=f"no measure has code '{shape.measure_code}'"))
    errors += check_milestones(
        shape.milestones,
        after=shape.starts_on,
        before=shape.due_on,
        target=shape.target,
        floor=shape.baseline,
        prefix="milestones",
        what="the campaign's run to its due date",
    )
    if campaign_id is not None and changed & {"starts_on", "ends_on"}:
        for site, due in await queries.commitments_outside(conn, campaign_id, shape.starts_on, shape.ends_on):
            field = "startsOn" if due < shape.starts_on else "endsOn"
            errors.append(
                FieldError(
                    field=field,
                    detail=f"the commitment of {site} (due {due}, or one of its milestones) would fall outside "
                    f"{shape.starts_on} to {shape.ends_on}; change it first",
                )
            )
    return errors


async def _lead_partner(conn: asyncpg.Connection, principal: Principal, name: str | None) -> uuid.UUID:
    if name is None or name == principal.partner_name:
        return principal.partner_id
    partner_id = await queries.partner_id_by_name(conn, name)
    if partner_id is None:
        raise InvalidInputError(f"no partner is named '{name}'", field="leadPartner")
    return partner_id


async def create_campaign(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, data: CampaignCreate
) -> tuple[Campaign, int]:
    shape = _Shape(
        innovation_ids=data.innovation_ids,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        measure_code=data.aim.measure_code,
        baseline=data.aim.baseline,
        target=data.aim.target,
        due_on=data.aim.due_on,
        milestones=data.milestones,
    )
    values = {
        "name": data.name,
        "description": data.description,
        "kind": data.kind,
        "innovation_ids": data.innovation_ids,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "measure_code": data.aim.measure_code,
        "baseline": data.aim.baseline,
        "target": data.aim.target,
        "due_on": data.aim.due_on,
        "milestones": milestones_json(data.milestones),
        "status": data.status,
        "created_by_partner_id": principal.partner_id,
    }
    try:
        async with write_transaction(conn, actor):
            values["lead_partner_id"] = await _lead_partner(conn, principal, data.lead_partner)
            raise_if(await _check_shape(conn, shape, {"innovation_ids", "aim"}, None))
            campaign_id = await queries.insert_campaign(conn, values)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    found = await queries.get_campaign(conn, campaign_id)
    assert found is not None
    return found


async def update_campaign(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    campaign_id: uuid.UUID,
    data: CampaignUpdate,
    if_match: str | None,
) -> tuple[Campaign, int]:
    changes = changes_of(data)
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            meta = await load_campaign(conn, campaign_id, for_update=True)
            if not is_lead_or_admin(principal, meta):
                raise ForbiddenError(
                    f"partner '{principal.partner_name}' does not lead this campaign; only its lead partner or an "
                    "administrator may change it"
                )
            if meta.status == "closed":
                reopening = set(changes) == {"status"} and changes["status"] != "closed"
                if not (reopening and principal.is_admin):
                    require_open(meta)
            if not if_match_allows(expected, meta.version):
                raise stale("the campaign", meta.version)
            if "lead_partner" in changes:
                changes["lead_partner_id"] = await _lead_partner(conn, principal, changes.pop("lead_partner"))
                check_lead_change(principal, meta.lead_partner_id, changes["lead_partner_id"])
            aim = changes.get("aim")
            shape = _Shape(
                innovation_ids=changes.get("innovation_ids", list(meta.innovation_ids)),
                starts_on=changes.get("starts_on", meta.starts_on),
                ends_on=changes.get("ends_on", meta.ends_on),
                measure_code=aim.measure_code if aim else meta.measure_code,
                baseline=aim.baseline if aim else meta.baseline,
                target=aim.target if aim else meta.target,
                due_on=aim.due_on if aim else meta.due_on,
                milestones=changes.get("milestones", meta.milestones),
            )
            raise_if(await _check_shape(conn, shape, set(changes), campaign_id))
            if "milestones" in changes:
                changes["milestones"] = milestones_json(changes["milestones"])
            ok = await queries.update_campaign(conn, campaign_id, changes, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if not ok:  # pragma: no cover - the row is locked, so the version cannot move under us
        raise stale("the campaign")
    found = await queries.get_campaign(conn, campaign_id)
    assert found is not None
    return found


# --- commitments -----------------------------------------------------------------------------


# --- impediments -----------------------------------------------------------------------------


# --- breakthroughs ---------------------------------------------------------------------------
