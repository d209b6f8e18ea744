"""Site request and response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from service.types import LINE, Base, Latitude, Longitude, ReadBase, SiteCode

SiteKind = Literal["region", "icb", "trust", "trust_site", "pcn", "gp_practice", "other"]
SiteStatus = Literal["open", "closed"]
SiteName = Annotated[str, Meta(min_length=1, max_length=300, pattern=LINE, examples=["Royal Preston Hospital"])]
Postcode = Annotated[str, Meta(min_length=2, max_length=10, pattern=r"^[A-Za-z0-9 ]+$(?!\n)", examples=["PR2 9HT"])]


class Site(ReadBase, frozen=True, omit_defaults=False):
    """An NHS organisation or site (or a non-NHS partner), addressed by its code."""

    code: str
    name: str
    kind: SiteKind
    parent_code: str | None
    region_code: str | None
    icb_code: str | None
    postcode: str | None
    latitude: float | None
    longitude: float | None
    status: SiteStatus
    successor_code: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SiteNear(Site, frozen=True):
    """A site in a ``near`` listing, with its distance from the point asked about."""

    distance_km: float | None = None


class SitePage(ReadBase, frozen=True):
    items: list[SiteNear]
    next_cursor: str | None


class SiteCreate(Base, frozen=True):
    """A new site. ``code`` may be left out for ``kind: other``: the registry issues one."""

    name: SiteName
    kind: SiteKind
    code: SiteCode | None = None
    parent_code: SiteCode | None = None
    region_code: SiteCode | None = None
    icb_code: SiteCode | None = None
    postcode: Postcode | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    status: SiteStatus = "open"
    successor_code: SiteCode | None = None


class SiteUpdate(Base, frozen=True):
    """A partial update: fields left out are untouched; ``null`` clears an optional field."""

    name: SiteName | UnsetType = UNSET
    parent_code: SiteCode | None | UnsetType = UNSET
    region_code: SiteCode | None | UnsetType = UNSET
    icb_code: SiteCode | None | UnsetType = UNSET
    postcode: Postcode | None | UnsetType = UNSET
    latitude: Latitude | None | UnsetType = UNSET
    longitude: Longitude | None | UnsetType = UNSET
    status: SiteStatus | UnsetType = UNSET
    successor_code: SiteCode | None | UnsetType = UNSET
