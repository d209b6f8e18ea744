"""SQL the writer runs: ``unnest`` inserts and updates, one statement per kind of row plan, and
the search deferral and statistics around them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from service.adaptations.queries import FIELDS as ADAPTATION_FIELDS
from service.submissions.plans import AdoptionChange, LinkChange, NewAdaptation, NewAdoption, NewLink

# --- bulk writes ----------------------------------------------------------------------------

INSERT_ADOPTIONS = """
INSERT INTO adoptions (id, innovation_id, site_code, stage, started_on, notes, discontinued_reason, external_id,
                       partner_id)
SELECT u.id, u.innovation_id, u.site_code, u.stage, u.started_on, u.notes, u.reason, u.external_id, $9
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[], $8::text[])
     AS u(id, innovation_id, site_code, stage, started_on, notes, reason, external_id)
"""


async def insert_adoptions(conn: asyncpg.Connection, creates: Sequence[NewAdoption], partner_id: uuid.UUID) -> None:
    if creates:
        await conn.execute(
            INSERT_ADOPTIONS,
            [c.id for c in creates],
            [c.innovation_id for c in creates],
            [c.site_code for c in creates],
            [c.stage for c in creates],
            [c.started_on for c in creates],
            [c.notes for c in creates],
            [c.discontinued_reason for c in creates],
            [c.external_id for c in creates],
            partner_id,
        )


UPDATE_ADOPTIONS = """
UPDATE adoptions AS a SET
    stage = u.stage, started_on = u.started_on, notes = coalesce(u.notes, a.notes),
    discontinued_reason = u.reason, external_id = coalesce(u.external_id, a.external_id),
    updated_at = now(), version = a.version + 1
FROM unnest($1::uuid[], $2::text[], $3::date[], $4::text[], $5::text[], $6::text[])
     AS u(id, stage, started_on, notes, reason, external_id)
WHERE a.id = u.id
"""


async def update_adoptions(conn: asyncpg.Connection, changes: Sequence[AdoptionChange]) -> None:
    """notes and external_id None keep the stored values."""
    if changes:
        await conn.execute(
            UPDATE_ADOPTIONS,
            [c.id for c in changes],
            [c.stage for c in changes],
            [c.started_on for c in changes],
            [c.notes for c in changes],
            [c.discontinued_reason for c in changes],
            [c.external_id for c in changes],
        )


INSERT_LINKS = """
INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel, learned_on)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[])
"""


async def insert_links(conn: asyncpg.Connection, links: Sequence[NewLink]) -> None:
    if links:
        await conn.execute(
            INSERT_LINKS,
            [link.adoption_id for link in links],
            [link.source_adoption_id for link in links],
            [link.channel for link in links],
            [link.learned_on for link in links],
        )


UPDATE_LINKS = """
UPDATE adoption_sources AS s SET channel = u.channel, learned_on = u.learned_on
FROM unnest($1::uuid[], $2::text[], $3::date[]) AS u(id, channel, learned_on)
WHERE s.id = u.id
"""


async def update_links(conn: asyncpg.Connection, changes: Sequence[LinkChange]) -> None:
    if changes:
        await conn.execute(
            UPDATE_LINKS,
            [c.id for c in changes],
            [c.channel for c in changes],
            [c.learned_on for c in changes],
        )


# Adaptations carry text[] columns, which unnest cannot take ragged; one jsonb array of
# objects, expanded by jsonb_to_recordset (JSON arrays become text[]), does it in one statement.
_ADAPTATION_TYPES = {
    "made_on": "date",
    "decided_by": "text[]",
    "context_changes": "text[]",
    "core_component_keys": "text[]",
    "goals": "text[]",
    "reasons": "text[]",
}
INSERT_ADAPTATIONS = f"""
INSERT INTO adaptations (adoption_id, innovation_id, partner_id, {", ".join(ADAPTATION_FIELDS)})
SELECT x.adoption_id, x.innovation_id, $2, {", ".join(f"x.{f}" for f in ADAPTATION_FIELDS)}
FROM jsonb_to_recordset($1::jsonb) AS x(adoption_id uuid, innovation_id uuid,
    {", ".join(f"{f} {_ADAPTATION_TYPES.get(f, 'text')}" for f in ADAPTATION_FIELDS)})
"""


async def insert_adaptations(conn: asyncpg.Connection, items: Sequence[NewAdaptation], partner_id: uuid.UUID) -> None:
    if items:
        records = [
            {"adoption_id": a.adoption_id, "innovation_id": a.innovation_id}
            | {f: getattr(a.adaptation, f) for f in ADAPTATION_FIELDS}
            for a in items
        ]
        await conn.execute(INSERT_ADAPTATIONS, records, partner_id)


# --- search documents and statistics for a bulk write ----------------------------------------

# The search triggers note what they would refresh (migration 0014); the flush refreshes each
# document once, after the last statement of the batch, with plans made for what is there now.
DEFER_SEARCH = "SELECT spread_search_defer()"
FLUSH_SEARCH = "SELECT spread_search_flush()"


async def defer_search(conn: asyncpg.Connection) -> None:
    await conn.execute(DEFER_SEARCH)


async def flush_search(conn: asyncpg.Connection) -> None:
    await conn.execute(FLUSH_SEARCH)


# What the planner believes the tables a batch writes hold (-1: never analysed).
TABLE_SIZES = """
SELECT c.relname, c.reltuples FROM pg_class c
WHERE c.oid IN ('adoptions'::regclass, 'adoption_sources'::regclass, 'adaptations'::regclass)
"""


async def table_sizes(conn: asyncpg.Connection) -> dict[str, float]:
    return {r["relname"]: float(r["reltuples"]) for r in await conn.fetch(TABLE_SIZES)}


# Inside the transaction: ANALYZE samples the rows this transaction inserted too, so the
# statements after it (the search flush) are planned for the tables as they now are.
ANALYZE = {
    "adoptions": "ANALYZE adoptions",
    "adoption_sources": "ANALYZE adoption_sources",
    "adaptations": "ANALYZE adaptations",
}


async def analyze(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(ANALYZE[table])
