"""SQL for sites. Records never leave this module."""

from __future__ import annotations

import asyncpg
import msgspec

from service.sites.schemas import Site, SiteNear

_COLUMNS = """
    s.code, s.name, s.kind, s.parent_code, s.region_code, s.icb_code, s.postcode,
    s.latitude, s.longitude, s.status, s.successor_code, s.created_at, s.updated_at, s.version
"""

GET_SITE = f"SELECT {_COLUMNS} FROM sites s WHERE s.code = $1"

GET_SITES = f"SELECT {_COLUMNS} FROM sites s WHERE s.code = ANY($1::text[])"


async def get_sites(conn: asyncpg.Connection, codes: list[str]) -> list[Site]:
    """Several sites in one statement (``expand=``), in no particular order."""
    rows = await conn.fetch(GET_SITES, codes)
    return [msgspec.convert(row, Site) for row in rows]


# Keyset on code. Every filter has an index (kind, region, icb, parent: btree led by the
# column then code; q: trigram GIN on name, plus the primary key for code prefixes).
LIST_SITES = f"""
SELECT {_COLUMNS}, NULL::float8 AS distance_km
FROM sites s
WHERE ($1::text IS NULL OR s.kind = $1)
  AND ($2::text IS NULL OR s.region_code = $2)
  AND ($3::text IS NULL OR s.icb_code = $3)
  AND ($4::text IS NULL OR s.parent_code = $4)
  AND ($5::text IS NULL OR s.name ILIKE '%' || $5 || '%' OR s.code LIKE upper($5) || '%')
  AND ($6::text IS NULL OR s.code > $6)
ORDER BY s.code
LIMIT $7
"""

# Great-circle distance (haversine, km). The bounding box lets the (latitude, longitude)
# index discard far sites before any trigonometry; the keyset is (distance, code).
LIST_SITES_NEAR = f"""
WITH candidates AS (
    SELECT {_COLUMNS},
           2 * 6371.0088 * asin(sqrt(
               power(sin(radians(s.latitude - $8) / 2), 2)
               + cos(radians($8)) * cos(radians(s.latitude)) * power(sin(radians(s.longitude - $9) / 2), 2)
           )) AS distance_km
    FROM sites s
    WHERE s.latitude BETWEEN $8 - $10 / 111.0 AND $8 + $10 / 111.0
      AND s.longitude BETWEEN $9 - $10 / (111.0 * greatest(cos(radians($8)), 0.01))
                          AND $9 + $10 / (111.0 * greatest(cos(radians($8)), 0.01))
      AND ($1::text IS NULL OR s.kind = $1)
      AND ($2::text IS NULL OR s.region_code = $2)
      AND ($3::text IS NULL OR s.icb_code = $3)
      AND ($4::text IS NULL OR s.parent_code = $4)
      AND ($5::text IS NULL OR s.name ILIKE '%' || $5 || '%' OR s.code LIKE upper($5) || '%')
)
SELECT c.code, c.name, c.kind, c.parent_code, c.region_code, c.icb_code, c.postcode, c.latitude, c.longitude,
       c.status, c.successor_code, c.created_at, c.updated_at, c.version, c.distance_km
FROM candidates c
WHERE c.distance_km <= $10
  AND ($11::float8 IS NULL OR (c.distance_km, c.code) > ($11, $6))
ORDER BY c.distance_km, c.code
LIMIT $7
"""


async def get_site(conn: asyncpg.Connection, code: str) -> tuple[Site, int] | None:
    row = await conn.fetchrow(GET_SITE, code)
    if row is None:
        return None
    return msgspec.convert(row, Site), row["version"]


async def list_sites(
    conn: asyncpg.Connection,
    *,
    kind: str | None,
    region: str | None,
    icb: str | None,
    parent: str | None,
    q: str | None,
    after_code: str | None,
    limit: int,
    near: tuple[float, float] | None = None,
    radius_km: float = 25.0,
    after_distance: float | None = None,
) -> list[SiteNear]:
    if near is None:
        rows = await conn.fetch(LIST_SITES, kind, region, icb, parent, q, after_code, limit)
    else:
        rows = await conn.fetch(
            LIST_SITES_NEAR,
            kind,
            region,
            icb,
            parent,
            q,
            after_code,
            limit,
            near[0],
            near[1],
            radius_km,
            after_distance,
        )
    return [msgspec.convert(r, SiteNear) for r in rows]


EXISTING_CODES = "SELECT code FROM sites WHERE code = ANY($1::text[])"


async def existing_codes(conn: asyncpg.Connection, codes: list[str]) -> set[str]:
    rows = await conn.fetch(EXISTING_CODES, codes)
    return {r["code"] for r in rows}


INSERT_SITE = f"""
INSERT INTO sites AS s (code, name, kind, parent_code, region_code, icb_code, postcode, latitude, longitude,
                        status, successor_code)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING {_COLUMNS}
"""


async def insert_site(conn: asyncpg.Connection, values: dict[str, object]) -> tuple[Site, int]:
    row = await conn.fetchrow(
        INSERT_SITE,
        values["code"],
        values["name"],
        values["kind"],
        values["parent_code"],
        values["region_code"],
        values["icb_code"],
        values["postcode"],
        values["latitude"],
        values["longitude"],
        values["status"],
        values["successor_code"],
    )
    assert row is not None  # INSERT ... RETURNING gives its row
    return msgspec.convert(row, Site), row["version"]


# A partial update: $n::bool flags say which columns the request set, so one constant
# statement serves every combination of fields (absent stays, null clears).
UPDATE_SITE = f"""
UPDATE sites AS s SET
    name = CASE WHEN $2 THEN $3 ELSE s.name END,
    parent_code = CASE WHEN $4 THEN $5 ELSE s.parent_code END,
    region_code = CASE WHEN $6 THEN $7 WHEN $4 THEN NULL ELSE s.region_code END,
    icb_code = CASE WHEN $8 THEN $9 WHEN $4 THEN NULL ELSE s.icb_code END,
    postcode = CASE WHEN $10 THEN $11 ELSE s.postcode END,
    latitude = CASE WHEN $12 THEN $13 ELSE s.latitude END,
    longitude = CASE WHEN $14 THEN $15 ELSE s.longitude END,
    status = CASE WHEN $16 THEN $17 ELSE s.status END,
    successor_code = CASE WHEN $18 THEN $19 ELSE s.successor_code END,
    updated_at = now(),
    version = s.version + 1
WHERE s.code = $1 AND ($20::int[] IS NULL OR s.version = ANY($20::int[]))
RETURNING {_COLUMNS}
"""


async def update_site(
    conn: asyncpg.Connection, code: str, changes: dict[str, object], expected_versions: list[int] | None
) -> tuple[Site, int] | None:
    args: list[object] = [code]
    for field in (
        "name",
        "parent_code",
        "region_code",
        "icb_code",
        "postcode",
        "latitude",
        "longitude",
        "status",
        "successor_code",
    ):
        args.extend([field in changes, changes.get(field)])
    args.append(expected_versions)
    row = await conn.fetchrow(UPDATE_SITE, *args)
    if row is None:
        return None
    return msgspec.convert(row, Site), row["version"]


# From a sequence (migration 0008): SPR-000123, never a repeat, skipping codes already taken.
NEXT_OTHER_CODE = "SELECT spread_next_site_code()"


async def new_other_code(conn: asyncpg.Connection) -> str:
    result: str = await conn.fetchval(NEXT_OTHER_CODE)
    return result
