"""Adaptation request and response bodies (FRAME, Stirman et al. 2019)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from service.adoptions.schemas import Adoption
from service.types import TEXT, Base, Key, ReadBase
from service.vocab import ContextChange, Fidelity, Goal, Level, Nature, Phase, Planning, Reason, WhatModified

Description = Annotated[str, Meta(min_length=1, max_length=20_000, pattern=TEXT)]
Role = Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$(?!\n)", examples=["clinical_lead"])]
Roles = Annotated[list[Role], Meta(max_length=20)]
Keys = Annotated[list[Key], Meta(max_length=30)]
OutcomeNotes = Annotated[str, Meta(max_length=10_000, pattern=TEXT)]


class Adaptation(ReadBase, frozen=True):
    """A change a site made, coded with FRAME."""

    id: uuid.UUID
    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    description: str
    made_on: dt.date | None
    phase: Phase
    planning: Planning | None
    decided_by: list[str]
    what_modified: WhatModified
    level: Level | None
    nature: Nature | None
    context_changes: list[ContextChange]
    fidelity: Fidelity
    core_component_keys: list[str]
    goals: list[Goal]
    reasons: list[Reason]
    outcome_notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
    adoption: Adoption | UnsetType = UNSET  # with expand=adoption (service/shaping.py)


class AdaptationPage(ReadBase, frozen=True):
    items: list[Adaptation]
    next_cursor: str | None


class AdaptationCreate(Base, frozen=True):
    """A FRAME-coded adaptation. ``coreComponentKeys`` must name the innovation's core components."""

    description: Description
    phase: Phase
    what_modified: WhatModified
    made_on: dt.date | None = None
    planning: Planning | None = None
    decided_by: Roles = []
    level: Level | None = None
    nature: Nature | None = None
    context_changes: Annotated[list[ContextChange], Meta(max_length=4)] = []
    fidelity: Fidelity = "unknown"
    core_component_keys: Keys = []
    goals: Annotated[list[Goal], Meta(max_length=9)] = []
    reasons: Annotated[list[Reason], Meta(max_length=4)] = []
    outcome_notes: OutcomeNotes = ""


class AdaptationUpdate(Base, frozen=True):
    description: Description | UnsetType = UNSET
    phase: Phase | UnsetType = UNSET
    what_modified: WhatModified | UnsetType = UNSET
    made_on: dt.date | None | UnsetType = UNSET
    planning: Planning | None | UnsetType = UNSET
    decided_by: Roles | UnsetType = UNSET
    level: Level | None | UnsetType = UNSET
    nature: Nature | None | UnsetType = UNSET
    context_changes: Annotated[list[ContextChange], Meta(max_length=4)] | UnsetType = UNSET
    fidelity: Fidelity | UnsetType = UNSET
    core_component_keys: Keys | UnsetType = UNSET
    goals: Annotated[list[Goal], Meta(max_length=9)] | UnsetType = UNSET
    reasons: Annotated[list[Reason], Meta(max_length=4)] | UnsetType = UNSET
    outcome_notes: OutcomeNotes | UnsetType = UNSET
