"""Submission bodies: one adoption report per row, and the batch's answer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from msgspec import Meta

from service.adaptations.schemas import AdaptationCreate
from service.adoptions.schemas import ExternalId, Notes, Reason
from service.errors import FieldError
from service.outcomes.schemas import ObservationIn
from service.types import Base, ReadBase, SiteCode
from service.vocab import Channel, Stage

MAX_ROWS = 10_000
MAX_SOURCES = 50
MAX_ADAPTATIONS = 50
MAX_OBSERVATIONS = 1_000

Mode = Literal["atomic", "partial"]
RowStatus = Literal["created", "updated", "unchanged", "rejected"]
InnovationRef = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=120,
        pattern=r"^[A-Za-z0-9-]+$(?!\n)",
        description="The innovation's id or its slug.",
        examples=["virtual-wards-for-frailty"],
    ),
]


class LearnedFrom(Base, frozen=True):
    """A site this one learned from: its adoption of the same innovation (in the registry or this batch)."""

    site_code: SiteCode
    channel: Channel
    on: dt.date | None = None


class Report(Base, frozen=True):
    """One adoption report: a site's take-up of an innovation, as a partner's system knows it."""

    innovation: InnovationRef
    site_code: SiteCode
    stage: Stage
    started_on: dt.date
    learned_from: Annotated[list[LearnedFrom], Meta(max_length=MAX_SOURCES)] = []
    adaptations: Annotated[list[AdaptationCreate], Meta(max_length=MAX_ADAPTATIONS)] = []
    observations: Annotated[
        list[ObservationIn],
        Meta(
            max_length=MAX_OBSERVATIONS,
            description="Up to 1,000 values of measures for this row's adoption, as "
            "`POST /v1/adoptions/{id}/observations` takes them (upserted by measure, period and periodStart).",
        ),
    ] = []
    external_id: ExternalId | None = None
    notes: Notes | None = None
    discontinued_reason: Reason | None = None


class RowResult(ReadBase, frozen=True):
    """What happened to one row (``row`` is its 1-based position in the batch)."""

    row: int
    external_id: str | None
    status: RowStatus
    adoption_id: uuid.UUID | None
    errors: list[FieldError]
    warnings: list[str]


class Summary(ReadBase, frozen=True):
    created: int
    updated: int
    unchanged: int
    rejected: int


class Submission(ReadBase, frozen=True):
    """A batch's answer: a summary and one result per row."""

    id: uuid.UUID
    mode: Mode
    summary: Summary
    rows: list[RowResult]
    created_at: dt.datetime
    dry_run: Annotated[
        bool,
        Meta(
            description="true when this is the report of a dry run (`dryRun=true`): nothing was written, the id "
            "names no stored submission, and no Idempotency-Key was used."
        ),
    ] = False
