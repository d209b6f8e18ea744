"""SQL for keys and partners. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.auth.schemas import Principal


class KeyLookup(msgspec.Struct, frozen=True, kw_only=True):
    principal: Principal
    revoked_at: dt.datetime | None
    expired: bool


# Run on the primary only (see service.middleware): a replica may not have seen a revocation.
_LOOKUP = """
SELECT k.id, k.partner_id, p.name AS partner_name, k.scopes, k.expires_at, k.revoked_at,
       (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired
FROM api_keys k JOIN partners p ON p.id = k.partner_id
WHERE k.secret_hash = $1
"""


async def lookup_key(conn: asyncpg.Connection, secret_hash: bytes) -> KeyLookup | None:
    row = await conn.fetchrow(_LOOKUP, secret_hash)
    if row is None:
        return None
    return KeyLookup(
        principal=Principal(
            key_id=row["id"],
            partner_id=row["partner_id"],
            partner_name=row["partner_name"],
            scopes=tuple(row["scopes"]),
            expires_at=row["expires_at"],
        ),
        revoked_at=row["revoked_at"],
        expired=row["expired"],
    )


_ENSURE_PARTNER = """
INSERT INTO partners (name) VALUES ($1)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING id
"""


async def ensure_partner(conn: asyncpg.Connection, name: str) -> uuid.UUID:
    result: uuid.UUID = await conn.fetchval(_ENSURE_PARTNER, name)
    return result


_INSERT_KEY = """
INSERT INTO api_keys (partner_id, prefix, secret_hash, scopes, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""


async def insert_key(
    conn: asyncpg.Connection,
    partner_id: uuid.UUID,
    prefix: str,
    secret_hash: bytes,
    scopes: list[str],
    expires_at: dt.datetime | None,
) -> uuid.UUID:
    result: uuid.UUID = await conn.fetchval(_INSERT_KEY, partner_id, prefix, secret_hash, scopes, expires_at)
    return result


_LIST_KEYS = """
SELECT k.id, p.name AS partner, k.prefix, k.scopes, k.expires_at, k.revoked_at, k.created_at
FROM api_keys k JOIN partners p ON p.id = k.partner_id
ORDER BY k.created_at, k.id
"""


class KeyListing(msgspec.Struct, frozen=True, kw_only=True):
    """A key as `spread keys list` shows it (never its secret)."""

    id: uuid.UUID
    partner: str
    prefix: str
    scopes: list[str]
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_at: dt.datetime


async def list_keys(conn: asyncpg.Connection) -> list[KeyListing]:
    return [msgspec.convert(r, KeyListing) for r in await conn.fetch(_LIST_KEYS)]


_REVOKE_KEY = """
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING revoked_at
"""


async def revoke_key(conn: asyncpg.Connection, key_id: uuid.UUID) -> dt.datetime | None:
    result: dt.datetime | None = await conn.fetchval(_REVOKE_KEY, key_id)
    return result


_PARTNER_SITES = """
SELECT coalesce(array_agg(site_code ORDER BY site_code), '{}') FROM partner_sites WHERE partner_id = $1
"""


async def partner_sites(conn: asyncpg.Connection, partner_id: uuid.UUID) -> list[str]:
    return list(await conn.fetchval(_PARTNER_SITES, partner_id))


_MISSING_SITES = """
SELECT coalesce(array_agg(c ORDER BY c), '{}') FROM unnest($1::text[]) AS c
WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE s.code = c)
"""

_GRANT_SITES = """
INSERT INTO partner_sites (partner_id, site_code)
SELECT $1, c FROM unnest($2::text[]) AS c
ON CONFLICT DO NOTHING
"""


async def grant_sites(conn: asyncpg.Connection, partner_id: uuid.UUID, sites: list[str]) -> list[str]:
    """Authorise the partner for the sites; returns the codes that are not sites (nothing granted then)."""
    missing = list(await conn.fetchval(_MISSING_SITES, sites))
    if not missing:
        await conn.execute(_GRANT_SITES, partner_id, sites)
    return missing


_LIST_PARTNERS = """
SELECT p.id, p.name, p.created_at,
       coalesce((SELECT array_agg(ps.site_code ORDER BY ps.site_code) FROM partner_sites ps
                  WHERE ps.partner_id = p.id), '{}') AS sites,
       (SELECT count(*) FROM api_keys k WHERE k.partner_id = p.id AND k.revoked_at IS NULL) AS live_keys
FROM partners p ORDER BY p.name
"""


class PartnerListing(msgspec.Struct, frozen=True, kw_only=True):
    """A partner, the sites it may write for, and how many live keys it has."""

    id: uuid.UUID
    name: str
    created_at: dt.datetime
    sites: list[str]
    live_keys: int


async def list_partners(conn: asyncpg.Connection) -> list[PartnerListing]:
    return [msgspec.convert(r, PartnerListing) for r in await conn.fetch(_LIST_PARTNERS)]
