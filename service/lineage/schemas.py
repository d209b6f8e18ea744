"""Lineage response bodies: the spread graph (nodes, edges, stats), paths, variant and family.

Nodes, sites and edges are built by the ten thousand and hold no reference cycles, so they are
``gc=False`` structs: the cyclic garbage collector neither tracks nor traverses them (measured:
a full collection during a 10,000-node graph cost ~60 ms).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from service.types import ReadBase
from service.vocab import Channel, Fidelity, Phase, Stage, WhatModified

SiteKind = Literal["region", "icb", "trust", "trust_site", "pcn", "gp_practice", "other"]
Direction = Literal["upstream", "downstream", "both"]
Format = Literal["json", "prov", "geojson", "mermaid"]


class LineageSite(ReadBase, frozen=True, omit_defaults=False, gc=False):
    """The adopting site, with what a map or a table of the spread needs."""

    code: str
    name: str
    kind: SiteKind
    region_code: str | None
    icb_code: str | None
    latitude: float | None
    longitude: float | None


class LineageNode(ReadBase, frozen=True, omit_defaults=False, gc=False):
    """One adoption in the spread.

    ``generation`` is 1 for a root (no source among this innovation's adoptions) and 1 + the
    smallest generation of its sources otherwise. A source that is an adoption of an ancestor
    innovation (the family the idea derived from) appears as a node of generation 0 with that
    innovation's ``innovationId``: it shows where the idea came in, and is not walked further.
    ``directLearners`` and ``descendants`` count within the graph returned.
    """

    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    site: LineageSite
    stage: Stage
    started_on: dt.date
    is_origin: bool
    is_root: bool
    generation: int
    adaptation_count: int
    direct_learners: int
    descendants: int


class LineageEdge(ReadBase, frozen=True, omit_defaults=False, gc=False):
    """A learned-from link: the learner (``to``) learned from the source (``from``)."""

    from_: uuid.UUID = msgspec.field(name="from")
    to: uuid.UUID
    channel: Channel
    on: dt.date | None


class Cascade(ReadBase, frozen=True):
    """A root and all its descendants."""

    root_adoption_id: uuid.UUID
    size: int


class Influence(ReadBase, frozen=True):
    """An adoption others learned from."""

    adoption_id: uuid.UUID
    site_code: str
    direct_learners: int
    descendants: int


class Tempo(ReadBase, frozen=True):
    """Median days from a source's start to its learner's start, for learners of one generation."""

    generation: int
    median_days: float
    links: int


class LineageStats(ReadBase, frozen=True, omit_defaults=False):
    """Spread statistics over this innovation's adoptions in the graph (generation 0 nodes excluded).

    ``generations[0]`` counts generation 1, ``generations[1]`` generation 2, and so on;
    ``channels`` counts the links shown by channel (every channel listed, zeros included).
    """

    adoptions: int
    sites: int
    regions: int
    icbs: int
    roots: int
    generations: list[int] = msgspec.field(default_factory=list)
    channels: dict[str, int] = msgspec.field(default_factory=dict)
    tempo_days: list[Tempo] = msgspec.field(default_factory=list)
    largest_cascade: Cascade | None = None
    most_influential: list[Influence] = msgspec.field(default_factory=list)


class InnovationLineage(ReadBase, frozen=True):
    """The whole spread of one innovation."""

    innovation_id: uuid.UUID
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    stats: LineageStats


class VariantAdaptation(ReadBase, frozen=True, omit_defaults=False):
    """An adaptation on the way to this site's variant; ``inherited`` when an upstream site made it."""

    adaptation_id: uuid.UUID
    adoption_id: uuid.UUID
    site_code: str
    inherited: bool
    description: str
    phase: Phase
    what_modified: WhatModified
    nature: str | None
    fidelity: Fidelity
    made_on: dt.date | None


class VariantComponent(ReadBase, frozen=True, omit_defaults=False):
    """A core component of the innovation, with the adaptations that changed it (inherited first)."""

    key: str
    name: str
    description: str
    adaptations: list[VariantAdaptation]


class Variant(ReadBase, frozen=True):
    """The innovation as this site runs it: core components as changed along the chain, then the rest."""

    components: list[VariantComponent]
    other_adaptations: list[VariantAdaptation]


class AdoptionLineage(ReadBase, frozen=True):
    """One adoption's place in the spread.

    ``paths`` and ``variant`` come with upstream answers (``direction`` upstream or both); they
    always cover the whole chain from the roots, whatever ``depth`` limits the nodes to.
    """

    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    direction: Direction
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    paths: list[list[uuid.UUID]] | None = None
    paths_truncated: bool = False
    variant: Variant | None = None


class DerivationPoint(ReadBase, frozen=True):
    """The adoption where an innovation was derived from its parent."""

    adoption_id: uuid.UUID
    site_code: str
    site_name: str


class FamilyMember(ReadBase, frozen=True, omit_defaults=False):
    """An innovation in the family tree; ``children`` are the innovations derived from it."""

    id: uuid.UUID
    title: str
    derived_from_id: uuid.UUID | None
    adoption_count: int
    derived_from_adoption: DerivationPoint | None
    children: list[FamilyMember]


class InnovationFamily(ReadBase, frozen=True):
    """The innovations this one derives from (up to the oldest ancestor, the tree's root) and those derived from it."""

    innovation_id: uuid.UUID
    tree: FamilyMember
