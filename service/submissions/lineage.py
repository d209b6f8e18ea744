"""The lineage rules over the graph a batch would leave behind, and the propagation of
rejections through in-batch links.

``check_lineage`` resolves every row's learned-from links (to a row of the batch or an adoption
in the registry) and applies the lineage rules: sources start no later than their learners,
moving a start keeps every existing link valid, and no link closes a cycle. It then propagates
rejections ONCE over the reverse graph, in layers: a row that learns from a rejected row is
rejected, and a rejected row that moved its start keeps its old one, which may break an
existing link of another moved row. Each row enters a layer at most once and each link is
looked at when one of its ends is rejected, so the work is linear in rows plus links (a
10,000-row chain costs 10,000 steps, not 10,000 passes over 10,000 rows).
"""

from __future__ import annotations

import datetime as dt
import uuid

from service.errors import FieldError
from service.submissions.queries import ExistingLink
from service.submissions.rows import LineageWork, PlannedLink, Registry, Row


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
            {rep.site_code for n in component if n in node_row and (rep := node_row[n].report) is not None}
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


# Errors found for one row in a layer, keyed (0, index) for a rejected source and (1, 0) for a
# move, so they read in the order a full pass would have found them.
_Found = dict[int, tuple[Row, list[tuple[tuple[int, int], FieldError]]]]


class _Propagation:
    """The state of one propagation: what is rejected so far and what the moved rows start on."""

    def __init__(
        self,
        live: list[Row],
        learners: dict[int, list[tuple[Row, int]]],
        moved: set[uuid.UUID],
        node_row: dict[uuid.UUID, Row],
        reg: Registry,
        start_of: dict[uuid.UUID, dt.date],
    ) -> None:
        self.live_ids = {id(r) for r in live}
        self.learners = learners
        self.moved = moved
        self.node_row = node_row
        self.reg = reg
        self.start_of = start_of
        self.rejected: set[int] = set()
        self.work = LineageWork()

    def learners_of(self, a: Row, found: _Found) -> None:
        """Every in-batch learner of a rejected row is rejected."""
        assert a.report is not None
        for learner, i in self.learners.get(id(a), ()):
            self.work.links_examined += 1
            if id(learner) not in self.rejected:
                detail = _rejected_source(a.report.site_code, a.n)
                error = FieldError(field=f"learnedFrom[{i}].siteCode", detail=detail)
                found.setdefault(id(learner), (learner, []))[1].append(((0, i), error))

    def moves_broken_by(self, a: Row, found: _Found) -> None:
        """A rejected row keeps its registry start: recheck its existing links to moved rows."""
        assert a.adoption_id is not None
        start_of, reg = self.start_of, self.reg
        start_of[a.adoption_id] = reg.start_of[a.adoption_id]
        for link in reg.incident.get(a.adoption_id, ()):
            self.work.links_examined += 1
            other = link.source_adoption_id if link.adoption_id == a.adoption_id else link.adoption_id
            row = self.node_row.get(other)
            if row is None or other not in self.moved or id(row) in self.rejected or id(row) not in self.live_ids:
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

    def next_layer(self, layer: list[Row]) -> list[Row]:
        """The rows this layer of rejected rows breaks, with their errors recorded."""
        self.work.layers += 1
        found: _Found = {}
        for a in layer:
            self.work.rows_propagated += 1
            self.learners_of(a, found)
            if a.adoption_id in self.moved:
                self.moves_broken_by(a, found)
        broken = []
        for row, errors in found.values():
            for _, error in sorted(errors, key=lambda e: e[0]):
                if error not in row.errors:
                    row.errors.append(error)
            self.rejected.add(id(row))
            broken.append(row)
        return broken


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
    state = _Propagation(live, learners, moved, node_row, reg, start_of)
    state.rejected = {id(r) for r in layer}
    while layer:
        layer = state.next_layer(layer)
    return state.work
