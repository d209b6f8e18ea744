"""Demo innovations spreading among care homes' trusts and integrated care boards (fictional)."""

from __future__ import annotations

import datetime as dt

from service.demo.specs import DemoInnovation, adaptation

# The catalogue is data: kept compact, one adaptation per call, so it reads as a table.
# fmt: off
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
        adaptation(
            "Exercise sessions run by activity coordinators after training by a physiotherapist.",
            "implementation", "context", "planned_proactive", "manager,frontline_staff", "site", "consistent",
            context_changes=["personnel"], keys=["strength_balance"], goals="workforce,reach", reasons="organisation",
        ),
        adaptation(
            "Medication reviews done remotely by the primary care network pharmacist.",
            "implementation", "context", "planned_proactive", "clinical_lead", "network", "consistent",
            context_changes=["format"], keys=["medication_review"], goals="cost,reach", reasons="provider",
        ),
        adaptation(
            "Risk assessment simplified for residents living with dementia.",
            "pre_implementation", "content", "planned_proactive", "frontline_staff,patients", "team", "consistent",
            nature="tailoring", keys=["risk_assessment"], goals="fit,equity", reasons="recipient",
        ),
        adaptation(
            "Post-fall huddle dropped on night shifts.",
            "maintenance", "content", "unplanned_reactive", "frontline_staff", "team", "inconsistent",
            nature="removing", keys=["post_fall_huddle"], goals="workforce", reasons="organisation",
            outcome_notes="Repeat falls at night went unreviewed; the huddle was restored after an audit.",
        ),
        adaptation(
            "Added bed sensors and hip protectors for the residents at highest risk.",
            "implementation", "content", "planned_reactive", "clinical_lead,manager", "site", "consistent",
            nature="adding", goals="safety", reasons="recipient",
        ),
        adaptation(
            "Strength and balance programme shortened from twelve to eight weeks.",
            "scale_up", "content", "planned_reactive", "manager", "network", "inconsistent",
            nature="shortening", keys=["strength_balance"], goals="cost,fit", reasons="organisation,recipient",
        ),
        adaptation(
            "Outcome audit switched to the national falls dataset.",
            "maintenance", "evaluation", "planned_proactive", "commissioner", "system", "unknown",
            nature="substituting", goals="effectiveness", reasons="sociopolitical",
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
        adaptation(
            "Link workers embedded in housing and debt-advice services.",
            "scale_up", "content", "planned_proactive", "commissioner", "system", "consistent",
            nature="integrating_into_other", keys=["link_worker"], goals="equity,reach",
            reasons="recipient,sociopolitical",
        ),
        adaptation(
            "Self-referral through the library service.",
            "implementation", "content", "planned_proactive", "manager", "network", "consistent",
            nature="adding", keys=["referral_routes"], goals="reach,equity", reasons="recipient",
        ),
        adaptation(
            "Sessions capped at four because of the waiting list.",
            "maintenance", "content", "unplanned_reactive", "manager", "network", "inconsistent",
            nature="shortening", keys=["link_worker"], goals="reach,cost", reasons="organisation",
        ),
        adaptation(
            "Directory replaced by the council's existing online platform.",
            "pre_implementation", "content", "planned_proactive", "commissioner", "system", "consistent",
            nature="substituting", keys=["community_directory"], goals="cost,fit", reasons="organisation",
        ),
        adaptation(
            "Conversations offered in Urdu, Polish and Bengali by bilingual link workers.",
            "implementation", "context", "planned_proactive", "manager,patients", "network", "consistent",
            context_changes=["population", "personnel"], keys=["what_matters"], goals="equity", reasons="recipient",
        ),
        adaptation(
            "Supervision and training delivered jointly with the voluntary sector.",
            "implementation", "training", "planned_proactive", "manager", "network", "unknown",
            goals="workforce", reasons="provider",
        ),
    ],
)
# fmt: on
