"""A batch's plan: pure Python over the rows and the registry facts fetched for them.

``check_rows`` applies the rules a row breaks against the looked-up facts (the same functions
and wording as the single-record routes: ``authz.not_site_writer``,
``adaptations.service.check_component_keys``, ``outcomes.service.check_observations``);
``plan`` matches each row to the adoption it updates (one row per adoption), then
``lineage.check_lineage`` applies the lineage rules and propagates rejections once, in linear
work; ``write_plan`` turns the surviving rows into typed row plans (``plans``) for the writer.
No I/O: the service runs the planning in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from service.adaptations.service import check_component_keys
from service.auth.schemas import Principal
from service.authz import not_site_writer
from service.errors import InvalidInputError
from service.outcomes.service import check_observations
from service.submissions.diff import write_plan
from service.submissions.lineage import check_lineage, scc
from service.submissions.queries import InnovationInfo
from service.submissions.rows import DISCONTINUED, LineageWork, PlannedLink, Registry, Row

__all__ = [
    "DISCONTINUED",
    "Facts",
    "LineageWork",
    "PlannedLink",
    "Registry",
    "Row",
    "check_alone",
    "check_lineage",
    "check_rows",
    "innovation_key",
    "match",
    "plan",
    "scc",
    "write_plan",
]


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules need from the registry, fetched (and locked) inside the write transaction."""

    innovations: dict[str, InnovationInfo]  # by id and by slug
    known_sites: frozenset[str]
    covered_sites: frozenset[str]
    measures: dict[str, tuple[str, str]]  # code -> (unit, improvement direction)


def innovation_key(ref: str) -> str:
    """An innovation reference as looked up: a canonical UUID, else the slug as given."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        return ref


def check_alone(r: Row, today: dt.date) -> None:
    """What a row breaks on its own, before any look-up."""
    rep = r.report
    assert rep is not None
    if rep.started_on > today:
        r.fail("startedOn", "startedOn cannot be in the future")
    seen: set[str] = set()
    for i, lf in enumerate(rep.learned_from):
        at = f"learnedFrom[{i}]"
        if lf.site_code == rep.site_code:
            r.fail(f"{at}.siteCode", "an adoption cannot learn from itself")
        elif lf.site_code in seen:
            r.fail(f"{at}.siteCode", "the same source is listed twice")
        seen.add(lf.site_code)
        if lf.on is not None and lf.on > today:
            r.fail(f"{at}.on", f"{lf.on} is in the future")


def check_sites(r: Row, facts: Facts, principal: Principal) -> None:
    """The row's site exists and the caller writes for it; its sources' sites exist."""
    rep = r.report
    assert rep is not None
    if rep.site_code not in facts.known_sites:
        r.fail("siteCode", f"no site has code '{rep.site_code}'")
    elif rep.site_code not in facts.covered_sites:
        r.fail("siteCode", not_site_writer(principal, rep.site_code))
    for i, lf in enumerate(rep.learned_from):
        if lf.site_code not in facts.known_sites:
            r.fail(f"learnedFrom[{i}].siteCode", f"no site has code '{lf.site_code}'")


def check_components(r: Row) -> None:
    """Every adaptation names only core components of the row's innovation."""
    if r.report is None or r.innovation is None:
        return
    known = set(r.innovation.component_keys)
    for j, adaptation in enumerate(r.report.adaptations):
        try:
            check_component_keys(adaptation.core_component_keys, known, field=f"adaptations[{j}].coreComponentKeys")
        except InvalidInputError as exc:
            r.errors.extend(exc.errors or [])


def check_rows(rows: list[Row], facts: Facts, principal: Principal, today: dt.date) -> None:
    """Resolve each readable row's innovation and apply every rule that needs no matching."""
    for r in rows:
        rep = r.report
        if rep is None:
            continue
        r.external_id = rep.external_id
        check_alone(r, today)
        r.innovation = facts.innovations.get(innovation_key(rep.innovation))
        if r.innovation is None:
            r.fail("innovation", f"no innovation has id or slug '{rep.innovation}'")
        check_sites(r, facts, principal)
        check_components(r)
        if rep.observations:
            for error in check_observations(rep.observations, facts.measures, today):
                r.fail(f"observations{error.field}", error.detail)


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
        keys = _claim_keys(r)
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


def _claim_keys(r: Row) -> list[Any]:
    """What a matched row claims, so no two rows of a batch report one adoption."""
    rep, inn = r.report, r.innovation
    assert rep is not None and inn is not None
    keys: list[Any] = [r.adoption_id, (inn.id, rep.site_code, rep.external_id)]
    if r.target is None and rep.stage != DISCONTINUED:
        keys.append((inn.id, rep.site_code, "open"))
    if r.target is None and rep.external_id is not None:
        keys.append((inn.id, "externalId", rep.external_id))
    return keys
