"""Loading the NHS reference sites shipped in ``service/data/nhs`` (Open Government Licence v3.0).

Idempotent: an upsert per level (regions, ICBs, trusts, hospital sites), parents first so
region and ICB derive from the parent chain. A row whose values are unchanged is not
touched, so a second run writes nothing and adds nothing to the change log.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "nhs"
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(ODS organisation data, ONS boundary centroids, NHS England A&E statistics)."
)

_KEEP_UPPER = {"NHS", "LHB", "UK", "ICB", "GP", "HIV", "NE", "NW", "SE", "SW", "II", "III", "PCT", "CIC", "HQ"}
_KEEP_LOWER = {"and", "of", "the", "for", "in", "on", "at", "upon", "with"}


def tidy_name(name: str) -> str:
    """'MANCHESTER UNIVERSITY NHS FOUNDATION TRUST' -> 'Manchester University NHS Foundation Trust'."""
    if not name.isupper():
        return name.strip()
    words = []
    for i, word in enumerate(name.strip().split()):
        bare = re.sub(r"[^A-Za-z]", "", word)
        if bare in _KEEP_UPPER:
            words.append(word)
        elif i > 0 and bare.lower() in _KEEP_LOWER:
            words.append(word.lower())
        else:
            words.append("-".join(part[:1].upper() + part[1:].lower() for part in word.split("-")))
    return " ".join(words)


class SiteRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    parent_code: str | None
    region_code: str | None
    icb_code: str | None
    postcode: str | None
    latitude: float | None
    longitude: float | None


def _read(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _float(value: str) -> float | None:
    return float(value) if value.strip() else None


def reference_sites() -> list[list[SiteRow]]:
    """The reference sites, one list per level, parents before children."""
    regions = [
        SiteRow(
            r["region_ods_code"],
            r["region_name"],
            "region",
            None,
            None,
            None,
            None,
            _float(r["centroid_lat"]),
            _float(r["centroid_long"]),
        )
        for r in _read("nhs_regions.csv")
    ]
    icbs = [
        SiteRow(
            r["icb_ods_code"],
            r["icb_name"],
            "icb",
            r["region_ods_code"] or None,
            r["region_ods_code"] or None,
            None,
            None,
            _float(r["centroid_lat"]),
            _float(r["centroid_long"]),
        )
        for r in _read("nhs_icbs.csv")
    ]
    trusts: list[SiteRow] = []
    for r in _read("nhs_trusts.csv"):
        icb = r["icb_ods_codes"].split(";")[0] or None
        region = r["region_ods_codes"].split(";")[0] or None
        trusts.append(
            SiteRow(
                r["trust_ods_code"],
                tidy_name(r["trust_name"]),
                "trust",
                icb or region,
                region,
                icb,
                r["postcode"] or None,
                None,
                None,
            )
        )
    known = {t.code for t in trusts}
    hospital_rows = _read("nhs_hospital_sites.csv")
    # Welsh health boards appear only as the parents of hospital sites: add them as trusts.
    for r in hospital_rows:
        code = r["parent_trust_ods_code"]
        if code and code not in known:
            known.add(code)
            trusts.append(SiteRow(code, tidy_name(r["parent_trust_name"]), "trust", None, None, None, None, None, None))
    sites = [
        SiteRow(
            r["site_ods_code"],
            tidy_name(r["site_name"]),
            "trust_site",
            r["parent_trust_ods_code"] or None,
            None,
            None,
            r["postcode"] or None,
            _float(r["lat"]),
            _float(r["long"]),
        )
        for r in hospital_rows
    ]
    return [regions, icbs, trusts, sites]


# One statement per level. Unchanged rows are skipped by the WHERE, so re-running is a no-op;
# xmax = 0 tells an inserted row from an updated one.
UPSERT_SITES = """
INSERT INTO sites AS s (code, name, kind, parent_code, region_code, icb_code, postcode, latitude, longitude)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::float8[], $9::float8[])
ON CONFLICT (code) DO UPDATE SET
    name = excluded.name, kind = excluded.kind, parent_code = excluded.parent_code,
    region_code = coalesce(excluded.region_code, s.region_code), icb_code = coalesce(excluded.icb_code, s.icb_code),
    postcode = excluded.postcode, latitude = excluded.latitude, longitude = excluded.longitude,
    updated_at = now(), version = s.version + 1
WHERE (s.name, s.kind, s.parent_code, s.postcode, s.latitude, s.longitude)
      IS DISTINCT FROM (excluded.name, excluded.kind, excluded.parent_code, excluded.postcode,
                        excluded.latitude, excluded.longitude)
RETURNING (xmax = 0) AS inserted
"""


class ImportResult(msgspec.Struct):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


async def upsert_sites(conn: asyncpg.Connection, rows: list[SiteRow]) -> ImportResult:
    columns: list[list[Any]] = (
        [list(c) for c in zip(*(msgspec.structs.astuple(x) for x in rows), strict=True)]
        if rows
        else [[] for _ in range(9)]
    )
    results = await conn.fetch(UPSERT_SITES, *columns)
    created = sum(1 for r in results if r["inserted"])
    updated = len(results) - created
    return ImportResult(created=created, updated=updated, unchanged=len(rows) - len(results))


async def import_reference_sites(
    conn: asyncpg.Connection, progress: Callable[[str, int, ImportResult], None] | None = None
) -> ImportResult:
    """Load every level in one transaction; ``progress(level, rows, result)`` after each."""
    total = ImportResult()
    labels = ["regions", "integrated care boards", "trusts", "hospital sites"]
    async with conn.transaction():
        for label, rows in zip(labels, reference_sites(), strict=True):
            result = await upsert_sites(conn, rows)
            total.created += result.created
            total.updated += result.updated
            total.unchanged += result.unchanged
            if progress:
                progress(label, len(rows), result)
    return total
