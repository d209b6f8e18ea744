"""Writing adaptations: the adoption's partner (or an admin) records what the site changed."""

from __future__ import annotations

import uuid
from collections.abc import Set

import asyncpg

from service.adaptations import queries
from service.adaptations.queries import AdoptionContext
from service.adaptations.schemas import Adaptation, AdaptationCreate, AdaptationUpdate
from service.auth.schemas import Principal
from service.authz import require_site_writer
from service.db import Actor, write_transaction
from service.errors import InvalidInputError, NotFoundError, stale
from service.types import changes_of, fields_of, if_match_versions


def check_component_keys(keys: list[str], known: Set[str], field: str = "coreComponentKeys") -> None:
    unknown = [k for k in keys if k not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none defined"
        raise InvalidInputError(
            f"{', '.join(unknown)} {'is not a core component' if len(unknown) == 1 else 'are not core components'} "
            f"of this innovation (its components: {listed})",
            field=field,
        )


async def _context(conn: asyncpg.Connection, principal: Principal, adoption_id: uuid.UUID) -> AdoptionContext:
    """Inside the write transaction: the adoption, its components, and the caller's right to its site."""
    ctx = await queries.adoption_context(conn, adoption_id)
    if ctx is None:
        raise NotFoundError(f"no adoption has id {adoption_id}")
    await require_site_writer(conn, principal, ctx.site_code)
    return ctx


async def create_adaptation(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adoption_id: uuid.UUID, data: AdaptationCreate
) -> tuple[Adaptation, int]:
    values = fields_of(data)
    async with write_transaction(conn, actor):
        ctx = await _context(conn, principal, adoption_id)
        check_component_keys(data.core_component_keys, ctx.component_keys)
        new_id = await queries.insert_adaptation(conn, adoption_id, ctx.innovation_id, principal.partner_id, values)
    found = await queries.get_adaptation(conn, new_id)
    assert found is not None
    return found


async def _existing(
    conn: asyncpg.Connection, principal: Principal, adaptation_id: uuid.UUID
) -> tuple[Adaptation, int, AdoptionContext]:
    found = await queries.get_adaptation(conn, adaptation_id)
    if found is None:
        raise NotFoundError(f"no adaptation has id {adaptation_id}")
    ctx = await _context(conn, principal, found[0].adoption_id)
    return found[0], found[1], ctx


async def update_adaptation(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    adaptation_id: uuid.UUID,
    data: AdaptationUpdate,
    if_match: str | None,
) -> tuple[Adaptation, int]:
    changes = changes_of(data)
    expected = if_match_versions(if_match)
    async with write_transaction(conn, actor):
        _, version, ctx = await _existing(conn, principal, adaptation_id)
        if "core_component_keys" in changes:
            check_component_keys(changes["core_component_keys"], ctx.component_keys)
        ok = await queries.update_adaptation(conn, adaptation_id, changes, expected)
    if not ok:
        raise stale("the adaptation", version)
    found = await queries.get_adaptation(conn, adaptation_id)
    assert found is not None
    return found


async def delete_adaptation(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, adaptation_id: uuid.UUID, if_match: str | None
) -> None:
    """Remove an adaptation recorded in error; the change log keeps what it said."""
    expected = if_match_versions(if_match)
    async with write_transaction(conn, actor):
        _, version, _ = await _existing(conn, principal, adaptation_id)
        ok = await queries.delete_adaptation(conn, adaptation_id, expected)
    if not ok:
        raise stale("the adaptation", version)
