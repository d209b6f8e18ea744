"""Search request vocabularies and response bodies.

Results are a tagged union on ``type``: every hit has ``id``, ``title``, ``snippet`` (HTML:
matched words in ``<mark>``, everything else escaped), ``titleHtml`` (the same for the whole
title, whenever ``q`` is given) and ``score``, plus the fields a result list needs for its type.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from service.sites.schemas import SiteKind
from service.types import ReadBase
from service.vocab import Category, EvidenceLevel, Fidelity, InnovationStatus, Nature, Stage

DocType = Literal["innovation", "adaptation", "site"]
SortOrder = Literal["relevance", "newest", "mostAdopted"]

Score = Annotated[float, Meta(description="Relevance: higher is better; comparable within one response only.")]
TitleHtml = Annotated[
    str,
    Meta(description="The title HTML-escaped, with the words `q` matched in `<mark>`; present whenever `q` is given."),
]

DEFAULT_SEARCH_LIMIT = 20
TOTAL_CAP = 10_000


class InnovationRef(ReadBase, frozen=True):
    id: uuid.UUID
    title: str


class SiteRef(ReadBase, frozen=True):
    code: str
    name: str


class InnovationHit(ReadBase, frozen=True, kw_only=True, tag_field="type", tag="innovation"):
    """An innovation that matched."""

    id: str
    title: str
    snippet: str
    title_html: TitleHtml | UnsetType = UNSET
    score: Score | None
    category: Category
    evidence_level: EvidenceLevel
    status: InnovationStatus
    adoption_count: int
    sustaining_count: int


class AdaptationHit(ReadBase, frozen=True, kw_only=True, tag_field="type", tag="adaptation"):
    """An adaptation that matched: what a site changed in an innovation it adopted."""

    id: str
    title: str
    snippet: str
    title_html: TitleHtml | UnsetType = UNSET
    score: Score | None
    innovation: InnovationRef
    site: SiteRef
    nature: Nature | None
    fidelity: Fidelity
    stage: Stage


class SiteHit(ReadBase, frozen=True, kw_only=True, tag_field="type", tag="site"):
    """A site that matched (by name or code); ``id`` is its code."""

    id: str
    title: str
    snippet: str
    title_html: TitleHtml | UnsetType = UNSET
    score: Score | None
    kind: SiteKind
    region_code: str | None
    region_name: str | None
    adoption_count: int


SearchHit = InnovationHit | AdaptationHit | SiteHit


class Facets(ReadBase, frozen=True):
    """Counts over the whole result set (every page). An innovation or site counts once under
    each region and stage it has adoptions in; sites have no category or evidence level.
    Estimates when ``totalIsEstimate`` is true."""

    type: dict[str, int]
    category: dict[str, int]
    evidence_level: dict[str, int]
    region: dict[str, int]
    stage: dict[str, int]


class SearchResults(ReadBase, frozen=True):
    """One page of results, with facets and a total for the whole result set."""

    items: list[SearchHit]
    facets: Facets
    next_cursor: str | None
    total: Annotated[
        int,
        Meta(
            ge=0,
            le=TOTAL_CAP,
            description="How many records match: exact up to 1,000, an estimate past that (`totalIsEstimate`).",
        ),
    ]
    total_is_floor: Annotated[
        bool,
        Meta(description="True when more than 10,000 records match (or are estimated to): `total` then says 10,000."),
    ]
    total_is_estimate: Annotated[
        bool,
        Meta(
            description="True when more than 1,000 records match: `total` is then the database's estimate and the"
            " facets are counted over the first 1,000 matches and scaled to it; false when both are exact."
        ),
    ]
    corrected_query: Annotated[
        str | None,
        Meta(description="The query actually run when words unknown to the registry were corrected, else null."),
    ] = None


class SimilarInnovation(ReadBase, frozen=True):
    id: uuid.UUID
    title: str
    category: Category
    evidence_level: EvidenceLevel
    adoption_count: int
    shared_themes: list[str]
    score: Score


class SimilarInnovations(ReadBase, frozen=True):
    items: list[SimilarInnovation]
