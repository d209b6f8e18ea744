"""Outcome demo data: real monthly A&E 4-hour performance on fictional demo adoptions.

``load_outcomes_demo`` (called by ``spread serve --demo`` through :func:`service.demo.registry.load_demo`)
adds:

- the measure ``AE_4HR``, "4-hour A&E performance (type 1)": ``1 - breaches / attendances`` at
  type-1 (major) emergency departments, higher is better;
- a clearly labelled demo innovation, "[Demo] Front-door streaming in emergency departments",
  with eleven **fictional** adoptions at real NHS trusts that run type-1 departments, started
  between April 2017 and March 2018 with learned-from links, a few FRAME adaptations and one
  discontinued adoption;
- on each adoption, that trust's **real** monthly figures from April 2016 to March 2019 (NHS
  England A&E attendances and emergency admissions, via NHSRdatasets; Open Government
  Licence v3.0), with numerator (attendances within 4 hours) and denominator (attendances);
- on each adoption an aim: from the mean of the 12 months before it started to the 95 %
  standard by 31 March 2020 (two with quarterly trajectories).

The adoptions and their dates are invented: some trusts were given start dates at which their
real figures later rose, others not, so that the SPC and insight endpoints have both to show.
Nothing here is evidence that streaming caused any change.

Idempotent: the measure and innovation are created once; observations are upserted (an
unchanged value is not rewritten, so a second run leaves no change-log entries); an aim is
added only where the adoption has none on ``AE_4HR``.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from service.adaptations.schemas import AdaptationCreate
from service.adaptations.service import create_adaptation
from service.adoptions.schemas import AdoptionCreate, SourceIn
from service.adoptions.service import create_adoption
from service.analysis.spc import exact_mean
from service.auth.queries import ensure_partner
from service.auth.schemas import Principal
from service.db import Actor
from service.innovations.schemas import CoreComponent, InnovationCreate, LinkItem
from service.innovations.service import create_innovation
from service.outcomes import queries
from service.outcomes.schemas import AdoptionAimCreate, MeasureCreate, ObservationIn, TrajectoryPoint
from service.outcomes.service import create_aim, create_measure, write_observations
from service.vocab import Channel, Stage

Echo = Callable[[str], Any]

AE_CSV = Path(__file__).resolve().parent.parent / "data" / "nhs" / "ae_attendances.csv"
DEMO_PARTNER = "Spread demo"
SLUG = "demo-ed-front-door-streaming"
CODE = "AE_4HR"
TARGET = 0.95
AIM_DUE = dt.date(2020, 3, 31)
NOTE = (
    "Demo data: a fictional adoption at a real NHS trust. The AE_4HR observations are the trust's real "
    "monthly A&E figures (NHS England, OGL v3); the adoption and its dates are invented."
)

MEASURE = MeasureCreate(
    code=CODE,
    name="4-hour A&E performance (type 1)",
    unit="proportion",
    improvement_direction="increase",
    reaim_dimension="effectiveness",
    description=(
        "Share of attendances at type-1 (major) emergency departments that were admitted, transferred or "
        "discharged within 4 hours of arrival: 1 - breaches / attendances. The NHS constitutional standard is 95%."
    ),
    source=(
        "NHS England, A&E Attendances and Emergency Admissions (monthly, by provider), as packaged in "
        "NHSRdatasets `ae_attendances`. Contains public sector information licensed under the Open Government "
        "Licence v3.0."
    ),
)

INNOVATION = InnovationCreate(
    title="[Demo] Front-door streaming in emergency departments",
    slug=SLUG,
    summary="A senior clinician at the front door streams walk-in patients to primary care, ambulatory care or "
    "the main department within 15 minutes of arrival.",
    description=(
        "Demonstration record (fictional adoption data, real outcome data). Every walk-in patient is seen by an "
        "experienced clinician within 15 minutes of arrival and streamed to a co-located GP service, same-day "
        "emergency care, or the emergency department, with agreed protocols and a daily review of breaches. "
        "The adoptions are invented; the 4-hour figures on them are each trust's real monthly performance "
        "(NHS England A&E statistics, Open Government Licence v3.0)."
    ),
    category="models_of_care",
    care_settings=["emergency department", "acute"],
    themes=["urgent and emergency care", "streaming", "four-hour standard", "patient flow"],
    evidence_level="multi_site_evaluation",
    origin_site_code="RXC",
    originated_on=dt.date(2017, 4, 3),
    core_components=[
        CoreComponent(key="front_door_clinician", name="Senior clinician at the front door", description=""),
        CoreComponent(key="streaming_protocol", name="Agreed streaming protocols", description=""),
        CoreComponent(key="gp_stream", name="Co-located GP stream", description=""),
        CoreComponent(key="breach_review", name="Daily breach review", description=""),
    ],
    links=[
        LinkItem(
            title="NHS England: A&E attendances and emergency admissions",
            url="https://www.england.nhs.uk/statistics/statistical-work-areas/ae-waiting-times-and-activity/",
        )
    ],
    origin_stage="sustaining",
)


class _Plan(msgspec.Struct, frozen=True):
    site: str
    started_on: dt.date
    stage: Stage
    source: int | None = None  # index in PLAN of the adoption it learned from
    channel: Channel = "peer_visit"
    reason: str | None = None
    trajectory: bool = False


# The origin first; each learner after the adoption it learned from.
PLAN = [
    _Plan("RXC", dt.date(2017, 4, 3), "sustaining", trajectory=True),
    _Plan("RA3", dt.date(2017, 5, 1), "sustaining", 0, "peer_visit"),
    _Plan("RWE", dt.date(2017, 6, 1), "implementing", 0, "learning_network"),
    _Plan("RTE", dt.date(2017, 7, 1), "sustaining", 1, "peer_visit"),
    _Plan("RXN", dt.date(2017, 9, 1), "implementing", 0, "conference"),
    _Plan("REM", dt.date(2017, 10, 2), "sustaining", 4, "peer_visit"),
    _Plan("RQM", dt.date(2017, 11, 1), "sustaining", 0, "collaborative", trajectory=True),
    _Plan(
        "RXR",
        dt.date(2017, 12, 1),
        "discontinued",
        4,
        "learning_network",
        reason="Could not staff the front-door clinician rota overnight; streaming paused for redesign.",
    ),
    _Plan("RDE", dt.date(2018, 1, 1), "sustaining", 3, "collaborative"),
    _Plan("RJ1", dt.date(2018, 1, 1), "implementing", 6, "community_of_practice"),
    _Plan("RTD", dt.date(2018, 3, 1), "implementing", None),
]

ADAPTATIONS: dict[str, list[dict[str, Any]]] = {
    "RA3": [
        {
            "description": "GP stream run from the urgent treatment centre next door instead of inside the department.",
            "phase": "implementation",
            "whatModified": "context",
            "planning": "planned_proactive",
            "decidedBy": ["clinical_lead", "manager"],
            "level": "site",
            "contextChanges": ["setting"],
            "fidelity": "consistent",
            "coreComponentKeys": ["gp_stream"],
            "goals": ["fit", "cost"],
            "reasons": ["organisation"],
        }
    ],
    "RTE": [
        {
            "description": "Front-door role taken by emergency nurse practitioners, with a consultant on call.",
            "phase": "implementation",
            "whatModified": "context",
            "planning": "planned_reactive",
            "decidedBy": ["manager"],
            "level": "team",
            "contextChanges": ["personnel"],
            "fidelity": "consistent",
            "coreComponentKeys": ["front_door_clinician"],
            "goals": ["workforce"],
            "reasons": ["provider"],
        },
        {
            "description": "Breach review moved from daily to weekly.",
            "phase": "maintenance",
            "whatModified": "evaluation",
            "planning": "unplanned_reactive",
            "decidedBy": ["manager"],
            "level": "site",
            "nature": "lengthening",
            "fidelity": "inconsistent",
            "coreComponentKeys": ["breach_review"],
            "goals": ["workforce"],
            "reasons": ["organisation"],
        },
    ],
    "RDE": [
        {
            "description": "Added direct streaming to same-day emergency care for suspected DVT and cellulitis.",
            "phase": "scale_up",
            "whatModified": "content",
            "planning": "planned_proactive",
            "decidedBy": ["clinical_lead"],
            "level": "site",
            "nature": "adding",
            "fidelity": "consistent",
            "coreComponentKeys": ["streaming_protocol"],
            "goals": ["effectiveness", "reach"],
            "reasons": ["recipient"],
        }
    ],
}

_EXISTING = "SELECT id FROM innovations WHERE slug = $1"
_ADOPTIONS = "SELECT id, site_code FROM adoptions WHERE innovation_id = $1 ORDER BY started_on, id"
_HAS_AIM = "SELECT EXISTS (SELECT 1 FROM aims WHERE adoption_id = $1 AND measure_code = $2)"


def read_type1_performance(path: Path = AE_CSV) -> dict[str, list[tuple[dt.date, int, int]]]:
    """Type-1 rows by trust: (month, attendances, breaches), in time order."""
    out: dict[str, list[tuple[dt.date, int, int]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["type"] != "1":
                continue
            attendances, breaches = int(row["attendances"]), int(row["breaches"])
            if attendances > 0:
                out[row["org_code"]].append((dt.date.fromisoformat(row["period"]), attendances, breaches))
    return {k: sorted(v) for k, v in out.items()}


def observations_for(months: list[tuple[dt.date, int, int]]) -> list[ObservationIn]:
    return [
        ObservationIn(
            measure_code=CODE,
            period_start=month,
            period="month",
            value=1 - breaches / attendances,
            numerator=float(attendances - breaches),
            denominator=float(attendances),
        )
        for month, attendances, breaches in months
    ]


def aim_for(plan: _Plan, months: list[tuple[dt.date, int, int]]) -> AdoptionAimCreate:
    """From the mean of the 12 months before the start to the 95 % standard by the end of March 2020."""
    before = [1 - b / a for m, a, b in months if m < plan.started_on][-12:]
    baseline = round(exact_mean(before), 3) if before else 0.85
    trajectory: list[TrajectoryPoint] = []
    if plan.trajectory:
        quarters = [dt.date(2018, 4, 1), dt.date(2018, 10, 1), dt.date(2019, 4, 1), dt.date(2019, 10, 1)]
        step = (TARGET - baseline) / (len(quarters) + 1)
        trajectory = [
            TrajectoryPoint(period_start=q, target=round(baseline + step * (i + 1), 3)) for i, q in enumerate(quarters)
        ]
    return AdoptionAimCreate(measure_code=CODE, baseline=baseline, target=TARGET, due_on=AIM_DUE, trajectory=trajectory)


async def _create_innovation(conn: asyncpg.Connection, actor: Actor, principal: Principal) -> uuid.UUID:
    innovation, _ = await create_innovation(conn, actor, principal, INNOVATION, is_demo=True)
    ids: list[uuid.UUID] = [(await conn.fetch(_ADOPTIONS, innovation.id))[0]["id"]]
    for plan in PLAN[1:]:
        sources = []
        if plan.source is not None:
            sources = [SourceIn(adoption_id=ids[plan.source], channel=plan.channel, on=plan.started_on)]
        adoption, _ = await create_adoption(
            conn,
            actor,
            principal,
            innovation.id,
            AdoptionCreate(
                site_code=plan.site,
                started_on=plan.started_on,
                stage=plan.stage,
                sources=sources,
                notes=NOTE,
                discontinued_reason=plan.reason,
            ),
        )
        ids.append(adoption.id)
        for i, body in enumerate(ADAPTATIONS.get(plan.site, [])):
            made_on = plan.started_on + dt.timedelta(days=60 + 120 * i)
            data = msgspec.convert({**body, "madeOn": made_on.isoformat()}, AdaptationCreate)
            await create_adaptation(conn, actor, principal, adoption.id, data)
    return innovation.id


async def load_outcomes_demo(conn: asyncpg.Connection, echo: Echo = print) -> None:
    """Add the AE_4HR measure, the streaming demo innovation, its observations and aims; idempotent."""
    partner_id = await ensure_partner(conn, DEMO_PARTNER)
    principal = Principal(
        key_id=uuid.UUID(int=0),
        partner_id=partner_id,
        partner_name=DEMO_PARTNER,
        scopes=("read", "write", "admin"),
        expires_at=None,
    )
    actor = Actor(partner_id=str(partner_id), partner_name=DEMO_PARTNER, request_id="spread-demo")
    performance = read_type1_performance()

    async with conn.transaction():
        if await queries.get_measure(conn, CODE) is None:
            await create_measure(conn, actor, principal, MEASURE)
        innovation_id = await conn.fetchval(_EXISTING, SLUG)
        created = innovation_id is None
        if created:
            innovation_id = await _create_innovation(conn, actor, principal)
        by_site = {r["site_code"]: r["id"] for r in await conn.fetch(_ADOPTIONS, innovation_id)}
        written = aims = 0
        for plan in PLAN:
            adoption_id = by_site.get(plan.site)
            months = performance.get(plan.site, [])
            if adoption_id is None or not months:
                continue
            result = await write_observations(conn, actor, principal, adoption_id, observations_for(months))
            written += result.created + result.updated
            if not await conn.fetchval(_HAS_AIM, adoption_id, CODE):
                await create_aim(conn, actor, principal, adoption_id, aim_for(plan, months))
                aims += 1
    state = "loaded" if created else "present"
    echo(
        f"  {INNOVATION.title}: {state}; {written} AE_4HR observations and {aims} aims written "
        f"(real monthly A&E 4-hour performance, NHS England, Open Government Licence v3.0)"
    )
