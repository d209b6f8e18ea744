"""Innovation request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from service.sites.schemas import Site
from service.types import LINE, TEXT, Base, Key, LongText, ReadBase, SiteCode, Slug, Tag, Title, Url
from service.vocab import Category, EvidenceLevel, InnovationStatus, Stage

Summary = Annotated[str, Meta(max_length=2000, pattern=TEXT)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=LINE)]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$(?!\n)")]


class CoreComponent(Base, frozen=True):
    """An essential element that makes the innovation work; adaptations name it by ``key``."""

    key: Key
    name: Name
    description: Annotated[str, Meta(max_length=4000, pattern=TEXT)] = ""


class LinkItem(Base, frozen=True):
    title: Name
    url: Url


class Contact(Base, frozen=True):
    name: Name
    role: Annotated[str, Meta(max_length=200, pattern=LINE)] | None = None
    email: Email | None = None
    organisation: Annotated[str, Meta(max_length=200, pattern=LINE)] | None = None


Components = Annotated[list[CoreComponent], Meta(max_length=30)]
Links = Annotated[list[LinkItem], Meta(max_length=30)]
Contacts = Annotated[list[Contact], Meta(max_length=30)]
Tags = Annotated[list[Tag], Meta(max_length=30)]


class Innovation(ReadBase, frozen=True):
    """An innovation, with read-only adoption counts."""

    id: uuid.UUID
    slug: str
    title: str
    summary: str
    description: str
    category: Category
    care_settings: list[str]
    themes: list[str]
    evidence_level: EvidenceLevel
    origin_site_code: str
    originated_on: dt.date
    core_components: list[CoreComponent]
    links: list[LinkItem]
    contacts: list[Contact]
    status: InnovationStatus
    derived_from_id: uuid.UUID | None
    derived_from_adoption_id: uuid.UUID | None
    is_demo: bool
    adoption_count: int
    site_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    # Present only when asked for with expand= (service/shaping.py); null when there is none.
    origin_site: Site | UnsetType = UNSET
    derived_from: Innovation | None | UnsetType = UNSET


class InnovationPage(ReadBase, frozen=True):
    items: list[Innovation]
    next_cursor: str | None


class InnovationCreate(Base, frozen=True):
    """A new innovation. Its origin adoption (``isOrigin``) is created at the origin site."""

    title: Title
    category: Category
    evidence_level: EvidenceLevel
    origin_site_code: SiteCode
    originated_on: dt.date
    slug: Slug | None = None
    summary: Summary = ""
    description: LongText = ""
    care_settings: Tags = []
    themes: Tags = []
    core_components: Components = []
    links: Links = []
    contacts: Contacts = []
    status: InnovationStatus = "active"
    derived_from_id: uuid.UUID | None = None
    derived_from_adoption_id: uuid.UUID | None = None
    origin_stage: Stage = "sustaining"


class InnovationUpdate(Base, frozen=True):
    """A partial update: fields left out are untouched."""

    title: Title | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    summary: Summary | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    care_settings: Tags | UnsetType = UNSET
    themes: Tags | UnsetType = UNSET
    evidence_level: EvidenceLevel | UnsetType = UNSET
    originated_on: dt.date | UnsetType = UNSET
    core_components: Components | UnsetType = UNSET
    links: Links | UnsetType = UNSET
    contacts: Contacts | UnsetType = UNSET
    status: InnovationStatus | UnsetType = UNSET
    derived_from_id: uuid.UUID | None | UnsetType = UNSET
    derived_from_adoption_id: uuid.UUID | None | UnsetType = UNSET
