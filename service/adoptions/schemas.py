"""Adoption request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from service.innovations.schemas import Innovation
from service.sites.schemas import Site
from service.types import LINE, TEXT, Base, ReadBase, SiteCode
from service.vocab import Channel, Stage

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
    """A partial update. Moving to ``discontinued`` needs ``discontinuedReason``."""

    stage: Stage | UnsetType = UNSET
    started_on: dt.date | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
    discontinued_reason: Reason | None | UnsetType = UNSET
    external_id: ExternalId | None | UnsetType = UNSET
