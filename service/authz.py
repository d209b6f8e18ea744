"""Who may write for a site: the one place that decides it, and the one query behind it.

A partner *covers* a site when it was granted the site itself or the site's parent, ICB or
region (``_COVERED`` below; migration 0011 dropped the SQL function that once said the same).
Every service that writes a site's records calls :func:`require_site_writer` (bulk
submissions: :func:`sites_writable`) inside its write transaction, after opening it and before
writing: the query locks the site row (``FOR SHARE``), so an administrator cannot move the site
to another parent, ICB or region between the decision and the write. A service that changes
the site itself asks for ``FOR UPDATE`` instead (two writers that both held a share lock would
deadlock on the upgrade).

The rules themselves are pure functions over the fetched :class:`SiteAccess`, each with one
wording.
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from service.auth.schemas import Principal
from service.errors import ForbiddenError, InvalidInputError, NotFoundError

NHS_KINDS = frozenset({"region", "icb", "trust", "trust_site", "pcn", "gp_practice"})
PLACEMENT_FIELDS = ("parent_code", "icb_code", "region_code", "successor_code")
_CAMEL = {
    "parent_code": "parentCode",
    "icb_code": "icbCode",
    "region_code": "regionCode",
    "successor_code": "successorCode",
}


class SiteAccess(msgspec.Struct, frozen=True, kw_only=True):
    """A site, where it sits, and whether the calling partner covers it."""

    code: str
    kind: str
    parent_code: str | None
    icb_code: str | None
    region_code: str | None
    successor_code: str | None
    covered: bool


# Coverage is computed from the locked row's own columns, not by a SQL function: under READ
# COMMITTED a lock that waited for a concurrent move re-reads the moved row and recomputes this
# expression over it, whereas a function would look the site up in the statement's older
# snapshot and judge by where the site used to sit.
_COVERED = """
EXISTS (SELECT 1 FROM partner_sites ps
        WHERE ps.partner_id = $2 AND ps.site_code IN (s.code, s.parent_code, s.icb_code, s.region_code))
"""
_SITE_ACCESS = f"""
SELECT s.code, s.kind, s.parent_code, s.icb_code, s.region_code, s.successor_code, {_COVERED} AS covered
FROM sites s WHERE s.code = $1
"""
# FOR SHARE: the site cannot be moved (and so coverage cannot change) until the write commits.
SITE_ACCESS_SHARE = _SITE_ACCESS + "FOR SHARE OF s"
SITE_ACCESS_UPDATE = _SITE_ACCESS + "FOR UPDATE OF s"


async def site_access(
    conn: asyncpg.Connection, partner_id: uuid.UUID, site_code: str, *, for_update: bool = False
) -> SiteAccess | None:
    row = await conn.fetchrow(SITE_ACCESS_UPDATE if for_update else SITE_ACCESS_SHARE, site_code, partner_id)
    return None if row is None else msgspec.convert(row, SiteAccess)


# The same rule for a batch (bulk submissions), sites locked in code order.
_SITES_ACCESS = f"""
SELECT s.code, ($2::uuid IS NULL OR {_COVERED}) AS covered
FROM sites s WHERE s.code = ANY($1::text[])
ORDER BY s.code
FOR SHARE OF s
"""


async def sites_writable(conn: asyncpg.Connection, principal: Principal, codes: list[str]) -> tuple[set[str], set[str]]:
    """(codes that are sites, codes the caller may write for), the sites locked FOR SHARE."""
    rows = await conn.fetch(_SITES_ACCESS, codes, None if principal.is_admin else principal.partner_id)
    return {r["code"] for r in rows}, {r["code"] for r in rows if r["covered"]}


_GRANT_SITE = "INSERT INTO partner_sites (partner_id, site_code) VALUES ($1, $2) ON CONFLICT DO NOTHING"


async def grant_site(conn: asyncpg.Connection, partner_id: uuid.UUID, site_code: str) -> None:
    """Authorise the partner for one site (it created it): call inside the creating transaction."""
    await conn.execute(_GRANT_SITE, partner_id, site_code)


# --- rules (pure) ----------------------------------------------------------------------------


def no_such_site(site_code: str, field: str | None) -> Exception:
    detail = f"no site has code '{site_code}'"
    return NotFoundError(detail) if field is None else InvalidInputError(detail, field=field)


def check_site_writer(principal: Principal, site: SiteAccess, *, lead_partner_id: uuid.UUID | None = None) -> None:
    """An admin, a partner covering the site, or (for campaign records) the campaign's lead partner."""
    if principal.is_admin or site.covered:
        return
    if lead_partner_id is not None and lead_partner_id == principal.partner_id:
        return
    raise ForbiddenError(not_site_writer(principal, site.code, campaign=lead_partner_id is not None))


def not_site_writer(principal: Principal, site_code: str, *, campaign: bool = False) -> str:
    """The one wording of the refusal, for single writes and bulk rows alike."""
    also = ", nor does it lead this campaign" if campaign else ""
    return (
        f"partner '{principal.partner_name}' is not authorised for site {site_code}{also}; "
        "ask an administrator to add it (`spread partners create NAME --sites CODE`)"
    )


def check_site_creator(principal: Principal, kind: str) -> None:
    """NHS sites come from the ODS importer and administrators; a partner adds ``kind: other`` ones."""
    if kind in NHS_KINDS and not principal.is_admin:
        raise ForbiddenError(
            f"only an administrator may add a {kind} site: the NHS hierarchy comes from the ODS import; "
            "a partner may add `kind: other` sites"
        )


def check_placement(principal: Principal, current: SiteAccess, changes: dict[str, object]) -> None:
    """Where a site sits decides who covers it, so only an administrator moves a site."""
    if principal.is_admin:
        return
    moved = [f for f in PLACEMENT_FIELDS if f in changes and changes[f] != getattr(current, f)]
    if moved:
        raise ForbiddenError(
            f"only an administrator may change where a site sits ({', '.join(_CAMEL[f] for f in moved)}): "
            "a partner may change a covered site's name, postcode, coordinates and status"
        )


def check_new_placement(principal: Principal, references: dict[str, SiteAccess]) -> None:
    """A partner may place its new ``kind: other`` site only under sites it covers."""
    if principal.is_admin:
        return
    for field, site in references.items():
        if not site.covered:
            raise ForbiddenError(
                f"partner '{principal.partner_name}' may place a new site only under sites it covers, "
                f"and does not cover {site.code} ({_CAMEL[field]})"
            )


# --- the helper every site-scoped write calls ---------------------------------------------------


async def require_site_writer(
    conn: asyncpg.Connection,
    principal: Principal,
    site_code: str,
    *,
    lead_partner_id: uuid.UUID | None = None,
    field: str | None = None,
    for_update: bool = False,
) -> SiteAccess:
    """Lock the site and check the caller may write for it; call inside the write transaction.

    A missing site is a 404, or a 422 on ``field`` when the site was named in the body.
    """
    site = await site_access(conn, principal.partner_id, site_code, for_update=for_update)
    if site is None:
        raise no_such_site(site_code, field)
    check_site_writer(principal, site, lead_partner_id=lead_partner_id)
    return site
