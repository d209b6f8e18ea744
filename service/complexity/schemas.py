"""NASSS complexity assessment bodies and the innovation's complexity summary.

The seven domains of the NASSS framework (Non-adoption, Abandonment, Scale-up, Spread and
Sustainability; Greenhalgh et al., J Med Internet Res 2017;19(11):e367), each classed simple,
complicated or complex as the framework does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from msgspec import Meta

from service.types import TEXT, Base, ReadBase

Level = Literal["simple", "complicated", "complex"]
Phase = Literal["adoption", "sustainment", "abandonment"]
Notes = Annotated[str, Meta(max_length=10_000, pattern=TEXT)]

# Wire name -> column.
DOMAIN_COLUMNS: dict[str, str] = {
    "condition": "condition",
    "technology": "technology",
    "valueProposition": "value_proposition",
    "adopterSystem": "adopter_system",
    "organisation": "organisation",
    "widerContext": "wider_context",
    "embeddingOverTime": "embedding_over_time",
}


class Domains(Base, frozen=True):
    """The seven NASSS domains, each simple, complicated or complex."""

    condition: Level
    technology: Level
    value_proposition: Level
    adopter_system: Level
    organisation: Level
    wider_context: Level
    embedding_over_time: Level


class DomainsOut(ReadBase, frozen=True):
    condition: Level
    technology: Level
    value_proposition: Level
    adopter_system: Level
    organisation: Level
    wider_context: Level
    embedding_over_time: Level


class AssessmentCreate(Base, frozen=True):
    """A NASSS complexity assessment of an adoption on a date."""

    assessed_on: dt.date
    domains: Domains
    notes: Notes = ""


class Assessment(ReadBase, frozen=True):
    id: uuid.UUID
    adoption_id: uuid.UUID
    assessed_on: dt.date
    phase: Phase
    domains: DomainsOut
    notes: str
    partner: str | None
    created_at: dt.datetime


class AssessmentPage(ReadBase, frozen=True):
    items: list[Assessment]
    next_cursor: str | None


class LevelCounts(ReadBase, frozen=True):
    simple: int
    complicated: int
    complex: int


class PhaseSummary(ReadBase, frozen=True):
    """Per domain, how many adoptions' latest assessment in this phase put it at each level."""

    phase: Phase
    adoptions: int
    domains: dict[str, LevelCounts]


class ComplexitySummary(ReadBase, frozen=True):
    innovation_id: uuid.UUID
    phases: list[PhaseSummary]
