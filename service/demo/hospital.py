"""Demo innovations spreading among acute hospital trusts (fictional histories)."""

from __future__ import annotations

import datetime as dt

from service.demo.specs import DemoInnovation, adaptation

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
        adaptation(
            "Daily huddle moved to a video call shared with the community nursing team.",
            "implementation", "context", "planned_proactive", "clinical_lead,manager", "team", "consistent",
            context_changes=["format"], keys=["mdt_huddle"], goals="fit,workforce", reasons="organisation",
        ),
        adaptation(
            "Remote monitoring offered only where a carer can use the kit; others get twice-daily visits.",
            "implementation", "content", "planned_reactive", "frontline_staff,clinical_lead", "site", "consistent",
            nature="tailoring", keys=["remote_monitoring"], goals="equity,reach", reasons="recipient",
        ),
        adaptation(
            "Comprehensive geriatric assessment shortened to a frailty screen plus targeted assessment.",
            "scale_up", "content", "unplanned_reactive", "manager", "site", "inconsistent",
            nature="shortening", keys=["cga"], goals="workforce,cost", reasons="provider,organisation",
            outcome_notes="Readmissions rose the following quarter; full CGA reinstated for Clinical Frailty Scale 6+.",
        ),
        adaptation(
            "Added a pharmacist-led medicines review on the first day.",
            "implementation", "content", "planned_proactive", "clinical_lead", "team", "consistent",
            nature="adding", goals="safety,effectiveness", reasons="provider",
        ),
        adaptation(
            "Step-up referrals accepted directly from the ambulance service.",
            "scale_up", "content", "planned_proactive", "commissioner,manager", "system", "consistent",
            nature="adding", keys=["step_up"], goals="reach", reasons="organisation,sociopolitical",
        ),
        adaptation(
            "Care-home staff trained to recognise deterioration before referring.",
            "pre_implementation", "training", "planned_proactive", "innovator,clinical_lead", "network", "unknown",
            goals="reach,safety", reasons="recipient",
        ),
        adaptation(
            "Ward led by advanced clinical practitioners rather than consultant geriatricians.",
            "maintenance", "context", "unplanned_reactive", "manager", "site", "unknown",
            context_changes=["personnel"], keys=["cga"], goals="workforce", reasons="provider",
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
        adaptation(
            "Alert threshold raised from NEWS2 5 to 7 on the respiratory ward to reduce alert fatigue.",
            "implementation", "content", "unplanned_reactive", "frontline_staff,clinical_lead", "team", "inconsistent",
            nature="tailoring", keys=["news2_alert"], goals="fit,workforce", reasons="provider",
        ),
        adaptation(
            "Alerts routed to the hospital-at-night team outside working hours.",
            "implementation", "context", "planned_proactive", "manager", "site", "consistent",
            context_changes=["personnel"], keys=["escalation"], goals="safety", reasons="organisation",
        ),
        adaptation(
            "Integrated into the trust's existing deteriorating-patient dashboard.",
            "pre_implementation", "content", "planned_proactive", "manager,clinical_lead", "site", "consistent",
            nature="integrating_into_other", keys=["news2_alert"], goals="fit,cost", reasons="organisation",
        ),
        adaptation(
            "A paediatric version added, using PEWS instead of NEWS2.",
            "scale_up", "context", "planned_proactive", "clinical_lead", "site", "unknown",
            context_changes=["population"], goals="reach,equity", reasons="recipient",
        ),
        adaptation(
            "Audit and feedback moved from monthly to quarterly.",
            "maintenance", "evaluation", "planned_reactive", "manager", "site", "inconsistent",
            nature="lengthening", keys=["audit_feedback"], goals="workforce", reasons="organisation",
        ),
        adaptation(
            "Simulation training on the alert for newly qualified nurses at induction.",
            "implementation", "training", "planned_proactive", "clinical_lead", "site", "consistent",
            nature="adding", goals="safety,effectiveness", reasons="provider",
        ),
        adaptation(
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
        adaptation(
            "Opening hours extended to 22:00 on weekdays.",
            "scale_up", "content", "planned_proactive", "manager", "site", "consistent",
            nature="lengthening", goals="reach", reasons="organisation",
        ),
        adaptation(
            "A surgical SDEC added alongside the medical unit.",
            "scale_up", "content", "planned_proactive", "clinical_lead,manager", "site", "consistent",
            nature="adding", keys=["ambulatory_protocols"], goals="reach,effectiveness", reasons="organisation",
        ),
        adaptation(
            "Direct referrals from GPs and the ambulance service, not only streaming from the ED.",
            "implementation", "content", "planned_proactive", "commissioner", "system", "consistent",
            nature="adding", keys=["streaming"], goals="reach", reasons="sociopolitical,organisation",
        ),
        adaptation(
            "Senior review by a physician associate when no consultant is free.",
            "maintenance", "context", "unplanned_reactive", "manager", "team", "inconsistent",
            context_changes=["personnel"], keys=["senior_review"], goals="workforce", reasons="provider",
        ),
        adaptation(
            "Hot clinic replaced by virtual follow-up calls.",
            "implementation", "context", "planned_reactive", "clinical_lead", "team", "unknown",
            context_changes=["format"], keys=["hot_clinic"], goals="cost,satisfaction", reasons="recipient,organisation",
        ),
        adaptation(
            "Unit co-located with the frailty assessment service.",
            "pre_implementation", "context", "planned_proactive", "manager", "site", "consistent",
            context_changes=["setting"], goals="fit", reasons="organisation",
        ),
        adaptation(
            "Pathway steps reordered so point-of-care tests come first.",
            "implementation", "content", "planned_reactive", "frontline_staff", "team", "consistent",
            nature="reordering", keys=["ambulatory_protocols"], goals="effectiveness", reasons="provider",
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
        adaptation(
            "Oximeters issued in the emergency department rather than after admission.",
            "implementation", "content", "planned_proactive", "clinical_lead", "site", "consistent",
            nature="reordering", keys=["pulse_oximetry"], goals="reach,cost", reasons="organisation",
        ),
        adaptation(
            "Daily review by respiratory physiotherapists rather than physicians.",
            "scale_up", "context", "planned_reactive", "manager", "team", "unknown",
            context_changes=["personnel"], keys=["respiratory_review"], goals="workforce", reasons="provider",
        ),
        adaptation(
            "Extended to children with bronchiolitis.",
            "scale_up", "context", "planned_proactive", "clinical_lead,commissioner", "site", "unknown",
            context_changes=["population"], goals="reach", reasons="recipient,sociopolitical",
        ),
        adaptation(
            "Escalation criteria tailored for patients with COPD and chronic low oxygen levels.",
            "implementation", "content", "planned_reactive", "clinical_lead", "team", "consistent",
            nature="tailoring", keys=["escalation_criteria"], goals="safety,fit", reasons="recipient",
        ),
        adaptation(
            "Telephone readings instead of the app for patients without a smartphone.",
            "implementation", "content", "unplanned_reactive", "frontline_staff", "team", "consistent",
            nature="substituting", keys=["pulse_oximetry"], goals="equity", reasons="recipient",
        ),
    ],
)
# fmt: on
