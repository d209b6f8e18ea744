"""Writing adoptions and learned-from links: the lineage rules are checked here first, so a
client hears exactly which field is wrong, and enforced again by database triggers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from service.adoptions import queries
from service.adoptions.queries import AdoptionFacts
from service.adoptions.schemas import Adoption, AdoptionCreate, AdoptionUpdate, ReplacedByIn, SourceIn
from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.constraints import DISCONTINUED_NEEDS_REASON, refusal_for
from service.db import Actor, write_transaction
from service.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    stale,
)
from service.innovations.queries import exists as innovation_exists
from service.types import changes_of, fields_of, if_match_versions


def map_db_error(exc: asyncpg.PostgresError, field: str = "sources") -> Exception:
    """A constraint violation as its problem (service.constraints); ``field`` names the sources."""
    return refusal_for(exc, field) or exc


async def check_sources(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    learner_id: uuid.UUID | None,
    learner_started_on: dt.date,
    sources: list[SourceIn],
    prefix: str = "sources",
) -> list[FieldError]:
    """Every reason the proposed sources break the lineage rules, as field errors."""
    errors: list[FieldError] = []
    if not sources:
        return errors
    ids = [s.adoption_id for s in sources]
    meta = await queries.sources_meta(conn, ids, innovation_id)
    today = dt.date.today()
    for i, s in enumerate(sources):
        at = f"{prefix}[{i}]"
        found = meta.get(s.adoption_id)
        if ids.count(s.adoption_id) > 1:
            errors.append(FieldError(field=f"{at}.adoptionId", detail="the same source is listed twice"))
        if learner_id is not None and s.adoption_id == learner_id:
            errors.append(FieldError(field=f"{at}.adoptionId", detail="an adoption cannot learn from itself"))
            continue
        if found is None:
            errors.append(FieldError(field=f"{at}.adoptionId", detail=f"no adoption has id {s.adoption_id}"))
            continue
        if not found.in_family:
            errors.append(
                FieldError(
                    field=f"{at}.adoptionId",
                    detail="the source is an adoption of another innovation (not this one or one it derives from)",
                )
            )
        if found.started_on > learner_started_on:
            errors.append(
                FieldError(
                    field=f"{at}.adoptionId",
                    detail=f"the source started on {found.started_on}, after this adoption ({learner_started_on})",
                )
            )
        if s.on is not None and s.on > today:
            errors.append(FieldError(field=f"{at}.on", detail=f"{s.on} is in the future"))
    return errors


def check_external_id_writer(principal: Principal, creator: uuid.UUID | None, changes: dict[str, Any]) -> None:
    """``externalId`` is the creating partner's own reference: only it (or an admin) sets it."""
    if "external_id" in changes and not principal.is_admin and creator != principal.partner_id:
        raise ForbiddenError(
            "only the partner that recorded this adoption, or an administrator, may set its externalId"
        )


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInputError("; ".join(f"{e.field}: {e.detail}" for e in errors), errors=errors)


def _create_errors(data: AdoptionCreate) -> list[FieldError]:
    errors: list[FieldError] = []
    if data.started_on > dt.date.today():
        errors.append(FieldError(field="startedOn", detail="startedOn cannot be in the future"))
    if data.stage == "discontinued" and not data.discontinued_reason:
        errors.append(FieldError(field="discontinuedReason", detail=DISCONTINUED_NEEDS_REASON))
    return errors


async def create_adoption(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, innovation_id: uuid.UUID, data: AdoptionCreate
) -> tuple[Adoption, int]:
    values = fields_of(data)
    values["innovation_id"] = innovation_id
    values["partner_id"] = principal.partner_id
    try:
        async with write_transaction(conn, actor):
            if not await innovation_exists(conn, innovation_id):
                raise NotFoundError(f"no innovation has id {innovation_id}")
            await require_site_writer(conn, principal, data.site_code, field="siteCode")
            errors = _create_errors(data)
            errors += await check_sources(conn, innovation_id, None, data.started_on, data.sources)
            _raise_if(errors)
            if data.stage != "discontinued":
                existing = await queries.open_adoption_at(conn, innovation_id, data.site_code)
                if existing is not None:
                    raise ConflictError(
                        f"site {data.site_code} already has an open adoption of this innovation ({existing}); "
                        "update it instead",
                        extra={"existingAdoptionId": str(existing)},
                    )
            adoption_id = await queries.insert_adoption(conn, values)
            await queries.insert_sources(conn, adoption_id, [(s.adoption_id, s.channel, s.on) for s in data.sources])
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    found = await queries.get_adoption(conn, adoption_id)
    assert found is not None
    return found


async def _writable(conn: asyncpg.Connection, principal: Principal, adoption_id: uuid.UUID) -> AdoptionFacts:
    """Inside the write transaction: lock the adoption and its site, and check the caller covers it."""
    meta = await queries.adoption_meta(conn, adoption_id)
    if meta is None:
        raise NotFoundError(f"no adoption has id {adoption_id}")
    await require_site_writer(conn, principal, meta.site_code)
    return meta


DEADOPTION_FIELDS = ("discontinued_criterion", "discontinued_outcome", "replaced_by")
_DEADOPTION_WIRE = {
    "discontinued_criterion": "discontinuedCriterion",
    "discontinued_outcome": "discontinuedOutcome",
    "replaced_by": "replacedBy",
}


def _update_rules(meta: AdoptionFacts, changes: dict[str, Any]) -> None:
    stage = changes.get("stage", meta.stage)
    if (
        stage == "discontinued"
        and meta.stage != "discontinued"
        and not changes.get("discontinued_reason")
        and not changes.get("discontinued_criterion")
    ):
        raise InvalidInputError(
            f"{DISCONTINUED_NEEDS_REASON}: a discontinuedReason (free text) or a discontinuedCriterion",
            field="discontinuedReason",
        )
    if stage != "discontinued":
        for field in DEADOPTION_FIELDS:
            if changes.get(field) is not None:
                raise InvalidInputError(
                    f"{_DEADOPTION_WIRE[field]} is only for a discontinued adoption (stage 'discontinued')",
                    field=_DEADOPTION_WIRE[field],
                )
    if stage != "discontinued" and "stage" in changes:
        changes.setdefault("discontinued_reason", None)
        for field in DEADOPTION_FIELDS:
            changes.setdefault(field, None)
    if "started_on" in changes and changes["started_on"] > dt.date.today():
        raise InvalidInputError("startedOn cannot be in the future", field="startedOn")


async def update_adoption(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    adoption_id: uuid.UUID,
    data: AdoptionUpdate,
    if_match: str | None,
) -> tuple[Adoption, int]:
    changes = changes_of(data)
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            meta = await _writable(conn, principal, adoption_id)
            check_external_id_writer(principal, meta.partner_id, changes)
            _update_rules(meta, changes)
            await _replacement(conn, meta, changes)
            ok = await queries.update_adoption(conn, adoption_id, changes, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc, field="startedOn") from exc
    if not ok:
        raise stale("the adoption", meta.version)
    found = await queries.get_adoption(conn, adoption_id)
    assert found is not None
    return found


async def _replacement(conn: asyncpg.Connection, meta: AdoptionFacts, changes: dict[str, Any]) -> None:
    """Check ``replacedBy`` against the rules and turn it into the two columns (inside the write).

    The replacing innovation must be another innovation, adopted at the same site; the adoption
    named (or, when none is named, the site's adoption of it: an open one first, else the latest)
    is recorded with it. ``replacedBy`` needs the outcome 'replaced'.
    """
    if "replaced_by" not in changes:
        return
    replaced_by: ReplacedByIn | None = changes.pop("replaced_by")
    if replaced_by is None:
        changes["replaced_by_innovation_id"] = None
        changes["replaced_by_adoption_id"] = None
        return
    outcome = changes.get("discontinued_outcome", meta.discontinued_outcome)
    if outcome != "replaced":
        raise InvalidInputError(
            "replacedBy needs discontinuedOutcome 'replaced' (send both)", field="discontinuedOutcome"
        )
    if replaced_by.innovation_id == meta.innovation_id:
        raise InvalidInputError(
            "replacedBy names this adoption's own innovation; an innovation cannot be replaced by itself",
            field="replacedBy.innovationId",
        )
    if replaced_by.adoption_id is not None:
        named = await queries.adoption_at(conn, replaced_by.adoption_id)
        if named is None or named.innovation_id != replaced_by.innovation_id or named.site_code != meta.site_code:
            raise InvalidInputError(
                f"replacedBy.adoptionId must be an adoption of innovation {replaced_by.innovation_id} "
                f"at site {meta.site_code}",
                field="replacedBy.adoptionId",
            )
        adoption_id = named.id
    else:
        if not await innovation_exists(conn, replaced_by.innovation_id):
            raise InvalidInputError(
                f"no innovation has id {replaced_by.innovation_id}", field="replacedBy.innovationId"
            )
        found = await queries.site_adoptions_of(conn, replaced_by.innovation_id, meta.site_code)
        if not found:
            raise InvalidInputError(
                f"site {meta.site_code} never adopted innovation {replaced_by.innovation_id}; "
                "record that adoption first",
                field="replacedBy.innovationId",
            )
        adoption_id = found[0].id
    changes["replaced_by_innovation_id"] = replaced_by.innovation_id
    changes["replaced_by_adoption_id"] = adoption_id


async def add_source(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adoption_id: uuid.UUID, data: SourceIn
) -> tuple[Adoption, int]:
    try:
        async with write_transaction(conn, actor):
            meta = await _writable(conn, principal, adoption_id)
            errors = await check_sources(
                conn, meta.innovation_id, adoption_id, meta.started_on, [data], prefix="source"
            )
            _raise_if([FieldError(field=e.field.replace("source[0].", ""), detail=e.detail) for e in errors])
            await queries.insert_sources(conn, adoption_id, [(data.adoption_id, data.channel, data.on)])
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc, field="adoptionId") from exc
    found = await queries.get_adoption(conn, adoption_id)
    assert found is not None
    return found


async def remove_source(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adoption_id: uuid.UUID, source_id: uuid.UUID
) -> None:
    async with write_transaction(conn, actor):
        await _writable(conn, principal, adoption_id)
        removed = await queries.delete_source(conn, adoption_id, source_id)
    if not removed:
        raise NotFoundError(f"adoption {adoption_id} does not learn from {source_id}")


async def require_adoption(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> None:
    """404 unless the adoption exists (for listings under it that came back empty)."""
    if not await queries.exists(conn, adoption_id):
        raise NotFoundError(f"no adoption has id {adoption_id}")
