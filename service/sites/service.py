"""Writing sites: validate codes by kind, check references, record who changed what.

Who may (rules in :mod:`service.authz`): an admin adds NHS sites and moves any site (parent,
ICB, region, successor: the hierarchy partners' rights come from); a partner adds ``kind:
other`` sites, placed only under sites it covers, and covers them from then on; a covering
partner edits a site's name, postcode, coordinates and status.
"""

from __future__ import annotations

import re

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.authz import (
    PLACEMENT_FIELDS,
    SiteAccess,
    check_new_placement,
    check_placement,
    check_site_creator,
    grant_site,
    no_such_site,
    require_site_writer,
    site_access,
)
from service.constraints import refusal_for
from service.db import Actor, write_transaction
from service.errors import ConflictError, InvalidInputError, stale
from service.sites import queries
from service.sites.schemas import Site, SiteCreate, SiteUpdate
from service.types import if_match_versions

CODE_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "region": (re.compile(r"^Y[0-9]{2}\Z"), "Y and 2 digits, e.g. Y56"),
    "icb": (re.compile(r"^Q[A-Z0-9]{2}\Z"), "Q and 2 letters or digits, e.g. QE1"),
    "trust": (re.compile(r"^[A-Z0-9]{3}\Z"), "3 letters or digits, e.g. RQM"),
    "trust_site": (re.compile(r"^[A-Z0-9]{5}\Z"), "5 letters or digits, e.g. RQM01"),
    "pcn": (re.compile(r"^U[0-9]{5}\Z"), "U and 5 digits, e.g. U12345"),
    "gp_practice": (re.compile(r"^[A-Z][0-9]{5}\Z"), "a letter and 5 digits, e.g. P81001"),
    "other": (re.compile(r"^[A-Z0-9-]{3,12}\Z"), "3 to 12 upper-case letters, digits or hyphens"),
}


def check_code(code: str, kind: str) -> None:
    pattern, explained = CODE_FORMATS[kind]
    if not pattern.match(code):
        raise InvalidInputError(f"'{code}' is not a valid {kind} code: expected {explained}", field="code")


async def _check_references(conn: asyncpg.Connection, values: dict[str, object]) -> None:
    refs = _references_in(values)
    if not refs:
        return
    found = await queries.existing_codes(conn, list(refs.values()))
    for field, code in refs.items():
        if code not in found:
            raise no_such_site(code, _camel(field))


def _references_in(values: dict[str, object]) -> dict[str, str]:
    return {f: str(values[f]) for f in PLACEMENT_FIELDS if values.get(f)}


def _camel(field: str) -> str:
    return "".join(w if i == 0 else w.title() for i, w in enumerate(field.split("_")))


async def _lock_references(
    conn: asyncpg.Connection, principal: Principal, values: dict[str, object]
) -> dict[str, SiteAccess]:
    """The sites a new site names (parent, ICB, region, successor), locked FOR SHARE."""
    found: dict[str, SiteAccess] = {}
    for field, code in _references_in(values).items():
        site = await site_access(conn, principal.partner_id, code)
        if site is None:
            raise no_such_site(code, _camel(field))
        found[field] = site
    return found


def _map_db_error(exc: asyncpg.PostgresError) -> Exception:
    refusal = refusal_for(exc)
    if refusal is not None:
        return refusal
    if isinstance(exc, asyncpg.UniqueViolationError):
        return ConflictError("a site with that code already exists")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return InvalidInputError("a referenced site does not exist", field="parentCode")
    return exc


async def create_site(
    conn: asyncpg.Connection, actor: Actor, principal: Principal, data: SiteCreate
) -> tuple[Site, int]:
    """NHS kinds need admin; a partner's ``kind: other`` site is granted to it in the same transaction."""
    check_site_creator(principal, data.kind)
    values = msgspec.structs.asdict(data)
    if values["code"] is None:
        if data.kind != "other":
            raise InvalidInputError("code is required for NHS sites (use their ODS code)", field="code")
        values["code"] = await queries.new_other_code(conn)
    check_code(str(values["code"]), data.kind)
    if (data.latitude is None) != (data.longitude is None):
        raise InvalidInputError("give both latitude and longitude, or neither", field="latitude")
    try:
        async with write_transaction(conn, actor):
            check_new_placement(principal, await _lock_references(conn, principal, values))
            site, version = await queries.insert_site(conn, values)
            if not principal.is_admin:
                await grant_site(conn, principal.partner_id, site.code)
            return site, version
    except asyncpg.PostgresError as exc:
        raise _map_db_error(exc) from exc


async def update_site(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    code: str,
    data: SiteUpdate,
    if_match: str | None,
) -> tuple[Site, int]:
    """Descriptive fields: a covering partner or an admin; where the site sits: an admin only."""
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if changes.get("successor_code") == code or changes.get("parent_code") == code:
        raise InvalidInputError("a site cannot be its own parent or successor", field="parentCode")
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            current = await require_site_writer(conn, principal, code, for_update=True)
            check_placement(principal, current, changes)
            await _check_references(conn, changes)
            updated = await queries.update_site(conn, code, changes, expected)
    except asyncpg.PostgresError as exc:
        raise _map_db_error(exc) from exc
    if updated is None:
        raise stale(f"site {code}")
    return updated
