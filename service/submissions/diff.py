"""What each checked row changes: the typed row plans the writer applies, and each row's status.

Pure: the rows (matched and checked by the planner), the registry facts and the existing
adaptations of the adoptions the rows update go in; a ``WritePlan`` comes out, and each row
carries ``created`` / ``updated`` / ``unchanged`` and its warnings.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable

from service.adaptations.queries import FIELDS as ADAPTATION_FIELDS
from service.adaptations.schemas import AdaptationCreate
from service.auth.schemas import Principal
from service.submissions.plans import (
    AdoptionChange,
    LinkChange,
    NewAdaptation,
    NewAdoption,
    NewLink,
    NewObservation,
    WritePlan,
)
from service.submissions.rows import Registry, Row

AdaptationKey = tuple[object, ...]


def adaptation_key(values: Iterable[object]) -> AdaptationKey:
    """An adaptation's fields (ADAPTATION_FIELDS order) as a hashable key, lists as tuples."""
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def key_of(adaptation: AdaptationCreate) -> AdaptationKey:
    return adaptation_key(getattr(adaptation, f) for f in ADAPTATION_FIELDS)


def notes_md5(notes: str) -> str:
    return hashlib.md5(notes.encode(), usedforsecurity=False).hexdigest()


class _Plan:
    """The row plans as they accumulate."""

    def __init__(self) -> None:
        self.creates: list[NewAdoption] = []
        self.updates: list[AdoptionChange] = []
        self.new_links: list[NewLink] = []
        self.changed_links: list[LinkChange] = []
        self.adaptations: list[NewAdaptation] = []
        self.observations: list[NewObservation] = []

    def frozen(self) -> WritePlan:
        return WritePlan(
            creates=tuple(self.creates),
            updates=tuple(self.updates),
            new_links=tuple(self.new_links),
            changed_links=tuple(self.changed_links),
            adaptations=tuple(self.adaptations),
            observations=tuple(self.observations),
        )


def _external_id_to_set(r: Row, reg: Registry, principal: Principal) -> str | None:
    """The externalId an update sets (only on an adoption without one, by its own partner)."""
    rep, t = r.report, r.target
    assert rep is not None and t is not None and r.innovation is not None
    if rep.external_id is None:
        return None
    if not (principal.is_admin or t.partner_id == principal.partner_id):
        # another partner's reference: neither set nor shown (issue 12)
        r.warnings.append("externalId not set: only the partner that recorded this adoption may set it")
    elif t.external_id is None:
        if (t.partner_id, r.innovation.id, rep.external_id) in reg.external_taken:
            r.warnings.append(f"externalId '{rep.external_id}' is taken by another adoption; not set")
        else:
            return rep.external_id
    elif t.external_id != rep.external_id:
        r.warnings.append(f"this adoption's externalId is '{t.external_id}'; kept it")
    return None


def _adoption(r: Row, reg: Registry, principal: Principal, out: _Plan) -> bool:
    """Plan the row's adoption: a create, an update, or nothing; True when it changes."""
    rep, inn, t = r.report, r.innovation, r.target
    assert rep is not None and inn is not None and r.adoption_id is not None
    if t is None:
        out.creates.append(
            NewAdoption(
                id=r.adoption_id,
                innovation_id=inn.id,
                site_code=rep.site_code,
                stage=rep.stage,
                started_on=rep.started_on,
                notes=rep.notes or "",
                discontinued_reason=r.reason,
                external_id=rep.external_id,
            )
        )
        return True
    external_id = _external_id_to_set(r, reg, principal)
    if (
        rep.stage == t.stage
        and rep.started_on == t.started_on
        and (rep.notes is None or notes_md5(rep.notes) == t.notes_md5)
        and r.reason == t.discontinued_reason
        and external_id is None
    ):
        return False
    out.updates.append(
        AdoptionChange(
            id=r.adoption_id,
            stage=rep.stage,
            started_on=rep.started_on,
            previous_start=t.started_on,
            notes=rep.notes,
            discontinued_reason=r.reason,
            external_id=external_id,
        )
    )
    return True


def _links(r: Row, reg: Registry, out: _Plan) -> bool:
    """Plan the row's learned-from links: new ones, and new channels or dates of existing ones."""
    assert r.adoption_id is not None
    changed = False
    for planned in r.links:
        link = reg.pairs.get((r.adoption_id, planned.source)) if r.target is not None else None  # new: no links yet
        if link is None:
            out.new_links.append(
                NewLink(
                    adoption_id=r.adoption_id,
                    source_adoption_id=planned.source,
                    channel=planned.channel,
                    learned_on=planned.on,
                )
            )
            changed = True
        elif planned.channel != link.channel or (planned.on is not None and planned.on != link.learned_on):
            learned_on = planned.on if planned.on is not None else link.learned_on
            out.changed_links.append(LinkChange(id=link.id, channel=planned.channel, learned_on=learned_on))
            changed = True
    return changed


def _adaptations(r: Row, have: Counter[AdaptationKey] | None, out: _Plan) -> bool:
    """Plan the row's adaptations not already recorded (as many times) for its adoption."""
    assert r.report is not None and r.innovation is not None and r.adoption_id is not None
    changed = False
    for adaptation in r.report.adaptations:
        if have:
            key = key_of(adaptation)
            if have[key] > 0:
                have[key] -= 1
                continue
        out.adaptations.append(
            NewAdaptation(adoption_id=r.adoption_id, innovation_id=r.innovation.id, adaptation=adaptation)
        )
        changed = True
    return changed


def write_plan(
    rows: list[Row],
    reg: Registry,
    existing_adaptations: dict[uuid.UUID, Counter[AdaptationKey]],
    principal: Principal,
) -> WritePlan:
    """The row plans of every row that passed the checks; sets each such row's status."""
    out = _Plan()
    for r in rows:
        if r.report is None or r.errors:
            continue
        assert r.adoption_id is not None
        changed = _adoption(r, reg, principal, out)
        changed = _links(r, reg, out) or changed
        changed = _adaptations(r, existing_adaptations.get(r.adoption_id), out) or changed
        r.status = "created" if r.target is None else ("updated" if changed else "unchanged")
        for observation in r.report.observations:
            out.observations.append(NewObservation(row=r.n, adoption_id=r.adoption_id, observation=observation))
    return out.frozen()
