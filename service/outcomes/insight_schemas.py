"""Response bodies of the insight endpoints: exceptional adoptions, peers, RE-AIM."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import Meta

from service.analysis.schemas import PointType, Rule, Variation
from service.outcomes.schemas import Period
from service.types import ReadBase
from service.vocab import Fidelity, ImprovementDirection, Nature, Phase, Stage, WhatModified

# --- insight ---------------------------------------------------------------------------------


class SiteBrief(ReadBase, frozen=True):
    code: str
    name: str
    kind: str
    region_code: str | None
    icb_code: str | None


class AdaptationBrief(ReadBase, frozen=True):
    """What an adoption changed (FRAME), in brief; the full record is at /v1/adaptations/{id}."""

    id: uuid.UUID
    description: str
    made_on: dt.date | None
    phase: Phase
    what_modified: WhatModified
    nature: Nature | None
    fidelity: Fidelity
    core_component_keys: list[str]


class SpcSummary(ReadBase, frozen=True):
    """One adoption's series of one measure, charted as one phase and judged around the adoption's start."""

    measure_code: str
    period: Period
    points: int
    first_period: dt.date
    last_period: dt.date
    points_before: Annotated[int, Meta(description="Periods that began before the adoption started.")]
    points_after: Annotated[int, Meta(description="Periods that began on or after the adoption started.")]
    mean_before: float | None
    mean_after: float | None
    shift: Annotated[float | None, Meta(description="meanAfter - meanBefore, in the measure's unit.")]
    improvement: Annotated[
        float | None, Meta(description="The shift signed so that positive is better (by the improvement direction).")
    ]
    improvement_points_after: Annotated[
        int, Meta(description="Special-cause improvement points from the adoption's start on.")
    ]
    rules: Annotated[list[Rule], Meta(description="The rules that flagged those points.")]
    improving: Annotated[
        bool,
        Meta(
            description="Special-cause improvement after the start and a shift in the better direction "
            "(needs 2 points before and 2 after)."
        ),
    ]
    variation: Variation
    last_point_type: PointType


class ExceptionalAdoption(ReadBase, frozen=True):
    rank: int
    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    innovation_title: str
    stage: Stage
    started_on: dt.date
    site: SiteBrief
    spc: SpcSummary
    adaptations: list[AdaptationBrief]


class ExceptionalPage(ReadBase, frozen=True):
    """The adoptions showing special-cause improvement on a measure after they started, largest shift first."""

    measure_code: str
    improvement_direction: ImprovementDirection
    assessed: Annotated[int, Meta(description="Adoptions with at least 2 points before and 2 after their start.")]
    items: list[ExceptionalAdoption]


class Peer(ReadBase, frozen=True):
    """An adoption a site could learn from, and why it was suggested."""

    adoption_id: uuid.UUID
    stage: Stage
    started_on: dt.date
    site: SiteBrief
    distance_km: float | None
    improving: bool
    improving_measures: list[str]
    same_kind: bool
    reasons: list[str]


class PeerPage(ReadBase, frozen=True):
    innovation_id: uuid.UUID
    site: SiteBrief
    items: list[Peer]


class ReaimReach(ReadBase, frozen=True):
    adoptions: int
    sites: int
    regions: int
    icbs: int
    region_codes: list[str]
    icb_codes: list[str]


class RegionUptake(ReadBase, frozen=True):
    region_code: str
    region_name: str
    trusts: int
    trusts_adopted: int
    trust_share: float
    icbs: int
    icbs_adopted: int
    icb_share: float


class ReaimAdoption(ReadBase, frozen=True):
    """Share of open English trusts and ICBs that have taken the innovation up (any stage, ever)."""

    trusts: int
    trusts_adopted: int
    trust_share: float
    icbs: int
    icbs_adopted: int
    icb_share: float
    by_region: list[RegionUptake]


class StageCounts(ReadBase, frozen=True):
    exploring: int = 0
    planning: int = 0
    piloting: int = 0
    implementing: int = 0
    sustaining: int = 0
    discontinued: int = 0


class FidelityCounts(ReadBase, frozen=True):
    consistent: int = 0
    inconsistent: int = 0
    unknown: int = 0


class ReaimImplementation(ReadBase, frozen=True):
    adoptions_by_stage: StageCounts
    adaptations: int
    adaptations_by_fidelity: FidelityCounts


class DiscontinuedAdoption(ReadBase, frozen=True):
    adoption_id: uuid.UUID
    site_code: str
    on: dt.date | None
    reason: str | None


class ReaimMaintenance(ReadBase, frozen=True):
    sustaining: int
    sustained_12_months: Annotated[
        int, Meta(description="Adoptions at `sustaining` whose latest move to it was 12 months ago or more.")
    ]
    discontinued: int
    discontinued_adoptions: Annotated[list[DiscontinuedAdoption], Meta(description="The first 200, latest first.")]


class MeasureEffect(ReadBase, frozen=True):
    measure_code: str
    improvement_direction: ImprovementDirection
    adoptions_with_data: int
    assessed: int
    improving: int


class ReaimEffectiveness(ReadBase, frozen=True):
    """Adoptions with special-cause improvement after they started, on the measures observed on them."""

    adoptions_with_data: int
    assessed: int
    improving: int
    improving_adoption_ids: list[uuid.UUID]
    by_measure: list[MeasureEffect]


class Reaim(ReadBase, frozen=True):
    innovation_id: uuid.UUID
    as_of: dt.date
    reach: ReaimReach
    effectiveness: ReaimEffectiveness
    adoption: ReaimAdoption
    implementation: ReaimImplementation
    maintenance: ReaimMaintenance
