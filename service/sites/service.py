"""Writing sites: validate codes by kind, check references, record who changed what."""

from __future__ import annotations

import re

import asyncpg
import msgspec

from service.auth.queries import partner_covers
from service.auth.schemas import Principal
from service.db import Actor, write_transaction
from service.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from service.sites import queries
from service.sites.schemas import Site, SiteCreate, SiteUpdate
from service.types import if_match_versions

CODE_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "region": (re.compile(r"^Y[0-9]{2}$"), "Y and 2 digits, e.g. Y56"),
    "icb": (re.compile(r"^Q[A-Z0-9]{2}$"), "Q and 2 letters or digits, e.g. QE1"),
    "trust": (re.compile(r"^[A-Z0-9]{3}$"), "3 letters or digits, e.g. RQM"),
    "trust_site": (re.compile(r"^[A-Z0-9]{5}$"), "5 letters or digits, e.g. RQM01"),
    "pcn": (re.compile(r"^U[0-9]{5}$"), "U and 5 digits, e.g. U12345"),
    "gp_practice": (re.compile(r"^[A-Z][0-9]{5}$"), "a letter and 5 digits, e.g. P81001"),
    "other": (re.compile(r"^[A-Z0-9-]{3,12}$"), "3 to 12 upper-case letters, digits or hyphens"),
}


def check_code(code: str, kind: str) -> None:
    pattern, explained = CODE_FORMATS[kind]
    if not pattern.match(code):
        raise InvalidInputError(f"'{code}' is not a valid {kind} code: expected {explained}", field="code")


async def _check_references(conn: asyncpg.Connection, values: dict[str, object]) -> None:
    refs = {f: values[f] for f in ("parent_code", "region_code", "icb_code", "successor_code") if values.get(f)}
    if not refs:
        return
    found = await queries.existing_codes(conn, [str(v) for v in refs.values()])
    for field, code in refs.items():
        if code not in found:
            camel = "".join(w if i == 0 else w.title() for i, w in enumerate(field.split("_")))
            raise InvalidInputError(f"no site has code '{code}'", field=camel)


def _map_db_error(exc: asyncpg.PostgresError) -> Exception:
    constraint = getattr(exc, "constraint_name", None)
    if isinstance(exc, asyncpg.UniqueViolationError):
        return ConflictError("a site with that code already exists")
    if constraint == "sites_code_format":
        return InvalidInputError("the code does not match its kind", field="code")
    if constraint == "sites_coordinates_pair":
        return InvalidInputError("give both latitude and longitude, or neither", field="latitude")
    if constraint in ("sites_not_own_parent", "sites_not_own_successor"):
        field = "parentCode" if "parent" in constraint else "successorCode"
        return InvalidInputError("a site cannot be its own parent or successor", field=field)
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return InvalidInputError("a referenced site does not exist", field="parentCode")
    return exc


async def create_site(conn: asyncpg.Connection, actor: Actor, data: SiteCreate) -> tuple[Site, int]:
    values = msgspec.structs.asdict(data)
    if values["code"] is None:
        if data.kind != "other":
            raise InvalidInputError("code is required for NHS sites (use their ODS code)", field="code")
        values["code"] = await queries.new_other_code(conn)
    check_code(str(values["code"]), data.kind)
    if (data.latitude is None) != (data.longitude is None):
        raise InvalidInputError("give both latitude and longitude, or neither", field="latitude")
    await _check_references(conn, values)
    try:
        async with write_transaction(conn, actor):
            return await queries.insert_site(conn, values)
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
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    current = await queries.get_site(conn, code)
    if current is None:
        raise NotFoundError(f"no site has code '{code}'")
    if not principal.is_admin and not await partner_covers(conn, principal.partner_id, code):
        raise ForbiddenError(
            f"partner '{principal.partner_name}' is not authorised for site {code}; ask an administrator to add it"
        )
    if changes.get("successor_code") == code or changes.get("parent_code") == code:
        raise InvalidInputError("a site cannot be its own parent or successor", field="parentCode")
    await _check_references(conn, changes)
    expected = if_match_versions(if_match)
    try:
        async with write_transaction(conn, actor):
            updated = await queries.update_site(conn, code, changes, expected)
    except asyncpg.PostgresError as exc:
        raise _map_db_error(exc) from exc
    if updated is None:
        from service.errors import PreconditionFailedError

        raise PreconditionFailedError(
            f'site {code} has changed since you read it (ETag "{current[1]}"); GET it again and retry'
        )
    return updated
