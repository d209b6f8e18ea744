"""A batch's plan: pure Python over the rows and the registry facts fetched for them.

``plan`` matches each row to the adoption it updates (one row per adoption), then
``check_lineage`` resolves every row's learned-from links (to a row of the batch or an adoption
in the registry) and applies the lineage rules to the graph the batch would leave behind:
sources start no later than their learners, moving a start keeps every existing link valid,
and no link closes a cycle. It then propagates rejections ONCE over the reverse graph, in
layers: a row that learns from a rejected row is rejected, and a rejected row that moved its
start keeps its old one, which may break an existing link of another moved row. Each row
enters a layer at most once and each link is looked at when one of its ends is rejected, so
the work is linear in rows plus links (a 10,000-row chain costs 10,000 steps, not 10,000
passes over 10,000 rows). No I/O: the service runs it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from service.errors import FieldError
from service.submissions.queries import ExistingAdoption, ExistingLink, InnovationInfo
from service.submissions.schemas import Report

DISCONTINUED = "discontinued"


class PlannedLink(msgspec.Struct, frozen=True, kw_only=True):
    """A learned-from link a row will leave: ``learnedFrom[index]`` resolved to ``source``."""

    index: int
    source: uuid.UUID
    channel: str
    on: dt.date | None


@dataclass(slots=True)
class Row:
    """A row on its way through the checks."""

    n: int
    report: Report | None
    errors: list[FieldError]
    external_id: str | None
    warnings: list[str] = field(default_factory=list)
    innovation: InnovationInfo | None = None
    target: ExistingAdoption | None = None
    adoption_id: uuid.UUID | None = None
    reason: str | None = None
    links: list[PlannedLink] = field(default_factory=list)
    status: str = "rejected"

    def fail(self, at: str, detail: str) -> None:
        error = FieldError(field=at, detail=detail)
        if error not in self.errors:
            self.errors.append(error)


class Registry:
    """The adoptions and links of the batch's innovations, indexed for matching."""

    def __init__(self, adoptions: list[ExistingAdoption], links: list[ExistingLink], partner_id: uuid.UUID) -> None:
        self.by_id = {a.id: a for a in adoptions}
        self.start_of = {a.id: a.started_on for a in adoptions}
        self.links = links
        self.pairs = {(link.adoption_id, link.source_adoption_id): link for link in links}
        self.incident: dict[uuid.UUID, list[ExistingLink]] = {}
        for link in links:
            self.incident.setdefault(link.adoption_id, []).append(link)
            self.incident.setdefault(link.source_adoption_id, []).append(link)
        self.open_at: dict[tuple[uuid.UUID, str], ExistingAdoption] = {}
        latest_closed: dict[tuple[uuid.UUID, str], ExistingAdoption] = {}
        self.by_external: dict[tuple[uuid.UUID, str], ExistingAdoption] = {}
        self.external_taken: set[tuple[uuid.UUID | None, uuid.UUID, str]] = set()
        for a in adoptions:
            key = (a.innovation_id, a.site_code)
            if a.stage != DISCONTINUED:
                self.open_at[key] = a
            else:
                seen = latest_closed.get(key)
                if seen is None or (a.started_on, a.created_at) > (seen.started_on, seen.created_at):
                    latest_closed[key] = a
            if a.external_id is not None:
                self.external_taken.add((a.partner_id, a.innovation_id, a.external_id))
                if a.partner_id == partner_id:
                    self.by_external[(a.innovation_id, a.external_id)] = a
        # A site's adoption: the open one, else the latest discontinued one.
        self.at_site = {**latest_closed, **self.open_at}


class LineageWork(msgspec.Struct, kw_only=True):
    """What ``check_lineage`` did, for tests that bound its work: rows placed in a rejection
    layer (each at most once) and links looked at while propagating."""

    layers: int = 0
    rows_propagated: int = 0
    links_examined: int = 0


def scc(nodes: set[uuid.UUID], edges: dict[uuid.UUID, list[uuid.UUID]]) -> list[set[uuid.UUID]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[uuid.UUID, int] = {}
    low: dict[uuid.UUID, int] = {}
    on_stack: set[uuid.UUID] = set()
    stack: list[uuid.UUID] = []
    found: list[set[uuid.UUID]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def match(r: Row, reg: Registry) -> None:
    """Find the adoption a row updates (same partner externalId, else the site's adoption)."""
    rep, inn = r.report, r.innovation
    assert rep is not None and inn is not None
    target = None
    if rep.external_id is not None:
        target = reg.by_external.get((inn.id, rep.external_id))
        if target is not None and target.site_code != rep.site_code:
            r.fail(
                "siteCode",
                f"externalId '{rep.external_id}' already names your adoption at site {target.site_code}; "
                "an adoption cannot move to another site",
            )
            return
    if target is None:
        found = reg.at_site.get((inn.id, rep.site_code))
        if found is not None and (found.stage != DISCONTINUED or rep.stage == DISCONTINUED):
            target = found
    if target is not None and target.stage == DISCONTINUED and rep.stage != DISCONTINUED:
        other = reg.open_at.get((inn.id, rep.site_code))
        if other is not None and other.id != target.id:
            r.fail(
                "stage",
                f"site {rep.site_code} already has an open adoption of this innovation ({other.id}); "
                "it cannot reopen another one",
            )
            return
    r.target = target
    r.adoption_id = target.id if target is not None else uuid.uuid4()
    r.reason = rep.discontinued_reason
    if rep.stage == DISCONTINUED and not r.reason:
        if target is not None and target.stage == DISCONTINUED and target.discontinued_reason:
            r.reason = target.discontinued_reason
        else:
            r.fail("discontinuedReason", "stage 'discontinued' needs a reason")


def plan(rows: list[Row], readable: list[Row], reg: Registry, known: set[str]) -> LineageWork:
    """Match each readable row whose innovation and site are ``known`` to the adoption it updates
    (one row per adoption), then apply the lineage rules to all of them."""
    claimed: dict[Any, int] = {}
    for r in readable:
        rep = r.report
        assert rep is not None
        if r.innovation is None or rep.site_code not in known:
            continue
        match(r, reg)
        if r.adoption_id is None:
            continue
        keys: list[Any] = [r.adoption_id, (r.innovation.id, rep.site_code, rep.external_id)]
        if r.target is None and rep.stage != DISCONTINUED:
            keys.append((r.innovation.id, rep.site_code, "open"))
        if r.target is None and rep.external_id is not None:
            keys.append((r.innovation.id, "externalId", rep.external_id))
        first = next((claimed[k] for k in keys if k in claimed), None)
        if first is not None:
            r.fail(
                "externalId" if rep.external_id is not None and r.target is None else "siteCode",
                f"row {first} already reports this adoption (site {rep.site_code}); report each adoption once per batch",
            )
            r.adoption_id = None
            continue
        for k in keys:
            claimed[k] = r.n
    return check_lineage(rows, reg)


def _where(reg: Registry, adoption_id: uuid.UUID) -> str:
    who = reg.by_id.get(adoption_id)
    return f"site {who.site_code}" if who else f"adoption {adoption_id}"


def _source_moved_after(reg: Registry, learner: uuid.UUID, source_start: dt.date, learner_start: dt.date) -> str:
    return (
        f"moving the start to {source_start} would put it after the adoption at {_where(reg, learner)} "
        f"that learned from it ({learner_start})"
    )


def _learner_moved_before(reg: Registry, source: uuid.UUID, learner_start: dt.date, source_start: dt.date) -> str:
    return (
        f"moving the start to {learner_start} would put it before its source at {_where(reg, source)} ({source_start})"
    )


def _rejected_source(site_code: str, row: int) -> str:
    return f"the row for site {site_code} (row {row}) was rejected"


def check_lineage(rows: list[Row], reg: Registry) -> LineageWork:
    """Resolve learned-from links, apply the lineage rules, then propagate rejections once.

    The first pass checks every row as if every row without errors so far were written. The
    propagation then rejects, layer by layer, what those rejections break: learners of a
    rejected row, and moved rows whose existing links a rejected row's old start now breaks.
    Cycles are searched in the first pass only: rejecting rows removes links, so it cannot
    close a new cycle among the rows kept (the database trigger remains the last guard).
    """
    candidates = [r for r in rows if r.report is not None and r.innovation is not None and r.adoption_id]
    batch_site: dict[tuple[uuid.UUID, str], Row] = {}
    for r in candidates:
        assert r.report is not None and r.innovation is not None
        batch_site.setdefault((r.innovation.id, r.report.site_code), r)
    live = [r for r in candidates if not r.errors]
    start_of = dict(reg.start_of)
    moved: set[uuid.UUID] = set()
    node_row: dict[uuid.UUID, Row] = {}
    for r in live:
        assert r.adoption_id is not None and r.report is not None
        node_row[r.adoption_id] = r
        start_of[r.adoption_id] = r.report.started_on
        if r.target is not None and r.target.started_on != r.report.started_on:
            moved.add(r.adoption_id)
    # In-batch learners of each row, for the propagation: (learner, index in its learnedFrom).
    learners: dict[int, list[tuple[Row, int]]] = {}
    new_same_day = _resolve_links(live, batch_site, reg, start_of, learners)
    touched = {link for node in moved for link in reg.incident.get(node, ())}
    _check_moves(touched, moved, node_row, reg, start_of)
    if new_same_day:
        _check_cycles(new_same_day, touched, node_row, reg, start_of)
    return _propagate([r for r in live if r.errors], live, learners, moved, node_row, reg, start_of)


def _resolve_links(
    live: list[Row],
    batch_site: dict[tuple[uuid.UUID, str], Row],
    reg: Registry,
    start_of: dict[uuid.UUID, dt.date],
    learners: dict[int, list[tuple[Row, int]]],
) -> list[tuple[Row, int, uuid.UUID]]:
    """Each live row's links; returns the new links between adoptions starting the same day."""
    new_same_day: list[tuple[Row, int, uuid.UUID]] = []
    for r in live:
        rep, inn = r.report, r.innovation
        assert rep is not None and inn is not None
        r.links = []
        for i, lf in enumerate(rep.learned_from):
            at = f"learnedFrom[{i}].siteCode"
            other = batch_site.get((inn.id, lf.site_code))
            if other is not None:
                if other.errors:
                    r.fail(at, _rejected_source(lf.site_code, other.n))
                    continue
                assert other.adoption_id is not None
                learners.setdefault(id(other), []).append((r, i))
                source = other.adoption_id
            else:
                existing = reg.at_site.get((inn.id, lf.site_code))
                if existing is None:
                    r.fail(
                        at, f"site {lf.site_code} has no adoption of this innovation, in the registry or in this batch"
                    )
                    continue
                source = existing.id
            source_start = start_of[source]
            if source_start > rep.started_on:
                r.fail(at, f"the source started on {source_start}, after this adoption ({rep.started_on})")
                continue
            r.links.append(PlannedLink(index=i, source=source, channel=lf.channel, on=lf.on))
            if source_start == rep.started_on and (r.adoption_id, source) not in reg.pairs:
                new_same_day.append((r, i, source))
    return new_same_day


def _check_moves(
    touched: set[ExistingLink],
    moved: set[uuid.UUID],
    node_row: dict[uuid.UUID, Row],
    reg: Registry,
    start_of: dict[uuid.UUID, dt.date],
) -> None:
    """Moving a start must keep every existing link's source no later than its learner."""
    for link in touched:
        learner_start = start_of.get(link.adoption_id, link.learner_started_on)
        source_start = start_of.get(link.source_adoption_id, link.source_started_on)
        if source_start <= learner_start:
            continue
        if link.source_adoption_id in moved:
            node_row[link.source_adoption_id].fail(
                "startedOn", _source_moved_after(reg, link.adoption_id, source_start, learner_start)
            )
        if link.adoption_id in moved:
            node_row[link.adoption_id].fail(
                "startedOn", _learner_moved_before(reg, link.source_adoption_id, learner_start, source_start)
            )


def _check_cycles(
    new_same_day: list[tuple[Row, int, uuid.UUID]],
    touched: set[ExistingLink],
    node_row: dict[uuid.UUID, Row],
    reg: Registry,
    start_of: dict[uuid.UUID, dt.date],
) -> None:
    """With every source starting no later than its learner, a cycle joins adoptions that start
    on the same day and needs a new link: search only those edges."""
    same_day = [link for link in reg.links if link.learner_started_on == link.source_started_on]
    edges: dict[uuid.UUID, list[uuid.UUID]] = {}
    for link in [*same_day, *touched]:
        learner_start = start_of.get(link.adoption_id, link.learner_started_on)
        if learner_start == start_of.get(link.source_adoption_id, link.source_started_on):
            edges.setdefault(link.source_adoption_id, []).append(link.adoption_id)
    for r, _, source in new_same_day:
        assert r.adoption_id is not None
        edges.setdefault(source, []).append(r.adoption_id)
    nodes = set(edges) | {n for targets in edges.values() for n in targets}
    for component in scc(nodes, edges):
        sites = sorted(
            {node_row[n].report.site_code for n in component if n in node_row and node_row[n].report}
            | {reg.by_id[n].site_code for n in component if n in reg.by_id and n not in node_row}
        )
        for r, i, source in new_same_day:
            if r.adoption_id in component and source in component:
                assert r.report is not None
                r.fail(
                    f"learnedFrom[{i}].siteCode",
                    f"learning from site {r.report.learned_from[i].site_code} would make a cycle "
                    f"(between sites {', '.join(sites)})",
                )


def _propagate(
    layer: list[Row],
    live: list[Row],
    learners: dict[int, list[tuple[Row, int]]],
    moved: set[uuid.UUID],
    node_row: dict[uuid.UUID, Row],
    reg: Registry,
    start_of: dict[uuid.UUID, dt.date],
) -> LineageWork:
    """Reject, layer by layer, what each layer of rejected rows breaks (a breadth-first search
    from the rows rejected so far over "who learns from me" and the moved rows' existing links).

    A row is judged against the layer before it only: a row still live after an earlier layer
    was not broken by it, and an earlier layer's starts do not change again."""
    work = LineageWork()
    rejected = {id(r) for r in layer}
    live_ids = {id(r) for r in live}
    while layer:
        work.layers += 1
        # Per row broken by this layer: its errors, keyed (0, index) for a rejected source and
        # (1, 0) for a move, so they read in the order a full pass would have found them.
        found: dict[int, tuple[Row, list[tuple[tuple[int, int], FieldError]]]] = {}
        for a in layer:
            assert a.report is not None and a.adoption_id is not None
            work.rows_propagated += 1
            for learner, i in learners.get(id(a), ()):
                work.links_examined += 1
                if id(learner) not in rejected:
                    detail = _rejected_source(a.report.site_code, a.n)
                    error = FieldError(field=f"learnedFrom[{i}].siteCode", detail=detail)
                    found.setdefault(id(learner), (learner, []))[1].append(((0, i), error))
            if a.adoption_id not in moved:
                continue
            # Its start goes back to the registry's: recheck its existing links to moved rows.
            start_of[a.adoption_id] = reg.start_of[a.adoption_id]
            for link in reg.incident.get(a.adoption_id, ()):
                work.links_examined += 1
                other = link.source_adoption_id if link.adoption_id == a.adoption_id else link.adoption_id
                row = node_row.get(other)
                if row is None or other not in moved or id(row) in rejected or id(row) not in live_ids:
                    continue
                learner_start = start_of.get(link.adoption_id, link.learner_started_on)
                source_start = start_of.get(link.source_adoption_id, link.source_started_on)
                if source_start <= learner_start:
                    continue
                if other == link.source_adoption_id:
                    detail = _source_moved_after(reg, link.adoption_id, source_start, learner_start)
                else:
                    detail = _learner_moved_before(reg, link.source_adoption_id, learner_start, source_start)
                found.setdefault(id(row), (row, []))[1].append(((1, 0), FieldError(field="startedOn", detail=detail)))
        layer = []
        for row, errors in found.values():
            for _, error in sorted(errors, key=lambda e: e[0]):
                if error not in row.errors:
                    row.errors.append(error)
            rejected.add(id(row))
            layer.append(row)
    return work
