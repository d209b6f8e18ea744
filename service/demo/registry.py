"""Demo data for ``spread serve --demo``: a living registry a newcomer can explore at once.

Loads the NHS reference sites, then a handful of demo innovations (title prefix ``[Demo] ``,
``isDemo`` true) adopted across real trusts and ICBs. The adoption histories, learned-from
links and adaptations are fictional, generated from a fixed seed so every run builds the same
registry. Everything is written through the service functions, so every registry rule holds.

Idempotent: an innovation whose slug already exists is skipped, and each innovation with its
adoptions and adaptations is written in one transaction, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from service.adaptations.schemas import AdaptationCreate
from service.adaptations.service import create_adaptation
from service.adoptions.schemas import AdoptionCreate, AdoptionUpdate, SourceIn
from service.adoptions.service import create_adoption, update_adoption
from service.auth.queries import ensure_partner
from service.auth.schemas import Principal
from service.db import Actor
from service.demo.campaigns import load_campaign_demo
from service.demo.ckm import import_ckm
from service.demo.outcomes import load_outcomes_demo
from service.innovations.schemas import CoreComponent, InnovationCreate, LinkItem
from service.innovations.service import create_innovation
from service.sites.importer import ATTRIBUTION, import_reference_sites

Echo = Callable[[str], Any]

DEMO_PARTNER = "Spread demo"
DEMO_NOTE = "Demo data: a fictional adoption at a real NHS organisation."
# The fictional histories end here; ICBs exist only from 1 July 2022.
HISTORY_ENDS = dt.date(2024, 12, 31)
ICBS_FROM = dt.date(2022, 7, 1)


class DemoAdaptation(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    phase: str
    what_modified: str
    planning: str
    decided_by: list[str]
    level: str
    fidelity: str
    goals: list[str]
    reasons: list[str]
    nature: str | None = None
    context_changes: list[str] = []
    keys: list[str] = []
    outcome_notes: str = ""


class DemoInnovation(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    title: str
    summary: str
    description: str
    category: str
    care_settings: list[str]
    themes: list[str]
    evidence_level: str
    origin_site: str | None  # None: chosen from the parent's adopters (derived innovations)
    originated_on: dt.date | None
    components: list[tuple[str, str, str]]
    adaptations: list[DemoAdaptation]
    discontinue_reasons: list[str]
    adoptions: int
    pool: str  # "acute" trusts, any English "trust", or "icb"
    links: list[tuple[str, str]] = []
    derived_from: str | None = None


def _a(description: str, phase: str, what: str, planning: str, decided: str, level: str, fidelity: str, **kw: Any):
    return DemoAdaptation(
        description=description,
        phase=phase,
        what_modified=what,
        planning=planning,
        decided_by=decided.split(","),
        level=level,
        fidelity=fidelity,
        goals=kw.pop("goals").split(","),
        reasons=kw.pop("reasons").split(","),
        **kw,
    )


# The catalogue is data: kept compact, one adaptation per call, so it reads as a table.
# fmt: off
FRAILTY = DemoInnovation(
    slug="demo-frailty-virtual-wards",
    title="[Demo] Frailty virtual wards",
    summary="Hospital-level care at home for frail older people, as an alternative to admission or to shorten a stay.",
    description=(
        "Demonstration record (fictional adoption data). A consultant-led virtual ward: a comprehensive geriatric "
        "assessment, a daily multidisciplinary huddle, remote monitoring of vital signs and direct step-up "
        "referral from community services, so frail older people can be treated at home."
    ),
    category="models_of_care",
    care_settings=["acute", "community", "home"],
    themes=["frailty", "virtual wards", "hospital at home", "older people"],
    evidence_level="multi_site_evaluation",
    origin_site="RXN",
    originated_on=dt.date(2019, 6, 3),
    components=[
        ("cga", "Comprehensive geriatric assessment", "A full multidomain assessment within 24 hours of admission."),
        ("mdt_huddle", "Daily multidisciplinary huddle", "Geriatrician, nurses, therapists and social care, daily."),
        ("remote_monitoring", "Remote monitoring", "Vital signs recorded at home and reviewed twice a day."),
        ("step_up", "Step-up referral", "Direct referral from GPs and community teams, avoiding the ED."),
    ],
    links=[("NHS England: virtual wards", "https://www.england.nhs.uk/virtual-wards/")],
    adoptions=22,
    pool="acute",
    discontinue_reasons=[
        "Funding ended with the winter pilot and was not renewed.",
        "Could not recruit enough community nurses to staff the ward safely.",
    ],
    adaptations=[
        _a(
            "Daily huddle moved to a video call shared with the community nursing team.",
            "implementation", "context", "planned_proactive", "clinical_lead,manager", "team", "consistent",
            context_changes=["format"], keys=["mdt_huddle"], goals="fit,workforce", reasons="organisation",
        ),
        _a(
            "Remote monitoring offered only where a carer can use the kit; others get twice-daily visits.",
            "implementation", "content", "planned_reactive", "frontline_staff,clinical_lead", "site", "consistent",
            nature="tailoring", keys=["remote_monitoring"], goals="equity,reach", reasons="recipient",
        ),
        _a(
            "Comprehensive geriatric assessment shortened to a frailty screen plus targeted assessment.",
            "scale_up", "content", "unplanned_reactive", "manager", "site", "inconsistent",
            nature="shortening", keys=["cga"], goals="workforce,cost", reasons="provider,organisation",
            outcome_notes="Readmissions rose the following quarter; full CGA reinstated for Clinical Frailty Scale 6+.",
        ),
        _a(
            "Added a pharmacist-led medicines review on the first day.",
            "implementation", "content", "planned_proactive", "clinical_lead", "team", "consistent",
            nature="adding", goals="safety,effectiveness", reasons="provider",
        ),
        _a(
            "Step-up referrals accepted directly from the ambulance service.",
            "scale_up", "content", "planned_proactive", "commissioner,manager", "system", "consistent",
            nature="adding", keys=["step_up"], goals="reach", reasons="organisation,sociopolitical",
        ),
        _a(
            "Care-home staff trained to recognise deterioration before referring.",
            "pre_implementation", "training", "planned_proactive", "innovator,clinical_lead", "network", "unknown",
            goals="reach,safety", reasons="recipient",
        ),
        _a(
            "Ward led by advanced clinical practitioners rather than consultant geriatricians.",
            "maintenance", "context", "unplanned_reactive", "manager", "site", "unknown",
            context_changes=["personnel"], keys=["cga"], goals="workforce", reasons="provider",
        ),
    ],
)

FALLS = DemoInnovation(
    slug="demo-care-home-falls-prevention-bundle",
    title="[Demo] Falls-prevention bundle for care homes",
    summary="A four-part bundle that cuts falls among care-home residents.",
    description=(
        "Demonstration record (fictional adoption data). Every resident gets a multifactorial falls-risk "
        "assessment and a review of falls-risk medicines; residents at risk join a strength and balance "
        "programme; every fall is followed by a short post-fall huddle to learn from it."
    ),
    category="models_of_care",
    care_settings=["care home", "community"],
    themes=["falls", "care homes", "older people"],
    evidence_level="peer_reviewed",
    origin_site="RY2",
    originated_on=dt.date(2019, 9, 2),
    components=[
        ("risk_assessment", "Multifactorial falls-risk assessment", "On admission and after any fall."),
        ("medication_review", "Falls-risk medication review", "Sedatives, antihypertensives and anticholinergics."),
        ("strength_balance", "Strength and balance programme", "Twice weekly for twelve weeks."),
        ("post_fall_huddle", "Post-fall huddle", "A ten-minute review by the staff on shift after every fall."),
    ],
    adoptions=16,
    pool="trust",
    discontinue_reasons=["Care-home staff turnover meant the exercise programme could not be sustained."],
    adaptations=[
        _a(
            "Exercise sessions run by activity coordinators after training by a physiotherapist.",
            "implementation", "context", "planned_proactive", "manager,frontline_staff", "site", "consistent",
            context_changes=["personnel"], keys=["strength_balance"], goals="workforce,reach", reasons="organisation",
        ),
        _a(
            "Medication reviews done remotely by the primary care network pharmacist.",
            "implementation", "context", "planned_proactive", "clinical_lead", "network", "consistent",
            context_changes=["format"], keys=["medication_review"], goals="cost,reach", reasons="provider",
        ),
        _a(
            "Risk assessment simplified for residents living with dementia.",
            "pre_implementation", "content", "planned_proactive", "frontline_staff,patients", "team", "consistent",
            nature="tailoring", keys=["risk_assessment"], goals="fit,equity", reasons="recipient",
        ),
        _a(
            "Post-fall huddle dropped on night shifts.",
            "maintenance", "content", "unplanned_reactive", "frontline_staff", "team", "inconsistent",
            nature="removing", keys=["post_fall_huddle"], goals="workforce", reasons="organisation",
            outcome_notes="Repeat falls at night went unreviewed; the huddle was restored after an audit.",
        ),
        _a(
            "Added bed sensors and hip protectors for the residents at highest risk.",
            "implementation", "content", "planned_reactive", "clinical_lead,manager", "site", "consistent",
            nature="adding", goals="safety", reasons="recipient",
        ),
        _a(
            "Strength and balance programme shortened from twelve to eight weeks.",
            "scale_up", "content", "planned_reactive", "manager", "network", "inconsistent",
            nature="shortening", keys=["strength_balance"], goals="cost,fit", reasons="organisation,recipient",
        ),
        _a(
            "Outcome audit switched to the national falls dataset.",
            "maintenance", "evaluation", "planned_proactive", "commissioner", "system", "unknown",
            nature="substituting", goals="effectiveness", reasons="sociopolitical",
        ),
    ],
)

SEPSIS = DemoInnovation(
    slug="demo-digital-sepsis-early-warning",
    title="[Demo] Digital sepsis early-warning alert",
    summary="NEWS2 calculated in the electronic patient record, with an alert that escalates suspected sepsis.",
    description=(
        "Demonstration record (fictional adoption data). Observations entered at the bedside produce a NEWS2 "
        "score in the electronic record; a score of 5 or more with suspected infection alerts the outreach "
        "team, prompts the Sepsis Six within the hour, and feeds a monthly audit back to each ward."
    ),
    category="digital",
    care_settings=["acute", "emergency department"],
    themes=["sepsis", "patient safety", "news2", "deterioration"],
    evidence_level="peer_reviewed",
    origin_site="RTD",
    originated_on=dt.date(2019, 2, 4),
    components=[
        ("news2_alert", "NEWS2 alert in the electronic record", "Calculated from bedside observations."),
        ("escalation", "Escalation to the outreach team", "The alert pages the critical care outreach team."),
        ("sepsis_six", "Sepsis Six within one hour", "Cultures, antibiotics, fluids, lactate, oxygen, urine output."),
        ("audit_feedback", "Audit and feedback", "Monthly ward-level compliance and outcomes."),
    ],
    links=[("NICE NG51: Sepsis", "https://www.nice.org.uk/guidance/ng51")],
    adoptions=20,
    pool="acute",
    discontinue_reasons=[
        "Replaced by the alerting built into the trust's new electronic patient record.",
        "Alert fatigue: most alerts were overridden, so the tool was paused for redesign.",
    ],
    adaptations=[
        _a(
            "Alert threshold raised from NEWS2 5 to 7 on the respiratory ward to reduce alert fatigue.",
            "implementation", "content", "unplanned_reactive", "frontline_staff,clinical_lead", "team", "inconsistent",
            nature="tailoring", keys=["news2_alert"], goals="fit,workforce", reasons="provider",
        ),
        _a(
            "Alerts routed to the hospital-at-night team outside working hours.",
            "implementation", "context", "planned_proactive", "manager", "site", "consistent",
            context_changes=["personnel"], keys=["escalation"], goals="safety", reasons="organisation",
        ),
        _a(
            "Integrated into the trust's existing deteriorating-patient dashboard.",
            "pre_implementation", "content", "planned_proactive", "manager,clinical_lead", "site", "consistent",
            nature="integrating_into_other", keys=["news2_alert"], goals="fit,cost", reasons="organisation",
        ),
        _a(
            "A paediatric version added, using PEWS instead of NEWS2.",
            "scale_up", "context", "planned_proactive", "clinical_lead", "site", "unknown",
            context_changes=["population"], goals="reach,equity", reasons="recipient",
        ),
        _a(
            "Audit and feedback moved from monthly to quarterly.",
            "maintenance", "evaluation", "planned_reactive", "manager", "site", "inconsistent",
            nature="lengthening", keys=["audit_feedback"], goals="workforce", reasons="organisation",
        ),
        _a(
            "Simulation training on the alert for newly qualified nurses at induction.",
            "implementation", "training", "planned_proactive", "clinical_lead", "site", "consistent",
            nature="adding", goals="safety,effectiveness", reasons="provider",
        ),
        _a(
            "Antibiotic prescribing prompt added to the alert.",
            "scale_up", "content", "planned_proactive", "clinical_lead", "site", "consistent",
            nature="adding", keys=["sepsis_six"], goals="effectiveness,safety", reasons="provider",
        ),
    ],
)

SDEC = DemoInnovation(
    slug="demo-same-day-emergency-care",
    title="[Demo] Same-day emergency care model",
    summary="Patients who would once have been admitted are assessed, treated and sent home the same day.",
    description=(
        "Demonstration record (fictional adoption data). Patients are streamed from the emergency department "
        "and direct referrals to a same-day emergency care unit, seen by a senior clinician within an hour, "
        "treated on condition-specific ambulatory pathways and followed up in a rapid-access hot clinic."
    ),
    category="models_of_care",
    care_settings=["acute", "emergency department"],
    themes=["urgent and emergency care", "sdec", "patient flow"],
    evidence_level="national_guidance",
    origin_site="RRK",
    originated_on=dt.date(2019, 4, 1),
    components=[
        ("streaming", "Streaming at the front door", "Suitable patients streamed from triage to SDEC."),
        ("senior_review", "Senior review within an hour", "A consultant or equivalent decision-maker."),
        ("ambulatory_protocols", "Ambulatory pathways", "Protocols for PE, cellulitis, DVT, headache and more."),
        ("hot_clinic", "Hot clinic follow-up", "Rapid-access review within 72 hours instead of admission."),
    ],
    links=[
        (
            "NHS England: same day emergency care",
            "https://www.england.nhs.uk/urgent-emergency-care/same-day-emergency-care/",
        )
    ],
    adoptions=24,
    pool="acute",
    discontinue_reasons=["The unit's space was taken back for inpatient beds during winter pressures."],
    adaptations=[
        _a(
            "Opening hours extended to 22:00 on weekdays.",
            "scale_up", "content", "planned_proactive", "manager", "site", "consistent",
            nature="lengthening", goals="reach", reasons="organisation",
        ),
        _a(
            "A surgical SDEC added alongside the medical unit.",
            "scale_up", "content", "planned_proactive", "clinical_lead,manager", "site", "consistent",
            nature="adding", keys=["ambulatory_protocols"], goals="reach,effectiveness", reasons="organisation",
        ),
        _a(
            "Direct referrals from GPs and the ambulance service, not only streaming from the ED.",
            "implementation", "content", "planned_proactive", "commissioner", "system", "consistent",
            nature="adding", keys=["streaming"], goals="reach", reasons="sociopolitical,organisation",
        ),
        _a(
            "Senior review by a physician associate when no consultant is free.",
            "maintenance", "context", "unplanned_reactive", "manager", "team", "inconsistent",
            context_changes=["personnel"], keys=["senior_review"], goals="workforce", reasons="provider",
        ),
        _a(
            "Hot clinic replaced by virtual follow-up calls.",
            "implementation", "context", "planned_reactive", "clinical_lead", "team", "unknown",
            context_changes=["format"], keys=["hot_clinic"], goals="cost,satisfaction", reasons="recipient,organisation",
        ),
        _a(
            "Unit co-located with the frailty assessment service.",
            "pre_implementation", "context", "planned_proactive", "manager", "site", "consistent",
            context_changes=["setting"], goals="fit", reasons="organisation",
        ),
        _a(
            "Pathway steps reordered so point-of-care tests come first.",
            "implementation", "content", "planned_reactive", "frontline_staff", "team", "consistent",
            nature="reordering", keys=["ambulatory_protocols"], goals="effectiveness", reasons="provider",
        ),
    ],
)

SOCIAL = DemoInnovation(
    slug="demo-social-prescribing-link-workers",
    title="[Demo] Social prescribing link-worker pathway",
    summary="Link workers connect people to community support for the non-medical things that affect their health.",
    description=(
        "Demonstration record (fictional adoption data). A named link worker holds a 'what matters to you' "
        "conversation, agrees a plan over six to twelve sessions and connects the person to community "
        "groups and services from a maintained directory; people are referred by GPs, pharmacies or themselves."
    ),
    category="models_of_care",
    care_settings=["primary care", "community"],
    themes=["social prescribing", "personalised care", "health inequalities"],
    evidence_level="multi_site_evaluation",
    origin_site="QOP",
    originated_on=dt.date(2022, 7, 4),
    components=[
        ("link_worker", "Named link worker", "Six to twelve sessions with the same person."),
        ("what_matters", "What-matters conversation", "A personalised plan built on what matters to the person."),
        ("community_directory", "Community directory", "An up-to-date directory of local groups and services."),
        ("referral_routes", "Open referral routes", "Referral from GPs, pharmacies, other services and self."),
    ],
    links=[("NHS England: social prescribing", "https://www.england.nhs.uk/personalisedcare/social-prescribing/")],
    adoptions=14,
    pool="icb",
    discontinue_reasons=["Link-worker posts were not funded beyond the pilot year."],
    adaptations=[
        _a(
            "Link workers embedded in housing and debt-advice services.",
            "scale_up", "content", "planned_proactive", "commissioner", "system", "consistent",
            nature="integrating_into_other", keys=["link_worker"], goals="equity,reach",
            reasons="recipient,sociopolitical",
        ),
        _a(
            "Self-referral through the library service.",
            "implementation", "content", "planned_proactive", "manager", "network", "consistent",
            nature="adding", keys=["referral_routes"], goals="reach,equity", reasons="recipient",
        ),
        _a(
            "Sessions capped at four because of the waiting list.",
            "maintenance", "content", "unplanned_reactive", "manager", "network", "inconsistent",
            nature="shortening", keys=["link_worker"], goals="reach,cost", reasons="organisation",
        ),
        _a(
            "Directory replaced by the council's existing online platform.",
            "pre_implementation", "content", "planned_proactive", "commissioner", "system", "consistent",
            nature="substituting", keys=["community_directory"], goals="cost,fit", reasons="organisation",
        ),
        _a(
            "Conversations offered in Urdu, Polish and Bengali by bilingual link workers.",
            "implementation", "context", "planned_proactive", "manager,patients", "network", "consistent",
            context_changes=["population", "personnel"], keys=["what_matters"], goals="equity", reasons="recipient",
        ),
        _a(
            "Supervision and training delivered jointly with the voluntary sector.",
            "implementation", "training", "planned_proactive", "manager", "network", "unknown",
            goals="workforce", reasons="provider",
        ),
    ],
)

RESPIRATORY = DemoInnovation(
    slug="demo-respiratory-virtual-wards",
    title="[Demo] Virtual wards for acute respiratory infection",
    summary="A frailty virtual ward adapted so much for respiratory infection that it became an idea of its own.",
    description=(
        "Demonstration record (fictional adoption data). Derived from the frailty virtual ward: patients with "
        "acute respiratory infection are sent home with a pulse oximeter, reviewed daily by a respiratory team "
        "against agreed escalation criteria, and discharged early from hospital onto the ward."
    ),
    category="models_of_care",
    care_settings=["acute", "home"],
    themes=["respiratory", "virtual wards", "hospital at home"],
    evidence_level="local_evaluation",
    origin_site=None,
    originated_on=None,
    derived_from=FRAILTY.slug,
    components=[
        ("pulse_oximetry", "Remote pulse oximetry", "Oxygen saturation readings three times a day."),
        ("respiratory_review", "Daily respiratory review", "A respiratory clinician reviews every patient daily."),
        ("early_discharge", "Early supported discharge", "Inpatients stepped down to the ward once stable."),
        ("escalation_criteria", "Escalation criteria", "Agreed thresholds for return to hospital."),
    ],
    adoptions=12,
    pool="acute",
    discontinue_reasons=["Demand fell after the COVID-19 waves; merged back into the frailty virtual ward."],
    adaptations=[
        _a(
            "Oximeters issued in the emergency department rather than after admission.",
            "implementation", "content", "planned_proactive", "clinical_lead", "site", "consistent",
            nature="reordering", keys=["pulse_oximetry"], goals="reach,cost", reasons="organisation",
        ),
        _a(
            "Daily review by respiratory physiotherapists rather than physicians.",
            "scale_up", "context", "planned_reactive", "manager", "team", "unknown",
            context_changes=["personnel"], keys=["respiratory_review"], goals="workforce", reasons="provider",
        ),
        _a(
            "Extended to children with bronchiolitis.",
            "scale_up", "context", "planned_proactive", "clinical_lead,commissioner", "site", "unknown",
            context_changes=["population"], goals="reach", reasons="recipient,sociopolitical",
        ),
        _a(
            "Escalation criteria tailored for patients with COPD and chronic low oxygen levels.",
            "implementation", "content", "planned_reactive", "clinical_lead", "team", "consistent",
            nature="tailoring", keys=["escalation_criteria"], goals="safety,fit", reasons="recipient",
        ),
        _a(
            "Telephone readings instead of the app for patients without a smartphone.",
            "implementation", "content", "unplanned_reactive", "frontline_staff", "team", "consistent",
            nature="substituting", keys=["pulse_oximetry"], goals="equity", reasons="recipient",
        ),
    ],
)

# fmt: on

DEMO_INNOVATIONS: list[DemoInnovation] = [FRAILTY, FALLS, SEPSIS, SDEC, SOCIAL, RESPIRATORY]
DEMO_SLUGS: list[str] = [d.slug for d in DEMO_INNOVATIONS]

# Channels by how far the learner is from its source: peers nearby learn by visiting and in
# networks; further away through collaboratives, conferences and national programmes.
NEAR_CHANNELS = ["peer_visit", "peer_visit", "learning_network", "community_of_practice", "extension_agent"]
FAR_CHANNELS = ["collaborative", "conference", "national_programme", "peer_visit", "publication"]

_POOLS = {
    # Acute trusts: English trusts with hospital sites in the reference data.
    "acute": """
        SELECT t.code, t.region_code FROM sites t
        WHERE t.kind = 'trust' AND t.region_code IS NOT NULL
          AND EXISTS (SELECT 1 FROM sites s WHERE s.parent_code = t.code AND s.kind = 'trust_site')
        ORDER BY t.code""",
    "trust": "SELECT code, region_code FROM sites WHERE kind = 'trust' AND region_code IS NOT NULL ORDER BY code",
    "icb": "SELECT code, region_code FROM sites WHERE kind = 'icb' ORDER BY code",
}
_EXISTING = "SELECT slug, id FROM innovations WHERE slug = ANY($1::text[])"
_ADOPTIONS_OF = """
SELECT id, site_code, started_on, is_origin FROM adoptions WHERE innovation_id = $1 ORDER BY started_on, id
"""
_SITE_REGION = "SELECT region_code FROM sites WHERE code = $1"


class _Planned(msgspec.Struct):
    """One adoption in the plan: where, when, and which earlier adoptions it learned from."""

    site: str
    region: str | None
    started_on: dt.date
    stage: str
    sources: list[tuple[int, str, dt.date]]  # (index in the plan, channel, learned on)
    external_sources: list[tuple[uuid.UUID, str, dt.date]] = []
    id: uuid.UUID | None = None


def _between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    days = max((end - start).days, 0)
    return start + dt.timedelta(days=rng.randint(0, days))


def _stage_for(rng: random.Random, started_on: dt.date, end: dt.date) -> str:
    age = (end - started_on).days
    if age > 730:
        return rng.choice(["sustaining", "sustaining", "sustaining", "implementing"])
    if age > 365:
        return rng.choice(["implementing", "implementing", "sustaining"])
    if age > 180:
        return rng.choice(["piloting", "implementing"])
    return rng.choice(["exploring", "planning", "piloting"])


def _plan(
    spec: DemoInnovation,
    rng: random.Random,
    origin: tuple[str, str | None, dt.date],
    pool: list[tuple[str, str | None]],
    end: dt.date,
    parent_adoptions: list[dict[str, Any]],
) -> list[_Planned]:
    """The origin, then ``spec.adoptions`` learners: the origin's region first, spreading outward."""
    origin_site, origin_region, origin_date = origin
    candidates = [(c, r) for c, r in pool if c != origin_site]
    home = [c for c in candidates if c[1] == origin_region]
    away = [c for c in candidates if c[1] != origin_region]
    rng.shuffle(home)
    rng.shuffle(away)
    n_home = min(len(home), max(2, spec.adoptions // 4))
    chosen = home[:n_home] + away[: spec.adoptions - n_home]
    # Home-region sites tend to adopt earlier: sort by a noisy distance before handing out dates.
    chosen.sort(key=lambda c: (c[1] != origin_region) + rng.random() * 1.3)
    first = origin_date + dt.timedelta(days=45)
    dates = sorted(_between(rng, first, end) for _ in chosen)
    plan = [_Planned(site=origin_site, region=origin_region, started_on=origin_date, stage="sustaining", sources=[])]
    for (site, region), started_on in zip(chosen, dates, strict=True):
        learner = _Planned(
            site=site, region=region, started_on=started_on, stage=_stage_for(rng, started_on, end), sources=[]
        )
        earlier = [i for i, p in enumerate(plan) if p.started_on <= started_on]
        if rng.random() < 0.08:
            pass  # learned from a paper or a talk: a root of its own
        else:
            nearby = [i for i in earlier if plan[i].region == region]
            picked = rng.choice(nearby) if nearby and rng.random() < 0.7 else rng.choice(earlier)
            picks = [picked]
            others = [i for i in earlier if i != picked]
            if others and rng.random() < 0.2:
                picks.append(rng.choice(others))
            for i in picks:
                source = plan[i]
                channels = NEAR_CHANNELS if source.region == region else FAR_CHANNELS
                channel = "direct_from_innovator" if i == 0 and rng.random() < 0.3 else rng.choice(channels)
                learned_on = _between(rng, max(source.started_on, started_on - dt.timedelta(days=180)), started_on)
                learner.sources.append((i, channel, learned_on))
        # A derived idea's adopters sometimes learned from a site running the parent idea.
        usable = [a for a in parent_adoptions if a["started_on"] <= started_on and a["site_code"] != site]
        if usable and rng.random() < 0.25:
            parent = rng.choice(usable)
            learned_on = _between(rng, max(parent["started_on"], started_on - dt.timedelta(days=180)), started_on)
            learner.external_sources = [(parent["id"], "learning_network", learned_on)]
        plan.append(learner)
    return plan


def generations(plan: list[_Planned]) -> list[int]:
    """Generation of each planned adoption: roots 1, others 1 + the smallest among their sources."""
    gen: list[int] = []
    for p in plan:
        gen.append(1 + min(gen[i] for i, _, _ in p.sources) if p.sources else 1)
    return gen


async def _load_one(
    conn: asyncpg.Connection,
    spec: DemoInnovation,
    actor: Actor,
    principal: Principal,
    pools: dict[str, list[tuple[str, str | None]]],
    parent_id: uuid.UUID | None,
) -> tuple[uuid.UUID, str]:
    rng = random.Random(f"spread-demo:{spec.slug}")
    end = min(HISTORY_ENDS, dt.date.today())
    pool = pools[spec.pool]
    parent_adoptions: list[dict[str, Any]] = []
    derived_from_adoption: uuid.UUID | None = None
    if parent_id is not None:
        parent_adoptions = [dict(r) for r in await conn.fetch(_ADOPTIONS_OF, parent_id)]
    if spec.origin_site is None:
        # A derived idea grows at one of the parent's adopters (not its origin), some months later.
        eligible = [a for a in parent_adoptions if not a["is_origin"] and a["site_code"] in dict(pool)]
        start_from = eligible[min(2, len(eligible) - 1)] if eligible else parent_adoptions[0]
        origin_site = start_from["site_code"]
        originated_on = max(start_from["started_on"] + dt.timedelta(days=180), dt.date(2020, 11, 16))
        derived_from_adoption = start_from["id"]
    else:
        codes = dict(pool)
        origin_site = spec.origin_site if spec.origin_site in codes else pool[0][0]
        originated_on = spec.originated_on or dt.date(2019, 1, 1)
    if spec.pool == "icb":
        originated_on = max(originated_on, ICBS_FROM)
    origin_region = await conn.fetchval(_SITE_REGION, origin_site)

    innovation, _ = await create_innovation(
        conn,
        actor,
        principal,
        InnovationCreate(
            title=spec.title,
            slug=spec.slug,
            summary=spec.summary,
            description=spec.description,
            category=spec.category,
            care_settings=spec.care_settings,
            themes=spec.themes,
            evidence_level=spec.evidence_level,
            origin_site_code=origin_site,
            originated_on=originated_on,
            core_components=[CoreComponent(key=k, name=n, description=d) for k, n, d in spec.components],
            links=[LinkItem(title=t, url=u) for t, u in spec.links],
            derived_from_id=parent_id,
            derived_from_adoption_id=derived_from_adoption,
        ),
        is_demo=True,
    )
    plan = _plan(spec, rng, (origin_site, origin_region, originated_on), pool, end, parent_adoptions)
    origin_rows = await conn.fetch(_ADOPTIONS_OF, innovation.id)
    plan[0].id = origin_rows[0]["id"]

    links = 0
    for p in plan[1:]:
        sources = [SourceIn(adoption_id=plan[i].id, channel=ch, on=on) for i, ch, on in p.sources]
        sources += [SourceIn(adoption_id=a, channel=ch, on=on) for a, ch, on in p.external_sources]
        links += len(sources)
        adoption, _ = await create_adoption(
            conn,
            actor,
            principal,
            innovation.id,
            AdoptionCreate(
                site_code=p.site,
                started_on=p.started_on,
                stage=p.stage,
                sources=sources,
                notes=DEMO_NOTE,
            ),
        )
        p.id = adoption.id

    # A few adoptions are abandoned (evidence too): piloted or implemented, then discontinued.
    learners = [p for p in plan[1:] if p.stage in ("piloting", "implementing", "sustaining")]
    quitters = rng.sample(learners, k=min(len(spec.discontinue_reasons), len(learners)))
    for p, reason in zip(quitters, spec.discontinue_reasons, strict=False):
        assert p.id is not None
        await update_adoption(
            conn,
            actor,
            principal,
            p.id,
            AdoptionUpdate(stage="discontinued", discontinued_reason=reason),
            None,
        )

    adaptations = 0
    for p in plan[1:]:
        if rng.random() < 0.3:
            continue
        assert p.id is not None
        for template in rng.sample(spec.adaptations, k=rng.choice([1, 1, 2, 2, 3])):
            made_on = min(p.started_on + dt.timedelta(days=rng.randint(14, 420)), end)
            if template.phase == "pre_implementation":
                made_on = max(p.started_on - dt.timedelta(days=rng.randint(7, 90)), dt.date(2019, 1, 1))
            await create_adaptation(
                conn,
                actor,
                principal,
                p.id,
                msgspec.convert(
                    {
                        "description": template.description,
                        "madeOn": made_on.isoformat(),
                        "phase": template.phase,
                        "planning": template.planning,
                        "decidedBy": template.decided_by,
                        "whatModified": template.what_modified,
                        "level": template.level,
                        "nature": template.nature,
                        "contextChanges": template.context_changes,
                        "fidelity": template.fidelity,
                        "coreComponentKeys": template.keys,
                        "goals": template.goals,
                        "reasons": template.reasons,
                        "outcomeNotes": template.outcome_notes,
                    },
                    AdaptationCreate,
                ),
            )
            adaptations += 1

    regions = len({p.region for p in plan if p.region})
    depth = max(generations(plan))
    return innovation.id, (
        f"  {spec.title}: {len(plan)} adoptions in {regions} regions, {links} learned-from links, "
        f"{depth} generations, {len(quitters)} discontinued, {adaptations} adaptations"
    )


async def load_demo(conn: asyncpg.Connection, echo: Echo = print) -> None:
    """Load reference sites and the demo innovations; a second run changes nothing."""
    echo("Loading NHS reference sites ...")
    sites = await import_reference_sites(conn)
    echo(f"  sites: {sites.created} created, {sites.updated} updated, {sites.unchanged} unchanged")
    echo(f"  {ATTRIBUTION}")

    partner_id = await ensure_partner(conn, DEMO_PARTNER)
    principal = Principal(
        key_id=uuid.UUID(int=0),
        partner_id=partner_id,
        partner_name=DEMO_PARTNER,
        scopes=("read", "write", "admin"),
        expires_at=None,
    )
    actor = Actor(partner_id=str(partner_id), partner_name=DEMO_PARTNER, request_id="spread-demo")
    pools = {name: [(r["code"], r["region_code"]) for r in await conn.fetch(sql)] for name, sql in _POOLS.items()}
    existing = {r["slug"]: r["id"] for r in await conn.fetch(_EXISTING, DEMO_SLUGS)}

    echo("Loading demo innovations (fictional adoptions at real NHS organisations) ...")
    for spec in DEMO_INNOVATIONS:
        if spec.slug in existing:
            echo(f"  {spec.title}: already loaded")
            continue
        parent_id = existing.get(spec.derived_from) if spec.derived_from else None
        if spec.derived_from and parent_id is None:
            echo(f"  {spec.title}: skipped (its parent {spec.derived_from} is missing)")
            continue
        # One transaction per innovation: the service transactions nest as savepoints, so an
        # interrupted load leaves no half-built innovation and the next run finishes the job.
        async with conn.transaction():
            existing[spec.slug], summary = await _load_one(conn, spec, actor, principal, pools, parent_id)
        echo(summary)

    ckm = await import_ckm(conn)
    echo(
        "  Real spread: tetracycline among physicians (Coleman, Katz and Menzel, 1957): "
        f"{ckm['adopters']} adopting physicians, {ckm['links']} learned-from links"
    )
    await load_outcomes_demo(conn, echo)
    await load_campaign_demo(conn, echo)
    echo("Demo data ready. Demo innovations are titled '[Demo] ...' and have isDemo true.")
