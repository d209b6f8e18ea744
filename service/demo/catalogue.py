"""The demo catalogue: six fictional innovations, as data (``spread serve --demo`` loads them).

Each is a :class:`~service.demo.specs.DemoInnovation`: what it is, its core components, the
FRAME-coded adaptations its adopters made, and how widely and where it spread.
:mod:`service.demo.registry` plans and writes the adoption histories from these.
"""

from __future__ import annotations

from service.demo.community import FALLS, SOCIAL
from service.demo.hospital import FRAILTY, RESPIRATORY, SDEC, SEPSIS
from service.demo.specs import DemoInnovation
from service.vocab import Channel

DEMO_INNOVATIONS: list[DemoInnovation] = [FRAILTY, FALLS, SEPSIS, SDEC, SOCIAL, RESPIRATORY]
DEMO_SLUGS: list[str] = [d.slug for d in DEMO_INNOVATIONS]

# Channels by how far the learner is from its source: peers nearby learn by visiting and in
# networks; further away through collaboratives, conferences and national programmes.
NEAR_CHANNELS: list[Channel] = [
    "peer_visit",
    "peer_visit",
    "learning_network",
    "community_of_practice",
    "extension_agent",
]
FAR_CHANNELS: list[Channel] = ["collaborative", "conference", "national_programme", "peer_visit", "publication"]
