"""Insight over outcome series: exceptional adoptions, peers to learn from, RE-AIM.

Each answer reads the registry in a few set-based statements (every series of a measure, or of
an innovation's adoptions, in one query) and charts the series in Python with the same SPC
engine as ``POST /v1/analysis/spc``, in a worker thread so large scans do not block the loop.

**Improving** (all three endpoints): an adoption's series of a measure, charted as one phase,
has at least one special-cause improvement point in a period that began on or after the
adoption's start, the mean from the start on is better than the mean before it (by the
measure's improvement direction), and there are at least 2 points on each side. Measures
with no improvement direction are never "improving".
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from typing import Any

import anyio.to_thread
import asyncpg

from service.errors import InvalidInputError, NotFoundError
from service.outcomes import insight_queries, queries
from service.outcomes.insight_queries import PeerCandidate, SeriesRow
from service.outcomes.insight_schemas import (
    ExceptionalAdoption,
    ExceptionalPage,
    MeasureEffect,
    Peer,
    PeerPage,
    Reaim,
    ReaimAdoption,
    ReaimEffectiveness,
    ReaimImplementation,
    ReaimMaintenance,
    ReaimReach,
    RegionUptake,
    SiteBrief,
    SpcSummary,
)
from service.outcomes.spc_service import assess_series, assessable, could_improve

NEAR_KM = 50.0
REGIONAL_KM = 150.0
LEARNING_STAGES = ("sustaining", "implementing")


async def _assess_all(rows: list[SeriesRow]) -> list[SpcSummary | None]:
    """The SPC summary of each series that may be improving (None for the others)."""
    candidates = [could_improve(r) for r in rows]

    def work() -> list[SpcSummary | None]:
        return [assess_series(r) if c else None for r, c in zip(rows, candidates, strict=True)]

    if sum(len(r.values) for r, c in zip(rows, candidates, strict=True) if c) < 2000:
        return work()
    return await anyio.to_thread.run_sync(work)


# --- exceptional -----------------------------------------------------------------------------


async def exceptional(
    conn: asyncpg.Connection,
    measure_code: str,
    innovation_id: uuid.UUID | None,
    region: str | None,
    since: dt.date | None,
    limit: int,
) -> ExceptionalPage:
    found = await queries.get_measure(conn, measure_code)
    if found is None:
        raise InvalidInputError(f"no measure has code '{measure_code}'", field="measure")
    direction = found.measure.improvement_direction
    if direction == "neutral":
        raise InvalidInputError(
            f"measure {measure_code} has no improvement direction (neutral), so no change counts as improvement",
            field="measure",
        )
    if innovation_id is not None and not await queries.innovation_exists(conn, innovation_id):
        raise InvalidInputError(f"no innovation has id {innovation_id}", field="innovation")
    rows = await insight_queries.measure_series(conn, measure_code, innovation_id, region, since)
    summaries = await _assess_all(rows)
    assessed = sum(1 for r in rows if assessable(r))
    improving = [(r, s) for r, s in zip(rows, summaries, strict=True) if s is not None and s.improving]
    improving.sort(key=lambda rs: (-(rs[1].improvement or 0.0), rs[0].started_on, str(rs[0].adoption_id)))
    chosen = improving[:limit]
    adaptations = await insight_queries.adaptations_of(conn, [r.adoption_id for r, _ in chosen])
    items = [
        ExceptionalAdoption(
            rank=rank,
            adoption_id=r.adoption_id,
            innovation_id=r.innovation_id,
            innovation_title=r.innovation_title,
            stage=r.stage,
            started_on=r.started_on,
            site=r.site,
            spc=s,
            adaptations=adaptations[r.adoption_id],
        )
        for rank, (r, s) in enumerate(chosen, start=1)
    ]
    return ExceptionalPage(
        measure_code=measure_code,
        improvement_direction=direction,
        assessed=assessed,
        items=items,
    )


# --- peers -----------------------------------------------------------------------------------


def _improving_measures(rows: list[SeriesRow], summaries: list[SpcSummary | None]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    for r, s in zip(rows, summaries, strict=True):
        if s is not None and s.improving:
            out[r.adoption_id].append(r.measure_code)
    return {k: sorted(v) for k, v in out.items()}


def _distance_band(d: float | None) -> int:
    if d is None or math.isnan(d):
        return 3
    return 0 if d <= NEAR_KM else 1 if d <= REGIONAL_KM else 2


def peer_sort_key(p: Peer) -> tuple[Any, ...]:
    """Best first: sustaining or implementing; improving; within 50 km, 150 km, farther, unknown;
    the same kind of site; then nearest, sustaining before implementing, earliest start."""
    return (
        0 if p.stage in LEARNING_STAGES else 1,
        0 if p.improving else 1,
        _distance_band(p.distance_km),
        0 if p.same_kind else 1,
        p.distance_km if p.distance_km is not None else math.inf,
        0 if p.stage == "sustaining" else 1,
        p.started_on,
        str(p.adoption_id),
    )


def _reasons(c: PeerCandidate, target: SiteBrief, improving: list[str], distance: float | None) -> list[str]:
    reasons = [f"{c.stage} since adopting on {c.started_on.isoformat()}"]
    reasons += [f"special-cause improvement in {code} after it started" for code in improving]
    if distance is not None:
        reasons.append(f"{distance:.0f} km away")
    if c.same_icb:
        reasons.append(f"in the same ICB ({c.icb_code})")
    elif c.same_region:
        reasons.append(f"in the same region ({c.region_code})")
    if c.same_kind:
        reasons.append(f"the same kind of site as {target.code} ({c.kind})")
    return reasons


async def peers(conn: asyncpg.Connection, innovation_id: uuid.UUID, site_code: str, limit: int) -> PeerPage:
    if not await queries.innovation_exists(conn, innovation_id):
        raise NotFoundError(f"no innovation has id {innovation_id}")
    target = await insight_queries.site_brief(conn, site_code)
    if target is None:
        raise InvalidInputError(f"no site has code '{site_code}'", field="site")
    candidates = await insight_queries.peer_candidates(conn, innovation_id, site_code)
    rows = await insight_queries.innovation_series(conn, innovation_id)
    improving = _improving_measures(rows, await _assess_all(rows))
    found: list[Peer] = []
    for c in candidates:
        distance = c.distance_km
        distance = None if distance is None or math.isnan(distance) else round(distance, 1)
        measures = improving.get(c.adoption_id, [])
        found.append(
            Peer(
                adoption_id=c.adoption_id,
                stage=c.stage,
                started_on=c.started_on,
                site=SiteBrief(code=c.code, name=c.name, kind=c.kind, region_code=c.region_code, icb_code=c.icb_code),
                distance_km=distance,
                improving=bool(measures),
                improving_measures=measures,
                same_kind=bool(c.same_kind),
                reasons=_reasons(c, target, measures, distance),
            )
        )
    found.sort(key=peer_sort_key)
    return PeerPage(innovation_id=innovation_id, site=target, items=found[:limit])


# --- RE-AIM ----------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _effectiveness(rows: list[SeriesRow], summaries: list[SpcSummary | None]) -> ReaimEffectiveness:
    per_measure: dict[str, dict[str, Any]] = {}
    with_data: set[uuid.UUID] = set()
    assessed: set[uuid.UUID] = set()
    improving: set[uuid.UUID] = set()
    for r, s in zip(rows, summaries, strict=True):
        m = per_measure.setdefault(
            r.measure_code, {"direction": r.improvement_direction, "data": set(), "assessed": set(), "improving": set()}
        )
        m["data"].add(r.adoption_id)
        with_data.add(r.adoption_id)
        if assessable(r):
            m["assessed"].add(r.adoption_id)
            assessed.add(r.adoption_id)
        if s is not None and s.improving:
            m["improving"].add(r.adoption_id)
            improving.add(r.adoption_id)
    return ReaimEffectiveness(
        adoptions_with_data=len(with_data),
        assessed=len(assessed),
        improving=len(improving),
        improving_adoption_ids=sorted(improving, key=str),
        by_measure=[
            MeasureEffect(
                measure_code=code,
                improvement_direction=m["direction"],
                adoptions_with_data=len(m["data"]),
                assessed=len(m["assessed"]),
                improving=len(m["improving"]),
            )
            for code, m in sorted(per_measure.items())
        ],
    )


async def reaim(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> Reaim:
    if not await queries.innovation_exists(conn, innovation_id):
        raise NotFoundError(f"no innovation has id {innovation_id}")
    today = dt.date.today()
    c = await insight_queries.reaim_counts(conn, innovation_id, today)
    rows = await insight_queries.innovation_series(conn, innovation_id)
    summaries = await _assess_all(rows)
    regions = [
        RegionUptake(
            region_code=r.region_code,
            region_name=r.region_name,
            trusts=r.trusts,
            trusts_adopted=r.trusts_adopted,
            trust_share=_share(r.trusts_adopted, r.trusts),
            icbs=r.icbs,
            icbs_adopted=r.icbs_adopted,
            icb_share=_share(r.icbs_adopted, r.icbs),
        )
        for r in c.by_region
    ]
    return Reaim(
        innovation_id=innovation_id,
        as_of=today,
        reach=ReaimReach(
            adoptions=c.adoptions,
            sites=c.sites,
            regions=len(c.region_codes),
            icbs=len(c.icb_codes),
            region_codes=sorted(c.region_codes),
            icb_codes=sorted(c.icb_codes),
        ),
        effectiveness=_effectiveness(rows, summaries),
        adoption=ReaimAdoption(
            trusts=c.trusts,
            trusts_adopted=c.trusts_adopted,
            trust_share=_share(c.trusts_adopted, c.trusts),
            icbs=c.icbs,
            icbs_adopted=c.icbs_adopted,
            icb_share=_share(c.icbs_adopted, c.icbs),
            by_region=regions,
        ),
        implementation=ReaimImplementation(
            adoptions_by_stage=c.by_stage,
            adaptations=c.adaptations,
            adaptations_by_fidelity=c.by_fidelity,
        ),
        maintenance=ReaimMaintenance(
            sustaining=c.sustaining,
            sustained_12_months=c.sustained_12,
            discontinued=c.discontinued,
            discontinued_adoptions=c.discontinued_adoptions,
        ),
    )
