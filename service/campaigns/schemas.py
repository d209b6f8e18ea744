"""Campaign, commitment, impediment, breakthrough and progress bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from service.types import LINE, TEXT, Base, ReadBase, SiteCode

CampaignKind = Literal["campaign", "programme", "collaborative"]
CampaignStatus = Literal["planned", "active", "closed"]
ImpedimentCategory = Literal["resources", "training", "data", "workforce", "governance", "technology", "other"]
ImpedimentStatus = Literal["open", "support_offered", "resolved"]
ProgressStatus = Literal["met", "on_track", "off_track", "no_data"]
Apportionment = Literal["under", "fully", "over"]
ProgressFilter = Literal["stalled", "ahead", "off_track"]
SeriesPeriod = Literal["week", "month", "quarter"]

CampaignName = Annotated[str, Meta(min_length=1, max_length=300, pattern=LINE, examples=["100,000 days at home"])]
Description = Annotated[str, Meta(max_length=20_000, pattern=TEXT)]
PartnerName = Annotated[
    str, Meta(min_length=1, max_length=200, pattern=LINE, examples=["Health Innovation North West Coast"])
]
MeasureCode = Annotated[
    str, Meta(min_length=2, max_length=40, pattern=r"^[A-Z][A-Z0-9_]{1,39}$(?!\n)", examples=["VW_PATIENT_DAYS"])
]
Target = Annotated[
    float, Meta(ge=1e-6, le=1e12, description="A positive amount of the campaign measure (at least 0.000001).")
]
Baseline = Annotated[float, Meta(ge=0, le=1e12, description="The expected value at the start (normally 0).")]
Story = Annotated[str, Meta(min_length=1, max_length=20_000, pattern=TEXT)]
ImpedimentText = Annotated[str, Meta(min_length=1, max_length=5000, pattern=TEXT)]
SupportText = Annotated[str, Meta(max_length=5000, pattern=TEXT)]
Title = Annotated[str, Meta(min_length=1, max_length=300, pattern=LINE, examples=["Pharmacist on the daily huddle"])]


class Milestone(Base, frozen=True):
    """An interim target: the cumulative value expected by a date."""

    on: dt.date
    target: Target


Milestones = Annotated[list[Milestone], Meta(max_length=60)]
InnovationIds = Annotated[list[uuid.UUID], Meta(min_length=1, max_length=50)]


class Aim(Base, frozen=True):
    """Concrete and time-bound: reach ``target`` of the measure by ``dueOn``, from ``baseline`` at the start."""

    measure_code: MeasureCode
    target: Target
    due_on: dt.date
    baseline: Baseline = 0.0


# --- campaigns -------------------------------------------------------------------------------


class Campaign(ReadBase, frozen=True, omit_defaults=False):
    """A time-bound effort to spread innovations, with an aim apportioned between sites."""

    id: uuid.UUID
    name: str
    description: str
    kind: CampaignKind
    lead_partner: str
    lead_partner_id: uuid.UUID
    innovation_ids: list[uuid.UUID]
    starts_on: dt.date
    ends_on: dt.date
    aim: Aim
    milestones: list[Milestone]
    status: CampaignStatus
    commitment_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignPage(ReadBase, frozen=True):
    items: list[Campaign]
    next_cursor: str | None


class CampaignCreate(Base, frozen=True):
    """A new campaign. ``leadPartner`` defaults to the caller's partner (only admins may name another)."""

    name: CampaignName
    kind: CampaignKind
    innovation_ids: InnovationIds
    starts_on: dt.date
    ends_on: dt.date
    aim: Aim
    description: Description = ""
    lead_partner: PartnerName | None = None
    milestones: Milestones = []
    status: CampaignStatus = "planned"


class CampaignUpdate(Base, frozen=True):
    """A partial update: fields left out are untouched; ``aim``, ``milestones`` and ``innovationIds`` are replaced whole."""

    name: CampaignName | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    kind: CampaignKind | UnsetType = UNSET
    lead_partner: PartnerName | UnsetType = UNSET
    innovation_ids: InnovationIds | UnsetType = UNSET
    starts_on: dt.date | UnsetType = UNSET
    ends_on: dt.date | UnsetType = UNSET
    aim: Aim | UnsetType = UNSET
    milestones: Milestones | UnsetType = UNSET
    status: CampaignStatus | UnsetType = UNSET


# --- commitments -----------------------------------------------------------------------------


class CommitmentIn(Base, frozen=True):
    """A site's (or an ICB's) share of the aim. ``agreedOn`` defaults to today."""

    target: Target
    due_on: dt.date
    milestones: Milestones = []
    agreed_on: dt.date | None = None


class Commitment(ReadBase, frozen=True, omit_defaults=False):
    """One site's share of a campaign's aim; observations count from ``agreedOn``."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    site_code: str
    site_name: str
    site_kind: str
    target: float
    due_on: dt.date
    milestones: list[Milestone]
    agreed_on: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime


class ApportionmentSummary(ReadBase, frozen=True, omit_defaults=False):
    """The sum of every commitment's target against the campaign's: ``under``, ``fully`` or ``over`` apportioned."""

    status: Apportionment
    campaign_target: float
    committed: float
    difference: Annotated[float, Meta(description="committed - campaignTarget (negative when under-apportioned)")]
    share: Annotated[float, Meta(description="committed / campaignTarget")]
    sites: int


class CommitmentPage(ReadBase, frozen=True):
    """A page of commitments, with the apportionment of the whole campaign (not just this page)."""

    items: list[Commitment]
    apportionment: ApportionmentSummary
    next_cursor: str | None


# --- impediments -----------------------------------------------------------------------------


class ImpedimentCreate(Base, frozen=True):
    """What a site says is holding it back. ``raisedOn`` defaults to today."""

    site_code: SiteCode
    description: ImpedimentText
    category: ImpedimentCategory
    raised_on: dt.date | None = None


class ImpedimentUpdate(Base, frozen=True):
    """A partial update. Moving to ``support_offered`` or ``resolved`` dates it (today unless given)."""

    description: ImpedimentText | UnsetType = UNSET
    category: ImpedimentCategory | UnsetType = UNSET
    status: ImpedimentStatus | UnsetType = UNSET
    support_offered: SupportText | None | UnsetType = UNSET
    support_offered_on: dt.date | None | UnsetType = UNSET
    resolved_on: dt.date | None | UnsetType = UNSET


class Impediment(ReadBase, frozen=True, omit_defaults=False):
    """An impediment a site reported, and the support offered."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    site_code: str
    description: str
    category: ImpedimentCategory
    status: ImpedimentStatus
    support_offered: str | None
    raised_on: dt.date
    support_offered_on: dt.date | None
    resolved_on: dt.date | None
    partner: Annotated[str | None, Meta(description="The partner that reported it")]
    created_at: dt.datetime
    updated_at: dt.datetime


class ImpedimentPage(ReadBase, frozen=True):
    items: list[Impediment]
    next_cursor: str | None


# --- breakthroughs ---------------------------------------------------------------------------


class BreakthroughCreate(Base, frozen=True):
    """A site's idea worth spreading, optionally from one of its adaptations or adoptions."""

    site_code: SiteCode
    title: Title
    story: Story
    adaptation_id: uuid.UUID | None = None
    adoption_id: uuid.UUID | None = None
    celebrated_on: dt.date | None = None


class Breakthrough(ReadBase, frozen=True, omit_defaults=False):
    """A breakthrough: what a site found that others should try."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    site_code: str
    title: str
    story: str
    adaptation_id: uuid.UUID | None
    adoption_id: uuid.UUID | None
    celebrated_on: dt.date
    partner: Annotated[str | None, Meta(description="The partner that wrote it")]
    created_at: dt.datetime
    updated_at: dt.datetime


class BreakthroughPage(ReadBase, frozen=True):
    items: list[Breakthrough]
    next_cursor: str | None


# --- progress --------------------------------------------------------------------------------


class OverallProgress(ReadBase, frozen=True, omit_defaults=False):
    """The whole campaign: the measure's cumulative value against the aim."""

    value: float
    target: float
    expected_by_now: float
    status: ProgressStatus
    projected_completion: dt.date | None


class SiteProgress(ReadBase, frozen=True, omit_defaults=False):
    """One commitment: its sites' cumulative value against its share, from its commitment date."""

    site_code: str
    site_name: str
    target: float
    value: float
    expected_by_now: float
    status: ProgressStatus
    open_impediments: int
    stalled: bool
    counts_from: dt.date
    last_period_start: dt.date | None


class SeriesPoint(ReadBase, frozen=True, omit_defaults=False):
    """The campaign's cumulative total at the end of one period, and what the trajectory expected by then."""

    period_start: dt.date
    value: float
    expected: float


class Progress(ReadBase, frozen=True, omit_defaults=False):
    """Where the campaign stands on ``asOf``: overall, per commitment and period by period."""

    campaign_id: uuid.UUID
    measure_code: str
    as_of: dt.date
    period: SeriesPeriod
    overall: OverallProgress
    sites: list[SiteProgress]
    series: list[SeriesPoint]
