"""What a batch will write, as typed row plans: the planner's answer and the writer's input.

Each plan is a named, frozen Struct (never a row of positional values), built by
``planner.write_plan`` from the rows that passed every check, and applied by ``writer.apply``
with one set-based statement per kind.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from service.adaptations.schemas import AdaptationCreate
from service.outcomes.schemas import ObservationIn


class NewAdoption(msgspec.Struct, frozen=True, kw_only=True):
    """An adoption the batch creates."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    stage: str
    started_on: dt.date
    notes: str
    discontinued_reason: str | None
    external_id: str | None


class AdoptionChange(msgspec.Struct, frozen=True, kw_only=True):
    """New values for an existing adoption; ``notes`` and ``external_id`` None keep the stored ones."""

    id: uuid.UUID
    stage: str
    started_on: dt.date
    previous_start: dt.date
    notes: str | None
    discontinued_reason: str | None
    external_id: str | None

    @property
    def moves_start(self) -> bool:
        return self.started_on != self.previous_start


class NewLink(msgspec.Struct, frozen=True, kw_only=True):
    """A learned-from link the batch adds."""

    adoption_id: uuid.UUID
    source_adoption_id: uuid.UUID
    channel: str
    learned_on: dt.date | None


class LinkChange(msgspec.Struct, frozen=True, kw_only=True):
    """A new channel or date for an existing learned-from link."""

    id: uuid.UUID
    channel: str
    learned_on: dt.date | None


class NewAdaptation(msgspec.Struct, frozen=True, kw_only=True):
    """An adaptation the batch records for an adoption (new or existing)."""

    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    adaptation: AdaptationCreate


class NewObservation(msgspec.Struct, frozen=True, kw_only=True):
    """An observation to upsert; ``row`` is the batch row it came from (its outcome may make an
    unchanged row updated)."""

    row: int
    adoption_id: uuid.UUID
    observation: ObservationIn


class WritePlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a batch writes, by kind; empty tuples write nothing."""

    creates: tuple[NewAdoption, ...] = ()
    updates: tuple[AdoptionChange, ...] = ()
    new_links: tuple[NewLink, ...] = ()
    changed_links: tuple[LinkChange, ...] = ()
    adaptations: tuple[NewAdaptation, ...] = ()
    observations: tuple[NewObservation, ...] = ()
