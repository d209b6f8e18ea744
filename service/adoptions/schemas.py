"""Adoption request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from service.innovations.schemas import Innovation
from service.sites.schemas import Site
from service.types import LINE, TEXT, Base, ReadBase, SiteCode
from service.vocab import Channel, Stage

# Why an adoption was discontinued: the de-implementation criteria of McKay et al. (2018, "Letting
# go", Am J Community Psychol 62:189-202): not effective or harmful, not the most effective or
# efficient, no longer necessary; plus "not feasible to sustain" (see docs/sustainment.md).
Criterion = Literal[
    "not_effective_or_harmful", "not_most_effective_or_efficient", "no_longer_necessary", "not_feasible_to_sustain"
]
# What happened to it: the four types of de-implementation action (Norton and Chambers, 2020,
# Implementation Science 15:2).
Outcome = Literal["removed", "replaced", "reduced", "restricted"]

Notes = Annotated[str, Meta(max_length=10_000, pattern=TEXT)]
Reason = Annotated[str, Meta(min_length=1, max_length=2000, pattern=TEXT)]
ExternalId = Annotated[str, Meta(min_length=1, max_length=200, pattern=LINE)]


class SourceIn(Base, frozen=True):
    """An earlier adoption this one learned from, and how."""

    adoption_id: uuid.UUID
    channel: Channel
    on: dt.date | None = None


class Source(ReadBase, frozen=True):
    adoption_id: uuid.UUID
    channel: Channel
    on: dt.date | None
    site_code: str
    site: Site | UnsetType = UNSET  # with expand=sources.site


class StageEntry(ReadBase, frozen=True):
    stage: Stage
    on: dt.date
    reason: str | None = None


class ReplacedByIn(Base, frozen=True):
    """The innovation that took this one's place at the site, and (optionally) the adoption of it there."""

    innovation_id: uuid.UUID
    adoption_id: uuid.UUID | None = None


class ReplacedBy(ReadBase, frozen=True):
    innovation_id: uuid.UUID
    adoption_id: uuid.UUID | None


class Adoption(ReadBase, frozen=True):
    """A site's take-up of an innovation."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    site_name: str
    stage: Stage
    stage_history: list[StageEntry]
    started_on: dt.date
    is_origin: bool
    sources: list[Source]
    notes: str
    discontinued_reason: str | None
    external_id: str | None
    partner: str | None
    adaptation_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    # Structured de-adoption (``discontinuedReason`` is its free text).
    discontinued_criterion: Criterion | None = None
    discontinued_outcome: Outcome | None = None
    replaced_by: ReplacedBy | None = None
    # Present only when asked for with expand= (service/shaping.py).
    site: Site | UnsetType = UNSET
    innovation: Innovation | UnsetType = UNSET


class AdoptionPage(ReadBase, frozen=True):
    items: list[Adoption]
    next_cursor: str | None


Sources = Annotated[list[SourceIn], Meta(max_length=50)]


class AdoptionCreate(Base, frozen=True):
    """A site taking up the innovation; ``sources`` are the adoptions it learned from."""

    site_code: SiteCode
    started_on: dt.date
    stage: Stage = "exploring"
    sources: Sources = []
    notes: Notes = ""
    discontinued_reason: Reason | None = None
    external_id: ExternalId | None = None


class AdoptionUpdate(Base, frozen=True):
    """A partial update. Moving to ``discontinued`` needs ``discontinuedReason`` (free text) or
    ``discontinuedCriterion``; ``discontinuedOutcome`` and ``replacedBy`` say what happened."""

    stage: Stage | UnsetType = UNSET
    started_on: dt.date | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
    discontinued_reason: Reason | None | UnsetType = UNSET
    external_id: ExternalId | None | UnsetType = UNSET
    discontinued_criterion: Criterion | None | UnsetType = UNSET
    discontinued_outcome: Outcome | None | UnsetType = UNSET
    replaced_by: ReplacedByIn | None | UnsetType = UNSET
