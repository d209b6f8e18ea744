"""The state a batch's rows carry through the planner, and the registry facts they are
checked against: pure data, no I/O."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import msgspec

from service.errors import FieldError
from service.submissions.queries import ExistingAdoption, ExistingLink, InnovationInfo
from service.submissions.schemas import Report, RowStatus

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
    status: RowStatus = "rejected"

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
