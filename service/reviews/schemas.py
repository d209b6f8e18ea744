"""Sustainment review bodies, reviews due, and the sustainment summary.

Factors are the ten of the NHS Institute for Innovation and Improvement's Sustainability Model
(Maher, Gustafson and Evans, 2010), each recorded as the level statement chosen (1 = the
Model's lowest level statement, 4 = its highest); see docs/sustainment.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from msgspec import Meta

from service.types import TEXT, Base, ReadBase

StillInUse = Literal["yes", "partly", "no"]
Level = Annotated[
    int,
    Meta(ge=1, le=4, description="The Sustainability Model level statement chosen: 1 (lowest) to 4 (highest)"),
]
Notes = Annotated[str, Meta(max_length=10_000, pattern=TEXT)]

# Wire name -> column (the Model's ten factors, grouped process / staff / organisation).
FACTOR_COLUMNS: dict[str, str] = {
    "benefitsBeyondHelpingPatients": "benefits_beyond_patients",
    "credibilityOfBenefits": "credibility_of_benefits",
    "adaptability": "adaptability",
    "monitoringProgress": "monitoring_progress",
    "staffInvolvementAndTraining": "staff_involvement",
    "staffBehaviours": "staff_behaviours",
    "seniorLeadership": "senior_leadership",
    "clinicalLeadership": "clinical_leadership",
    "fitWithAimsAndCulture": "fit_with_aims",
    "infrastructure": "infrastructure",
}


class Factors(Base, frozen=True):
    """The ten Sustainability Model factors, each the level (1-4) chosen for it."""

    benefits_beyond_helping_patients: Level
    credibility_of_benefits: Level
    adaptability: Level
    monitoring_progress: Level
    staff_involvement_and_training: Level
    staff_behaviours: Level
    senior_leadership: Level
    clinical_leadership: Level
    fit_with_aims_and_culture: Level
    infrastructure: Level


class FactorsOut(ReadBase, frozen=True):
    benefits_beyond_helping_patients: int
    credibility_of_benefits: int
    adaptability: int
    monitoring_progress: int
    staff_involvement_and_training: int
    staff_behaviours: int
    senior_leadership: int
    clinical_leadership: int
    fit_with_aims_and_culture: int
    infrastructure: int


class ReviewCreate(Base, frozen=True):
    """A sustainment review: when, whether the innovation is still in use, the ten factors, notes."""

    reviewed_on: dt.date
    still_in_use: StillInUse
    factors: Factors
    notes: Notes = ""


class Review(ReadBase, frozen=True):
    id: uuid.UUID
    adoption_id: uuid.UUID
    reviewed_on: dt.date
    still_in_use: StillInUse
    factors: FactorsOut
    notes: str
    partner: str | None
    created_at: dt.datetime


class ReviewPage(ReadBase, frozen=True):
    items: list[Review]
    next_cursor: str | None


class DueReview(ReadBase, frozen=True):
    """A review milestone (6, 12 or 24 months after the adoption reached ``implementing``) not yet met."""

    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    site_name: str
    region_code: str | None
    implementing_on: dt.date
    months: int
    due_on: dt.date
    overdue: bool


class DueReviewPage(ReadBase, frozen=True):
    items: list[DueReview]
    next_cursor: str | None


class SurvivalPoint(ReadBase, frozen=True):
    """Kaplan-Meier share still in use ``months`` after reaching ``implementing``."""

    months: int
    still_in_use: float | None
    at_risk: int
    events: int
    censored: int


class Replacement(ReadBase, frozen=True):
    innovation_id: uuid.UUID
    adoptions: int


class Sustainment(ReadBase, frozen=True):
    innovation_id: uuid.UUID
    as_of: dt.date
    adoptions: int
    points: list[SurvivalPoint]
    replaced_by: list[Replacement]
    replaced: list[Replacement]
    method: str
