"""Applying a batch's plan: one set-based statement per kind of row plan.

The database triggers still check every link and log every change, attributed by
``write_transaction``; the writer only orders what the start-move trigger checks row by row.
"""

from __future__ import annotations

import graphlib
import uuid
from collections.abc import Sequence

import asyncpg

from service.outcomes import queries as outcome_queries
from service.submissions import bulk
from service.submissions.plans import AdoptionChange, WritePlan
from service.submissions.queries import ExistingLink


def move_order(moving: Sequence[AdoptionChange], links: Sequence[ExistingLink]) -> list[AdoptionChange]:
    """Start moves in an order that keeps every existing link valid at each step (the start-move
    trigger checks each row as it goes): moves earlier sources first, then moves later learners first."""
    by_id = {c.id: c for c in moving}
    order: list[AdoptionChange] = []
    earlier = {c.id for c in moving if c.started_on < c.previous_start}
    later = set(by_id) - earlier
    for group, reverse in ((earlier, False), (later, True)):
        graph: dict[uuid.UUID, set[uuid.UUID]] = {node: set() for node in group}
        for link in links:
            if link.adoption_id in group and link.source_adoption_id in group:
                graph[link.adoption_id].add(link.source_adoption_id)
        ordered = list(graphlib.TopologicalSorter(graph).static_order())
        order += [by_id[n] for n in (reversed(ordered) if reverse else ordered)]
    return order


async def _write_updates(
    conn: asyncpg.Connection, updates: Sequence[AdoptionChange], links: Sequence[ExistingLink]
) -> None:
    """One statement for the updates that keep their start date; the moves one by one, in order."""
    await bulk.update_adoptions(conn, [c for c in updates if not c.moves_start])
    for change in move_order([c for c in updates if c.moves_start], links):
        await bulk.update_adoptions(conn, [change])


# A batch is "large" for a table when it adds at least this many rows and at least as many as
# the planner believes the table holds: then the statements after it would be planned for a
# table it no longer resembles (a first load into empty tables), so the writer analyses it.
LARGE_BATCH = 1_000


def tables_to_analyze(plan: WritePlan, sizes: dict[str, float]) -> list[str]:
    """The tables this plan grows past what their statistics say (pure, for tests)."""
    added = {
        "adoptions": len(plan.creates),
        "adoption_sources": len(plan.new_links),
        "adaptations": len(plan.adaptations),
    }
    # Twice the batch: a rolled-back ANALYZE leaves its row count behind (pg_class is updated in place).
    return [t for t, n in added.items() if n >= LARGE_BATCH and 2 * n >= sizes.get(t, -1.0)]


async def apply(
    conn: asyncpg.Connection,
    plan: WritePlan,
    links: Sequence[ExistingLink],
    partner_id: uuid.UUID,
    *,
    dry_run: bool = False,
) -> dict[int, bool]:
    """Write the plan; returns, per row with observations, whether any of them changed anything.

    The search documents the statements touch are refreshed once, at the end (migration 0014),
    after analysing the tables the batch grew well past their statistics. A dry run, rolled back
    afterwards, skips both: its documents would be thrown away, and its statistics misleading."""
    sizes = await bulk.table_sizes(conn)
    await bulk.defer_search(conn)
    await bulk.insert_adoptions(conn, plan.creates, partner_id)
    await _write_updates(conn, plan.updates, links)
    await bulk.insert_links(conn, plan.new_links)
    await bulk.update_links(conn, plan.changed_links)
    await bulk.insert_adaptations(conn, plan.adaptations, partner_id)
    # Observations after the adoptions they belong to: one upsert for the whole batch.
    outcomes = await outcome_queries.upsert_observations_many(
        conn,
        [o.adoption_id for o in plan.observations],
        [o.observation for o in plan.observations],
        partner_id,
    )
    if not dry_run:
        for table in tables_to_analyze(plan, sizes):
            await bulk.analyze(conn, table)
        await bulk.flush_search(conn)
    observed: dict[int, bool] = {}
    for o, outcome in zip(plan.observations, outcomes, strict=True):
        observed[o.row] = observed.get(o.row, False) or outcome != "unchanged"
    return observed
