"""SQL for adaptations. Records never leave this module."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from service.adaptations.schemas import Adaptation

FIELDS = (
    "description",
    "made_on",
    "phase",
    "planning",
    "decided_by",
    "what_modified",
    "level",
    "nature",
    "context_changes",
    "fidelity",
    "core_component_keys",
    "goals",
    "reasons",
    "outcome_notes",
)
_CASTS = {
    "made_on": "::date",
    "decided_by": "::text[]",
    "context_changes": "::text[]",
    "core_component_keys": "::text[]",
    "goals": "::text[]",
    "reasons": "::text[]",
}

COLUMNS = """
    ad.id, ad.adoption_id, ad.innovation_id, a.site_code, ad.description, ad.made_on, ad.phase, ad.planning,
    ad.decided_by, ad.what_modified, ad.level, ad.nature, ad.context_changes, ad.fidelity, ad.core_component_keys,
    ad.goals, ad.reasons, ad.outcome_notes, ad.created_at, ad.updated_at, ad.version
"""

GET_ADAPTATION = f"""
SELECT {COLUMNS} FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id WHERE ad.id = $1
"""


async def get_adaptation(conn: asyncpg.Connection, adaptation_id: uuid.UUID) -> tuple[Adaptation, int] | None:
    row = await conn.fetchrow(GET_ADAPTATION, adaptation_id)
    if row is None:
        return None
    return msgspec.convert(row, Adaptation), row["version"]


LIST_FOR_ADOPTION = f"""
SELECT {COLUMNS} FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id
WHERE ad.adoption_id = $1
  AND ($2::timestamptz IS NULL OR (ad.created_at, ad.id) > ($2, $3::uuid))
ORDER BY ad.created_at, ad.id
LIMIT $4
"""


async def list_for_adoption(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
) -> list[Adaptation]:
    rows = await conn.fetch(
        LIST_FOR_ADOPTION, adoption_id, after[0] if after else None, after[1] if after else None, limit
    )
    return [msgspec.convert(r, Adaptation) for r in rows]


# Innovation-wide, newest first; (innovation_id, nature|what_modified|fidelity) indexes and the
# goals GIN index back the filters, the keyset follows adaptations_innovation_idx.
LIST_FOR_INNOVATION = f"""
SELECT {COLUMNS} FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id
WHERE ad.innovation_id = $1
  AND ($2::text IS NULL OR ad.nature = $2)
  AND ($3::text IS NULL OR ad.what_modified = $3)
  AND ($4::text IS NULL OR ad.fidelity = $4)
  AND ($5::text IS NULL OR ad.goals @> ARRAY[$5::text])
  AND ($6::text IS NULL OR a.site_code IN (SELECT s.code FROM sites s WHERE s.region_code = $6))
  AND ($7::timestamptz IS NULL OR (ad.created_at, ad.id) < ($7, $8::uuid))
ORDER BY ad.created_at DESC, ad.id DESC
LIMIT $9
"""


async def list_for_innovation(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    filters: dict[str, Any],
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Adaptation]:
    rows = await conn.fetch(
        LIST_FOR_INNOVATION,
        innovation_id,
        filters.get("nature"),
        filters.get("what_modified"),
        filters.get("fidelity"),
        filters.get("goal"),
        filters.get("region"),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(r, Adaptation) for r in rows]


ADOPTION_CONTEXT = """
SELECT a.id, a.innovation_id, a.site_code,
       coalesce((SELECT array_agg(c ->> 'key') FROM jsonb_array_elements(i.core_components) c), '{}') AS component_keys
FROM adoptions a JOIN innovations i ON i.id = a.innovation_id
WHERE a.id = $1
FOR SHARE OF i
"""
# FOR SHARE OF i: the innovation's core components cannot change (an innovation PATCH locks it
# FOR NO KEY UPDATE) until the adaptation that names them has committed; the PATCH then sees
# the adaptation and refuses to drop a component it names.


class AdoptionContext(msgspec.Struct, frozen=True, kw_only=True):
    """What an adaptation's rules need of its adoption: the innovation, the site, the components."""

    innovation_id: uuid.UUID
    site_code: str
    component_keys: frozenset[str]


async def adoption_context(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionContext | None:
    row = await conn.fetchrow(ADOPTION_CONTEXT, adoption_id)
    if row is None:
        return None
    return AdoptionContext(
        innovation_id=row["innovation_id"], site_code=row["site_code"], component_keys=frozenset(row["component_keys"])
    )


INSERT_ADAPTATION = f"""
WITH ins AS (
    INSERT INTO adaptations (adoption_id, innovation_id, partner_id, {", ".join(FIELDS)})
    VALUES ($1, $2, $3, {", ".join(f"${i + 4}{_CASTS.get(f, '')}" for i, f in enumerate(FIELDS))})
    RETURNING id
)
SELECT id FROM ins
"""


async def insert_adaptation(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    innovation_id: uuid.UUID,
    partner_id: uuid.UUID | None,
    v: dict[str, Any],
) -> uuid.UUID:
    new_id: uuid.UUID = await conn.fetchval(
        INSERT_ADAPTATION, adoption_id, innovation_id, partner_id, *[v[f] for f in FIELDS]
    )
    return new_id


UPDATE_ADAPTATION = f"""
UPDATE adaptations AS ad SET
    {", ".join(f"{f} = CASE WHEN ${2 + 2 * i} THEN ${3 + 2 * i}{_CASTS.get(f, '')} ELSE ad.{f} END" for i, f in enumerate(FIELDS))},
    updated_at = now(),
    version = ad.version + 1
WHERE ad.id = $1 AND (${2 + 2 * len(FIELDS)}::int[] IS NULL OR ad.version = ANY(${2 + 2 * len(FIELDS)}::int[]))
RETURNING ad.id
"""


async def update_adaptation(
    conn: asyncpg.Connection, adaptation_id: uuid.UUID, changes: dict[str, Any], expected_versions: list[int] | None
) -> bool:
    args: list[Any] = [adaptation_id]
    for field in FIELDS:
        args.extend([field in changes, changes.get(field)])
    args.append(expected_versions)
    return await conn.fetchval(UPDATE_ADAPTATION, *args) is not None


DELETE_ADAPTATION = (
    "DELETE FROM adaptations WHERE id = $1 AND ($2::int[] IS NULL OR version = ANY($2::int[])) RETURNING id"
)


async def delete_adaptation(
    conn: asyncpg.Connection, adaptation_id: uuid.UUID, expected_versions: list[int] | None
) -> bool:
    return await conn.fetchval(DELETE_ADAPTATION, adaptation_id, expected_versions) is not None


EXISTS = "SELECT EXISTS (SELECT 1 FROM adaptations WHERE id = $1)"


async def exists(conn: asyncpg.Connection, adaptation_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(EXISTS, adaptation_id))
