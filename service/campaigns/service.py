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
from typing import Any

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.campaigns import queries
from service.campaigns.schemas import (
    Breakthrough,
    BreakthroughCreate,
    Campaign,
    CampaignCreate,
    CampaignUpdate,
    Commitment,
    CommitmentIn,
    Impediment,
    ImpedimentCreate,
    ImpedimentUpdate,
    Milestone,
)
from service.db import Actor, write_transaction
from service.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from service.types import if_match_allows, if_match_versions

MAX_SPAN_DAYS = 3653  # ten years: keeps a weekly series under 530 points
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInputError("; ".join(f"{e.field}: {e.detail}" for e in errors), errors=errors)


def map_db_error(exc: asyncpg.PostgresError) -> Exception:
    """Constraint violations the checks above should have caught first (races, other paths)."""
    constraint = getattr(exc, "constraint_name", None)
    if constraint == "campaigns_closed_read_only":
        return ConflictError("the campaign is closed, and read-only")
    if constraint == "commitments_campaign_site_key":
        return ConflictError("that site committed to this campaign at the same moment; GET it and retry")
    if constraint == "campaigns_measure_code_fkey":
        return InvalidInputError("no measure has that code", field="aim.measureCode")
    if constraint == "campaign_innovations_innovation_id_fkey":
        return InvalidInputError("an innovation in the list does not exist", field="innovationIds")
    if constraint in ("campaigns_due_inside", "campaigns_dates_order"):
        return InvalidInputError("aim.dueOn must lie between startsOn and endsOn", field="aim.dueOn")
    if constraint == "campaigns_target_above_baseline":
        return InvalidInputError("aim.target must be above aim.baseline", field="aim.target")
    if constraint == "commitments_agreed_before_due":
        return InvalidInputError("agreedOn must be on or before dueOn", field="agreedOn")
    if constraint and constraint.startswith("impediments_"):
        return InvalidInputError(f"the impediment's dates or status do not fit ({constraint})", field="status")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return InvalidInputError(f"a referenced record does not exist ({constraint})")
    return exc


# --- shared checks ---------------------------------------------------------------------------


def check_milestones(
    milestones: list[Milestone],
    *,
    after: dt.date,
    before: dt.date,
    target: float,
    floor: float,
    prefix: str,
    what: str,
) -> list[FieldError]:
    """Milestones lie strictly between ``after`` and ``before``, in date order, one per date,
    with targets above ``floor``, never falling, and at most ``target``."""
    errors: list[FieldError] = []
    previous: Milestone | None = None
    for i, m in enumerate(milestones):
        at = f"{prefix}[{i}]"
        if not after < m.on < before:
            errors.append(
                FieldError(
                    field=f"{at}.on",
                    detail=f"{m.on} is outside {what}: a milestone falls after {after} and before {before}",
                )
            )
        if previous is not None and m.on <= previous.on:
            errors.append(
                FieldError(field=f"{at}.on", detail=f"{m.on} is not after the previous milestone ({previous.on})")
            )
        if m.target > target:
            errors.append(FieldError(field=f"{at}.target", detail=f"{m.target:g} is above the target ({target:g})"))
        if m.target <= floor:
            errors.append(FieldError(field=f"{at}.target", detail=f"{m.target:g} must be above {floor:g}"))
        if previous is not None and m.target < previous.target:
            errors.append(
                FieldError(
                    field=f"{at}.target",
                    detail=f"{m.target:g} is below the previous milestone ({previous.target:g}); the value is cumulative",
                )
            )
        previous = m
    return errors


def _milestones_json(milestones: list[Milestone]) -> list[dict[str, Any]]:
    return [{"on": m.on.isoformat(), "target": m.target} for m in milestones]


def _is_lead_or_admin(principal: Principal, meta: dict[str, Any]) -> bool:
    return principal.is_admin or meta["lead_partner_id"] == principal.partner_id


def check_lead_change(principal: Principal, current: uuid.UUID, proposed: uuid.UUID) -> None:
    """The lead decides who apportions the aim, so only an admin names or changes it."""
    if proposed != current and not principal.is_admin:
        raise ForbiddenError("only an administrator may change a campaign's lead partner; leave leadPartner out")


def _require_open(meta: dict[str, Any]) -> None:
    if meta["status"] == "closed":
        raise ConflictError(
            f"campaign {meta['id']} is closed, and read-only; an administrator may reopen it "
            '(PATCH {"status": "active"})'
        )


async def _meta(conn: asyncpg.Connection, campaign_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any]:
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
    lead = await _lead_partner(conn, principal, data.lead_partner)
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
    _raise_if(await _check_shape(conn, shape, {"innovation_ids", "aim"}, None))
    values = {
        "name": data.name,
        "description": data.description,
        "kind": data.kind,
        "lead_partner_id": lead,
        "innovation_ids": data.innovation_ids,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "measure_code": data.aim.measure_code,
        "baseline": data.aim.baseline,
        "target": data.aim.target,
        "due_on": data.aim.due_on,
        "milestones": _milestones_json(data.milestones),
        "status": data.status,
        "created_by_partner_id": principal.partner_id,
    }
    try:
        async with write_transaction(conn, actor):
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
    changes = {k: getattr(data, k) for k in data.__struct_fields__ if getattr(data, k) is not msgspec.UNSET}
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            meta = await _meta(conn, campaign_id, for_update=True)
            if not _is_lead_or_admin(principal, meta):
                raise ForbiddenError(
                    f"partner '{principal.partner_name}' does not lead this campaign; only its lead partner or an "
                    "administrator may change it"
                )
            if meta["status"] == "closed":
                reopening = set(changes) == {"status"} and changes["status"] != "closed"
                if not (reopening and principal.is_admin):
                    _require_open(meta)
            if not if_match_allows(expected, meta["version"]):
                raise PreconditionFailedError(
                    f'the campaign has changed since you read it (ETag "{meta["version"]}"); GET it again and retry'
                )
            if "lead_partner" in changes:
                changes["lead_partner_id"] = await _lead_partner(conn, principal, changes.pop("lead_partner"))
                check_lead_change(principal, meta["lead_partner_id"], changes["lead_partner_id"])
            aim = changes.get("aim")
            shape = _Shape(
                innovation_ids=changes.get("innovation_ids", list(meta["innovation_ids"])),
                starts_on=changes.get("starts_on", meta["starts_on"]),
                ends_on=changes.get("ends_on", meta["ends_on"]),
                measure_code=aim.measure_code if aim else meta["measure_code"],
                baseline=aim.baseline if aim else meta["baseline"],
                target=aim.target if aim else meta["target"],
                due_on=aim.due_on if aim else meta["due_on"],
                milestones=changes["milestones"]
                if "milestones" in changes
                else msgspec.convert(meta["milestones"], list[Milestone], strict=False),
            )
            _raise_if(await _check_shape(conn, shape, set(changes), campaign_id))
            if "milestones" in changes:
                changes["milestones"] = _milestones_json(changes["milestones"])
            ok = await queries.update_campaign(conn, campaign_id, changes, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if not ok:  # pragma: no cover - the row is locked, so the version cannot move under us
        raise PreconditionFailedError("the campaign has changed since you read it; GET it again and retry")
    found = await queries.get_campaign(conn, campaign_id)
    assert found is not None
    return found


# --- commitments -----------------------------------------------------------------------------


async def put_commitment(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    campaign_id: uuid.UUID,
    site_code: str,
    data: CommitmentIn,
    if_match: str | None,
) -> tuple[Commitment, int, bool]:
    """Create or replace a site's commitment; returns it, its version and whether it is new."""
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            meta = await _meta(conn, campaign_id)
            await require_site_writer(conn, principal, site_code, lead_partner_id=meta["lead_partner_id"])
            _require_open(meta)
            await queries.lock_commitment(conn, campaign_id, site_code)
            current = await queries.get_commitment(conn, campaign_id, site_code)
            if if_match is not None and current is None:
                raise PreconditionFailedError(f"{site_code} has no commitment to this campaign yet; leave If-Match out")
            if current is not None and not if_match_allows(expected, current[1]):
                raise PreconditionFailedError(
                    f'the commitment has changed since you read it (ETag "{current[1]}"); GET it again and retry'
                )
            agreed_on = data.agreed_on or (current[0].agreed_on if current else dt.date.today())
            errors: list[FieldError] = []
            starts_on, ends_on = meta["starts_on"], meta["ends_on"]
            if not starts_on <= data.due_on <= ends_on:
                errors.append(
                    FieldError(
                        field="dueOn", detail=f"{data.due_on} is outside the campaign ({starts_on} to {ends_on})"
                    )
                )
            if agreed_on > data.due_on:
                errors.append(
                    FieldError(
                        field="agreedOn",
                        detail=f"{agreed_on} is after dueOn ({data.due_on})"
                        + ("" if data.agreed_on else "; agreedOn defaults to today, so give it"),
                    )
                )
            if agreed_on > ends_on:
                errors.append(
                    FieldError(field="agreedOn", detail=f"{agreed_on} is after the campaign ends ({ends_on})")
                )
            errors += check_milestones(
                data.milestones,
                after=max(agreed_on, starts_on),
                before=data.due_on,
                target=data.target,
                floor=0.0,
                prefix="milestones",
                what="the commitment (from its agreement, inside the campaign, to its due date)",
            )
            _raise_if(errors)
            values = {
                "target": data.target,
                "due_on": data.due_on,
                "milestones": _milestones_json(data.milestones),
                "agreed_on": agreed_on,
                "partner_id": principal.partner_id,
            }
            inserted = await queries.upsert_commitment(conn, campaign_id, site_code, values, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if inserted is None:  # pragma: no cover - the row is locked, so the version cannot move under us
        raise PreconditionFailedError("the commitment has changed since you read it; GET it again and retry")
    found = await queries.get_commitment(conn, campaign_id, site_code)
    assert found is not None
    return found[0], found[1], bool(inserted)


# --- impediments -----------------------------------------------------------------------------


async def _require_committed(conn: asyncpg.Connection, campaign_id: uuid.UUID, site_code: str) -> None:
    if await queries.covering_commitment(conn, campaign_id, site_code) is None:
        raise InvalidInputError(
            f"{site_code} has not committed to this campaign, nor has its trust, ICB or region; "
            f"a site joins by committing (PUT /v1/campaigns/{campaign_id}/commitments/{site_code})",
            field="siteCode",
        )


async def create_impediment(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, campaign_id: uuid.UUID, data: ImpedimentCreate
) -> tuple[Impediment, int]:
    try:
        async with write_transaction(conn, actor):
            meta = await _meta(conn, campaign_id)
            await require_site_writer(
                conn, principal, data.site_code, lead_partner_id=meta["lead_partner_id"], field="siteCode"
            )
            _require_open(meta)
            await _require_committed(conn, campaign_id, data.site_code)
            raised_on = data.raised_on or dt.date.today()
            if raised_on > dt.date.today():
                raise InvalidInputError(f"raisedOn ({raised_on}) is in the future", field="raisedOn")
            impediment_id = await queries.insert_impediment(
                conn,
                {
                    "campaign_id": campaign_id,
                    "site_code": data.site_code,
                    "description": data.description,
                    "category": data.category,
                    "raised_on": raised_on,
                    "partner_id": principal.partner_id,
                },
            )
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    found = await queries.get_impediment(conn, impediment_id)
    assert found is not None
    return found


def _impediment_dates(current: dict[str, Any], changes: dict[str, Any]) -> list[FieldError]:
    """Date the status moves, clear dates a reopening undoes, and check the order of dates."""
    today = dt.date.today()
    status = changes.get("status", current["status"])
    if "status" in changes and changes["status"] != current["status"]:
        if status == "support_offered" and "support_offered_on" not in changes:
            changes["support_offered_on"] = current["support_offered_on"] or today
        if status == "resolved" and "resolved_on" not in changes:
            changes["resolved_on"] = today
        if status != "resolved":
            changes.setdefault("resolved_on", None)
    errors: list[FieldError] = []
    resolved_on = changes.get("resolved_on", current["resolved_on"])
    offered_on = changes.get("support_offered_on", current["support_offered_on"])
    if status == "resolved" and resolved_on is None:
        errors.append(FieldError(field="resolvedOn", detail="a resolved impediment needs resolvedOn"))
    if status != "resolved" and resolved_on is not None:
        errors.append(
            FieldError(field="resolvedOn", detail=f"only a resolved impediment has resolvedOn (status is {status})")
        )
    for field, value in (("supportOfferedOn", offered_on), ("resolvedOn", resolved_on)):
        if value is not None and value < current["raised_on"]:
            errors.append(
                FieldError(field=field, detail=f"{value} is before the impediment was raised ({current['raised_on']})")
            )
        if value is not None and value > today:
            errors.append(FieldError(field=field, detail=f"{value} is in the future"))
    return errors


async def update_impediment(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    impediment_id: uuid.UUID,
    data: ImpedimentUpdate,
    if_match: str | None,
) -> tuple[Impediment, int]:
    changes = {k: getattr(data, k) for k in data.__struct_fields__ if getattr(data, k) is not msgspec.UNSET}
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            current = await queries.impediment_meta(conn, impediment_id)
            if current is None:
                raise NotFoundError(f"no impediment has id {impediment_id}")
            meta = await _meta(conn, current["campaign_id"])
            await require_site_writer(conn, principal, current["site_code"], lead_partner_id=meta["lead_partner_id"])
            _require_open(meta)
            if not if_match_allows(expected, current["version"]):
                raise PreconditionFailedError(
                    f'the impediment has changed since you read it (ETag "{current["version"]}"); GET it again and retry'
                )
            _raise_if(_impediment_dates(current, changes))
            ok = await queries.update_impediment(conn, impediment_id, changes, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if not ok:
        raise PreconditionFailedError("the impediment has changed since you read it; GET it again and retry")
    found = await queries.get_impediment(conn, impediment_id)
    assert found is not None
    return found


# --- breakthroughs ---------------------------------------------------------------------------


async def create_breakthrough(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, campaign_id: uuid.UUID, data: BreakthroughCreate
) -> tuple[Breakthrough, int]:
    try:
        async with write_transaction(conn, actor):
            meta = await _meta(conn, campaign_id)
            await require_site_writer(
                conn, principal, data.site_code, lead_partner_id=meta["lead_partner_id"], field="siteCode"
            )
            _require_open(meta)
            await _require_committed(conn, campaign_id, data.site_code)
            errors: list[FieldError] = []
            adoption_id = data.adoption_id
            if data.adaptation_id is not None:
                adaptation = await queries.adaptation_at(conn, data.adaptation_id, data.site_code)
                if adaptation is None:
                    errors.append(FieldError(field="adaptationId", detail=f"no adaptation has id {data.adaptation_id}"))
                elif not adaptation["under_site"]:
                    errors.append(
                        FieldError(
                            field="adaptationId",
                            detail=f"that adaptation was made at {adaptation['site_code']}, not at {data.site_code}",
                        )
                    )
                elif adoption_id is not None and adoption_id != adaptation["adoption_id"]:
                    errors.append(
                        FieldError(
                            field="adoptionId",
                            detail=f"the adaptation belongs to adoption {adaptation['adoption_id']}, not this one",
                        )
                    )
                elif adoption_id is None:
                    adoption_id = adaptation["adoption_id"]
            if data.adoption_id is not None:
                adoption = await queries.adoption_at(conn, data.adoption_id, data.site_code)
                if adoption is None:
                    errors.append(FieldError(field="adoptionId", detail=f"no adoption has id {data.adoption_id}"))
                elif not adoption["under_site"]:
                    errors.append(
                        FieldError(
                            field="adoptionId",
                            detail=f"that adoption is at {adoption['site_code']}, not at {data.site_code}",
                        )
                    )
            celebrated_on = data.celebrated_on or dt.date.today()
            if celebrated_on < meta["starts_on"]:
                errors.append(
                    FieldError(
                        field="celebratedOn",
                        detail=f"{celebrated_on} is before the campaign started ({meta['starts_on']})",
                    )
                )
            _raise_if(errors)
            breakthrough_id = await queries.insert_breakthrough(
                conn,
                {
                    "campaign_id": campaign_id,
                    "site_code": data.site_code,
                    "title": data.title,
                    "story": data.story,
                    "adaptation_id": data.adaptation_id,
                    "adoption_id": adoption_id,
                    "celebrated_on": celebrated_on,
                    "partner_id": principal.partner_id,
                },
            )
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    found = await queries.get_breakthrough(conn, breakthrough_id)
    assert found is not None
    return found
