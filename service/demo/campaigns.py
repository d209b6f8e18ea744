"""Campaign demo data: one campaign over the demo virtual-ward innovations.

``load_campaign_demo`` (called by ``spread serve --demo`` through :func:`service.demo.registry.load_demo`,
after the demo innovations and the outcome demo) adds "[Demo] 6,000 patients home on virtual
wards": a 2024 campaign spreading the two demo virtual-ward innovations, with

- its own count measure, ``DEMO_VW_PATIENTS`` (patients treated on a virtual ward in the
  month). The outcome demo's ``AE_4HR`` is a proportion, and a campaign adds its measure up,
  so it cannot be the campaign's measure;
- an aim of 6,000 patients by 31 December 2024 with three interim milestones;
- commitments from six demo-adopting trusts and one ICB (Lancashire and South Cumbria, whose
  share covers its other trusts), 5,800 in all: under-apportioned by 200;
- monthly patient counts on those sites' demo adoptions: some ahead, one falling behind, one
  that stopped reporting in June (stalled);
- two impediments (one resolved, one with support offered) and two breakthroughs.

Everything is **fictional**, labelled ``[Demo]``, and written through the services (campaigns
and outcomes), so every rule holds. Idempotent: if the campaign exists nothing is written; the
whole campaign is written in one transaction, so an interrupted load leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from service.auth.queries import ensure_partner
from service.auth.schemas import Principal
from service.campaigns import commitment_service, service
from service.campaigns.schemas import (
    BreakthroughCreate,
    CampaignCreate,
    CommitmentIn,
    ImpedimentCreate,
    ImpedimentUpdate,
    Milestone,
)
from service.db import Actor

Echo = Callable[[str], Any]

DEMO_PARTNER = "Spread demo"
NAME = "[Demo] 6,000 patients home on virtual wards"
MEASURE = "DEMO_VW_PATIENTS"
SLUGS = ["demo-frailty-virtual-wards", "demo-respiratory-virtual-wards"]
YEAR = 2024

# (site, share, agreed on, patients a month at the start, growth a month, last month reported)
COMMITMENTS: list[tuple[str, int, dt.date, float, float, int]] = [
    ("RXN", 1200, dt.date(2024, 1, 1), 100, 8, 12),  # the origin: ahead all year
    ("RMP", 1100, dt.date(2024, 1, 1), 80, 7, 12),  # frailty and respiratory wards
    ("RWW", 900, dt.date(2024, 1, 15), 70, 5, 12),
    ("RWJ", 900, dt.date(2024, 2, 1), 35, 2, 12),  # falling behind
    ("RRV", 800, dt.date(2024, 3, 1), 85, 6, 6),  # stopped reporting after June: stalled
    ("RH8", 600, dt.date(2024, 1, 1), 50, 4, 12),
    ("QE1", 300, dt.date(2024, 2, 1), 25, 2, 12),  # Lancashire and South Cumbria ICB: its other trusts
]

_CAMPAIGN_EXISTS = "SELECT id FROM campaigns WHERE name = $1"
_INNOVATIONS = "SELECT id FROM innovations WHERE slug = ANY($1::text[]) ORDER BY slug"
_MEASURE_EXISTS = "SELECT EXISTS (SELECT 1 FROM measures WHERE code = $1)"
# The demo adoptions each commitment covers (its own trust's, or an ICB's trusts without a
# commitment of their own), open during the campaign year.
_COVERED_ADOPTIONS = """
SELECT a.id, a.site_code, a.innovation_id
FROM adoptions a JOIN sites s ON s.code = a.site_code
WHERE a.innovation_id = ANY($1::uuid[])
  AND (s.code = $2 OR (s.icb_code = $2 AND s.kind = 'trust' AND s.code <> ALL($3::text[])))
  AND a.started_on < $4 AND a.stage <> 'discontinued'
ORDER BY a.site_code, a.innovation_id
"""
_ADAPTATION_AT = """
SELECT ad.id, ad.description, a.site_code
FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id
WHERE a.innovation_id = ANY($1::uuid[]) AND a.site_code = ANY($2::text[])
ORDER BY ad.made_on NULLS LAST, ad.id
LIMIT 1
"""


def monthly_counts(start: float, growth: float, last_month: int, first_month: int, seed: int) -> dict[int, float]:
    """Patients a month from ``first_month`` to ``last_month``: a steady rise with a little noise."""
    rng = random.Random(seed)
    return {
        m: float(max(0, round(start + growth * (m - first_month) + rng.uniform(-6, 6))))
        for m in range(first_month, last_month + 1)
    }


async def load_campaign_demo(conn: asyncpg.Connection, echo: Echo = print) -> None:
    """Add the demo campaign, its measure, commitments, observations, impediments and breakthroughs; idempotent."""
    if await conn.fetchval(_CAMPAIGN_EXISTS, NAME) is not None:
        echo(f"  {NAME}: already loaded")
        return
    innovation_ids = [r["id"] for r in await conn.fetch(_INNOVATIONS, SLUGS)]
    if len(innovation_ids) != len(SLUGS):
        echo(f"  {NAME}: skipped (the demo virtual-ward innovations are missing)")
        return
    from service.outcomes.schemas import MeasureCreate, ObservationIn
    from service.outcomes.service import create_measure, write_observations

    partner_id = await ensure_partner(conn, DEMO_PARTNER)
    principal = Principal(
        key_id=uuid.UUID(int=0),
        partner_id=partner_id,
        partner_name=DEMO_PARTNER,
        scopes=("read", "write", "admin"),
        expires_at=None,
    )
    actor = Actor(partner_id=str(partner_id), partner_name=DEMO_PARTNER, request_id="spread-demo")
    observations = 0
    async with conn.transaction():
        if not await conn.fetchval(_MEASURE_EXISTS, MEASURE):
            await create_measure(
                conn,
                actor,
                principal,
                MeasureCreate(
                    code=MEASURE,
                    name="[Demo] Patients treated on a virtual ward",
                    unit="patients",
                    improvement_direction="increase",
                    reaim_dimension="reach",
                    description="Demo measure (fictional data): patients admitted to a virtual ward in the period.",
                    source="Spread demo data",
                ),
            )
        campaign, _ = await service.create_campaign(
            conn,
            actor,
            principal,
            msgspec.convert(
                {
                    "name": NAME,
                    "kind": "campaign",
                    "description": (
                        "Demonstration campaign (fictional data). Treat 6,000 patients on frailty and respiratory "
                        "virtual wards in 2024 instead of in hospital, apportioned between the trusts and ICBs "
                        "that run them, tracked month by month."
                    ),
                    "innovationIds": [str(i) for i in innovation_ids],
                    "startsOn": f"{YEAR}-01-01",
                    "endsOn": f"{YEAR}-12-31",
                    "aim": {"measureCode": MEASURE, "baseline": 0, "target": 6000, "dueOn": f"{YEAR}-12-31"},
                    "milestones": [
                        {"on": f"{YEAR}-04-01", "target": 1000},
                        {"on": f"{YEAR}-07-01", "target": 2600},
                        {"on": f"{YEAR}-10-01", "target": 4300},
                    ],
                    "status": "active",
                },
                CampaignCreate,
            ),
        )
        committed = [c[0] for c in COMMITMENTS]
        for i, (site, share, agreed_on, start, growth, last_month) in enumerate(COMMITMENTS):
            halfway = dt.date(YEAR, 7, 1) if agreed_on < dt.date(YEAR, 7, 1) else None
            await commitment_service.put_commitment(
                conn,
                actor,
                principal,
                campaign.id,
                site,
                CommitmentIn(
                    target=share,
                    due_on=dt.date(YEAR, 12, 31),
                    agreed_on=agreed_on,
                    milestones=[Milestone(on=halfway, target=share * 0.4)] if halfway else [],
                ),
                None,
            )
            adoptions = await conn.fetch(_COVERED_ADOPTIONS, innovation_ids, site, committed, dt.date(YEAR, 1, 1))
            for j, adoption in enumerate(adoptions):
                # Several adoptions under one commitment share its patients.
                first_month = agreed_on.month if agreed_on.day == 1 else agreed_on.month + 1
                counts = monthly_counts(
                    start / len(adoptions), growth / len(adoptions), last_month, first_month, i * 10 + j
                )
                items = [
                    ObservationIn(measure_code=MEASURE, period_start=dt.date(YEAR, m, 1), period="month", value=value)
                    for m, value in counts.items()
                ]
                await write_observations(conn, actor, principal, adoption["id"], items)
                observations += len(items)

        workforce, _ = await commitment_service.create_impediment(
            conn,
            actor,
            principal,
            campaign.id,
            ImpedimentCreate(
                site_code="RRV",
                description="Community nursing vacancies: no one to staff virtual-ward visits at weekends.",
                category="workforce",
                raised_on=dt.date(YEAR, 6, 20),
            ),
        )
        await commitment_service.update_impediment(
            conn,
            actor,
            principal,
            workforce.id,
            ImpedimentUpdate(
                status="support_offered",
                support_offered="Weekend cover from the regional virtual-ward hub until recruitment completes.",
                support_offered_on=dt.date(YEAR, 7, 10),
            ),
            None,
        )
        kit, _ = await commitment_service.create_impediment(
            conn,
            actor,
            principal,
            campaign.id,
            ImpedimentCreate(
                site_code="RWJ",
                description="Remote-monitoring readings do not reach the electronic patient record.",
                category="technology",
                raised_on=dt.date(YEAR, 3, 5),
            ),
        )
        await commitment_service.update_impediment(
            conn,
            actor,
            principal,
            kit.id,
            ImpedimentUpdate(
                status="resolved",
                support_offered="Integration built by the ICB digital team.",
                support_offered_on=dt.date(YEAR, 3, 20),
                resolved_on=dt.date(YEAR, 5, 20),
            ),
            None,
        )

        adaptation = await conn.fetchrow(_ADAPTATION_AT, innovation_ids, committed)
        breakthroughs = [
            BreakthroughCreate(
                site_code="RXN",
                title="Step-up straight from the ambulance",
                story=(
                    "Demo story. Paramedics refer frail patients directly to the virtual ward instead of conveying "
                    "them to the emergency department; a consultant calls back within 30 minutes."
                ),
                celebrated_on=dt.date(YEAR, 5, 14),
            )
        ]
        if adaptation is not None:
            breakthroughs.append(
                BreakthroughCreate(
                    site_code=adaptation["site_code"],
                    title="A change worth copying",
                    story=f"Demo story. {adaptation['description']} Other sites in the campaign are trying it.",
                    adaptation_id=adaptation["id"],
                    celebrated_on=dt.date(YEAR, 9, 26),
                )
            )
        for breakthrough in breakthroughs:
            await commitment_service.create_breakthrough(conn, actor, principal, campaign.id, breakthrough)
    echo(
        f"  {NAME}: {len(COMMITMENTS)} commitments (5,800 of 6,000 apportioned), {observations} {MEASURE} "
        f"observations, 2 impediments, {len(breakthroughs)} breakthroughs (fictional)"
    )
