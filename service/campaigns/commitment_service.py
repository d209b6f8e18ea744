"""Writing a campaign's commitments, and its committed sites' impediments and breakthroughs.

The write shape and who may write: see :mod:`service.campaigns.service`.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.campaigns import commitment_queries as queries
from service.campaigns.queries import CampaignFacts, adaptation_at, adoption_at, covering_commitment
from service.campaigns.rules import check_milestones, impediment_dates, milestones_json, raise_if, require_open
from service.campaigns.schemas import (
    Breakthrough,
    BreakthroughCreate,
    Commitment,
    CommitmentIn,
    Impediment,
    ImpedimentCreate,
    ImpedimentUpdate,
)
from service.campaigns.service import load_campaign, map_db_error
from service.db import Actor, write_transaction
from service.errors import FieldError, InvalidInputError, NotFoundError, PreconditionFailedError, stale
from service.types import changes_of, if_match_allows, if_match_versions


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
            meta = await load_campaign(conn, campaign_id)
            await require_site_writer(conn, principal, site_code, lead_partner_id=meta.lead_partner_id)
            require_open(meta)
            await queries.lock_commitment(conn, campaign_id, site_code)
            current = await queries.get_commitment(conn, campaign_id, site_code)
            if if_match is not None and current is None:
                raise PreconditionFailedError(f"{site_code} has no commitment to this campaign yet; leave If-Match out")
            if current is not None and not if_match_allows(expected, current[1]):
                raise stale("the commitment", current[1])
            agreed_on = data.agreed_on or (current[0].agreed_on if current else dt.date.today())
            errors: list[FieldError] = []
            starts_on, ends_on = meta.starts_on, meta.ends_on
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
            raise_if(errors)
            values = {
                "target": data.target,
                "due_on": data.due_on,
                "milestones": milestones_json(data.milestones),
                "agreed_on": agreed_on,
                "partner_id": principal.partner_id,
            }
            inserted = await queries.upsert_commitment(conn, campaign_id, site_code, values, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if inserted is None:  # pragma: no cover - the row is locked, so the version cannot move under us
        raise stale("the commitment")
    found = await queries.get_commitment(conn, campaign_id, site_code)
    assert found is not None
    return found[0], found[1], bool(inserted)


async def _committed_site(
    conn: asyncpg.Connection, principal: Principal, campaign_id: uuid.UUID, site_code: str
) -> CampaignFacts:
    """For a new impediment or breakthrough: the open campaign (locked FOR SHARE), the caller's
    right to write for the site, and the site's (or its trust's, ICB's, region's) commitment."""
    meta = await load_campaign(conn, campaign_id)
    await require_site_writer(conn, principal, site_code, lead_partner_id=meta.lead_partner_id, field="siteCode")
    require_open(meta)
    if await covering_commitment(conn, campaign_id, site_code) is None:
        raise InvalidInputError(
            f"{site_code} has not committed to this campaign, nor has its trust, ICB or region; "
            f"a site joins by committing (PUT /v1/campaigns/{campaign_id}/commitments/{site_code})",
            field="siteCode",
        )
    return meta


async def create_impediment(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, campaign_id: uuid.UUID, data: ImpedimentCreate
) -> tuple[Impediment, int]:
    try:
        async with write_transaction(conn, actor):
            await _committed_site(conn, principal, campaign_id, data.site_code)
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


async def update_impediment(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    impediment_id: uuid.UUID,
    data: ImpedimentUpdate,
    if_match: str | None,
) -> tuple[Impediment, int]:
    changes = changes_of(data)
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            current = await queries.impediment_meta(conn, impediment_id)
            if current is None:
                raise NotFoundError(f"no impediment has id {impediment_id}")
            meta = await load_campaign(conn, current.campaign_id)
            await require_site_writer(conn, principal, current.site_code, lead_partner_id=meta.lead_partner_id)
            require_open(meta)
            if not if_match_allows(expected, current.version):
                raise stale("the impediment", current.version)
            raise_if(impediment_dates(current, changes))
            ok = await queries.update_impediment(conn, impediment_id, changes, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if not ok:
        raise stale("the impediment")
    found = await queries.get_impediment(conn, impediment_id)
    assert found is not None
    return found


async def create_breakthrough(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, campaign_id: uuid.UUID, data: BreakthroughCreate
) -> tuple[Breakthrough, int]:
    try:
        async with write_transaction(conn, actor):
            meta = await _committed_site(conn, principal, campaign_id, data.site_code)
            errors: list[FieldError] = []
            adoption_id = data.adoption_id
            if data.adaptation_id is not None:
                adaptation = await adaptation_at(conn, data.adaptation_id, data.site_code)
                if adaptation is None:
                    errors.append(FieldError(field="adaptationId", detail=f"no adaptation has id {data.adaptation_id}"))
                elif not adaptation.under_site:
                    errors.append(
                        FieldError(
                            field="adaptationId",
                            detail=f"that adaptation was made at {adaptation.site_code}, not at {data.site_code}",
                        )
                    )
                elif adoption_id is not None and adoption_id != adaptation.adoption_id:
                    errors.append(
                        FieldError(
                            field="adoptionId",
                            detail=f"the adaptation belongs to adoption {adaptation.adoption_id}, not this one",
                        )
                    )
                elif adoption_id is None:
                    adoption_id = adaptation.adoption_id
            if data.adoption_id is not None:
                adoption = await adoption_at(conn, data.adoption_id, data.site_code)
                if adoption is None:
                    errors.append(FieldError(field="adoptionId", detail=f"no adoption has id {data.adoption_id}"))
                elif not adoption.under_site:
                    errors.append(
                        FieldError(
                            field="adoptionId",
                            detail=f"that adoption is at {adoption.site_code}, not at {data.site_code}",
                        )
                    )
            celebrated_on = data.celebrated_on or dt.date.today()
            if celebrated_on < meta.starts_on:
                errors.append(
                    FieldError(
                        field="celebratedOn",
                        detail=f"{celebrated_on} is before the campaign started ({meta.starts_on})",
                    )
                )
            raise_if(errors)
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
