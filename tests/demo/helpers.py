"""SQL for the demo tests: row counts, lineage depth, and disturbing the reference sites."""

from __future__ import annotations

import asyncpg

TABLES = ("innovations", "adoptions", "adoption_sources", "adoption_stages", "adaptations", "changes", "sites")


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    # Table names come from the constant above, never from input.
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


# Generation of every adoption of one innovation: roots 1, others 1 + the smallest generation
# among their same-innovation sources (UNION keeps it finite; the graph is acyclic anyway).
GENERATIONS = """
WITH RECURSIVE g(id, gen) AS (
    SELECT a.id, 1 FROM adoptions a
    WHERE a.innovation_id = $1
      AND NOT EXISTS (SELECT 1 FROM adoption_sources s JOIN adoptions sa ON sa.id = s.source_adoption_id
                      WHERE s.adoption_id = a.id AND sa.innovation_id = $1)
    UNION
    SELECT s.adoption_id, g.gen + 1 FROM g JOIN adoption_sources s ON s.source_adoption_id = g.id
)
SELECT id, min(gen) AS gen FROM g GROUP BY id
"""


async def max_generation(conn: asyncpg.Connection, innovation_id: object) -> int:
    rows = await conn.fetch(GENERATIONS, innovation_id)
    return max(r["gen"] for r in rows)


async def disturb_sites(conn: asyncpg.Connection) -> list[str]:
    """Rename one trust and remove three unreferenced hospital sites, so an import has work to do."""
    await conn.execute("UPDATE sites SET name = 'Renamed for the test' WHERE code = 'RQM'")
    codes = await conn.fetch(
        """SELECT code FROM sites s WHERE kind = 'trust_site'
           AND NOT EXISTS (SELECT 1 FROM adoptions a WHERE a.site_code = s.code)
           AND NOT EXISTS (SELECT 1 FROM sites c WHERE c.parent_code = s.code)
           ORDER BY code LIMIT 3"""
    )
    removed = [r["code"] for r in codes]
    await conn.execute("DELETE FROM sites WHERE code = ANY($1::text[])", removed)
    return removed
