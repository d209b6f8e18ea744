"""Writing innovations: fetch -> check -> act -> save, in one attributed transaction each."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from typing import Any

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.constraints import refusal_for
from service.db import Actor, write_transaction
from service.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    stale,
)
from service.innovations import queries
from service.innovations.queries import InnovationFacts
from service.innovations.schemas import Innovation, InnovationCreate, InnovationUpdate
from service.types import changes_of, fields_of, if_match_versions


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:100].strip("-")
    return slug or "innovation"


async def unique_slug(conn: asyncpg.Connection, title: str) -> str:
    base = slugify(title)
    taken = await queries.taken_slugs(conn, base)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_components(components: list[Any]) -> None:
    keys = [c.key for c in components]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise InvalidInputError(
            f"core component keys must be unique; repeated: {', '.join(duplicates)}", field="coreComponents"
        )


def map_db_error(exc: asyncpg.PostgresError) -> Exception:
    refusal = refusal_for(exc)
    if refusal is not None:
        return refusal
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        constraint = getattr(exc, "constraint_name", None)
        return InvalidInputError(f"a referenced record does not exist ({constraint})", field="body")
    return exc


async def _check_derivation(
    conn: asyncpg.Connection, derived_from_id: uuid.UUID | None, adoption_id: uuid.UUID | None
) -> None:
    if derived_from_id is not None and not await queries.exists(conn, derived_from_id):
        raise InvalidInputError(f"no innovation has id {derived_from_id}", field="derivedFromId")
    if adoption_id is not None:
        if derived_from_id is None:
            raise InvalidInputError("derivedFromAdoptionId needs derivedFromId", field="derivedFromAdoptionId")
        owner = await queries.adoption_innovation(conn, adoption_id)
        if owner != derived_from_id:
            raise InvalidInputError(
                "derivedFromAdoptionId must be an adoption of the innovation named in derivedFromId",
                field="derivedFromAdoptionId",
            )


async def create_innovation(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, data: InnovationCreate, *, is_demo: bool = False
) -> tuple[Innovation, int]:
    _check_components(data.core_components)
    if data.originated_on > dt.date.today():
        raise InvalidInputError("originatedOn cannot be in the future", field="originatedOn")
    await _check_derivation(conn, data.derived_from_id, data.derived_from_adoption_id)
    values = fields_of(data)
    values["core_components"] = msgspec.to_builtins(data.core_components)
    values["links"] = msgspec.to_builtins(data.links)
    values["contacts"] = msgspec.to_builtins(data.contacts)
    values["created_by_partner_id"] = principal.partner_id
    values["is_demo"] = is_demo
    try:
        async with write_transaction(conn, actor):
            await require_site_writer(conn, principal, data.origin_site_code, field="originSiteCode")
            if data.slug is None:
                await queries.lock_slug(conn, slugify(data.title))
            values["slug"] = data.slug or await unique_slug(conn, data.title)
            innovation, _version = await queries.insert_innovation(conn, values)
            await queries.insert_origin_adoption(
                conn, innovation.id, data.origin_site_code, data.origin_stage, data.originated_on, principal.partner_id
            )
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    # counts changed when the origin adoption was inserted
    found = await queries.get_innovation(conn, innovation.id)
    assert found is not None
    return found


async def _writable(
    conn: asyncpg.Connection, principal: Principal, innovation_id: uuid.UUID, candidate_parent: uuid.UUID | None = None
) -> InnovationFacts:
    meta = await queries.innovation_meta(conn, innovation_id, candidate_parent)
    if meta is None:
        raise NotFoundError(f"no innovation has id {innovation_id}")
    if not principal.is_admin and meta.created_by_partner_id != principal.partner_id:
        raise ForbiddenError("only the partner that registered this innovation, or an admin, may change it")
    return meta


async def update_innovation(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    innovation_id: uuid.UUID,
    data: InnovationUpdate,
    if_match: str | None,
) -> tuple[Innovation, int]:
    changes = changes_of(data)
    new_parent = changes.get("derived_from_id")
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            if new_parent is not None:
                await queries.lock_derivations(conn)
            await queries.lock_innovation(conn, innovation_id)
            meta = await _writable(conn, principal, innovation_id, new_parent)
            await _check_update(conn, innovation_id, changes, meta)
            updated = await queries.update_innovation(conn, innovation_id, changes, expected)
    except asyncpg.PostgresError as exc:
        raise map_db_error(exc) from exc
    if updated is None:
        raise stale("the innovation", meta.version)
    return updated


async def _check_update(
    conn: asyncpg.Connection, innovation_id: uuid.UUID, changes: dict[str, Any], meta: InnovationFacts
) -> None:
    """The rules a PATCH must pass, over facts fetched under the innovation's lock."""
    new_parent = changes.get("derived_from_id")
    if "core_components" in changes:
        _check_components(changes["core_components"])
        kept = {c.key for c in changes["core_components"]}
        dropped = sorted(meta.used_component_keys - kept)
        if dropped:
            raise ConflictError(
                f"core components {', '.join(dropped)} are named by adaptations and cannot be removed",
                errors=None,
            )
        changes["core_components"] = msgspec.to_builtins(changes["core_components"])
    for key in ("links", "contacts"):
        if key in changes:
            changes[key] = msgspec.to_builtins(changes[key])
    if "originated_on" in changes and changes["originated_on"] > dt.date.today():
        raise InvalidInputError("originatedOn cannot be in the future", field="originatedOn")
    if new_parent is not None and (new_parent == innovation_id or meta.parent_derives_from_this):
        raise ConflictError("that derivation would make the family tree a cycle")
    if "derived_from_id" in changes or "derived_from_adoption_id" in changes:
        await _check_derivation(
            conn, changes.get("derived_from_id", new_parent), changes.get("derived_from_adoption_id")
        )


async def retire_innovation(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, innovation_id: uuid.UUID, if_match: str | None
) -> tuple[Innovation, int]:
    """DELETE retires: status becomes ``retired``; nothing is erased."""
    return await update_innovation(conn, actor, principal, innovation_id, InnovationUpdate(status="retired"), if_match)


async def require_innovation(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> None:
    """404 unless the innovation exists (for listings under it that came back empty)."""
    if not await queries.exists(conn, innovation_id):
        raise NotFoundError(f"no innovation has id {innovation_id}")
