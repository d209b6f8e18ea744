"""The domain's controlled vocabularies (exact API values, see DOMAIN.md), as Literal types."""

from __future__ import annotations

from typing import Literal, get_args

Category = Literal[
    "medical_device",
    "in_vitro_diagnostic",
    "pharmaceutical",
    "digital",
    "ai",
    "education",
    "models_of_care",
    "estates_and_facilities",
    "data_and_monitoring",
    "other",
]
EvidenceLevel = Literal["idea", "local_evaluation", "multi_site_evaluation", "peer_reviewed", "national_guidance"]
InnovationStatus = Literal["active", "retired", "superseded"]
Stage = Literal["exploring", "planning", "piloting", "implementing", "sustaining", "discontinued"]
Channel = Literal[
    "peer_visit",
    "learning_network",
    "collaborative",
    "community_of_practice",
    "extension_agent",
    "national_programme",
    "publication",
    "conference",
    "direct_from_innovator",
    "other",
]
Phase = Literal["pre_implementation", "implementation", "scale_up", "maintenance"]
Planning = Literal["planned_proactive", "planned_reactive", "unplanned_reactive"]
WhatModified = Literal["content", "context", "training", "evaluation", "implementation_strategy"]
Level = Literal["individual", "team", "site", "network", "system"]
Nature = Literal[
    "tailoring",
    "adding",
    "removing",
    "shortening",
    "lengthening",
    "substituting",
    "reordering",
    "integrating_other",
    "integrating_into_other",
    "repeating",
    "loosening_structure",
    "departing",
]
ContextChange = Literal["format", "setting", "personnel", "population"]
Fidelity = Literal["consistent", "inconsistent", "unknown"]
Goal = Literal["reach", "fit", "effectiveness", "cost", "workforce", "equity", "safety", "satisfaction", "other"]
Reason = Literal["sociopolitical", "organisation", "provider", "recipient"]
ImprovementDirection = Literal["increase", "decrease", "neutral"]
ReaimDimension = Literal["reach", "effectiveness", "adoption", "implementation", "maintenance"]

STAGES: tuple[str, ...] = get_args(Stage)
CHANNELS: tuple[str, ...] = get_args(Channel)
