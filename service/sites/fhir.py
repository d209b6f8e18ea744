"""Sites as FHIR R4 resources, for NHS systems that speak FHIR (``Accept: application/fhir+json``).

Organisations with an ODS organisation code (regions, ICBs, trusts, PCNs, GP practices) become an
``Organization`` identified by ``https://fhir.nhs.uk/Id/ods-organization-code``, ``partOf`` the
organisation above them. Hospital sites (``trust_site``) have ODS *site* codes and become a
``Location`` identified by ``https://fhir.nhs.uk/Id/ods-site-code``, managed by their trust.
Non-NHS partners (``kind: other``) have codes the registry issued, so they are Organizations
identified in Spread's own code system.

References are logical (by identifier), as NHS FHIR APIs do between systems: the referenced
organisation is found by its ODS code wherever the reader looks it up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar import Request, Response
from litestar.openapi.spec import OpenAPIMediaType, Operation, Reference, Schema
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from msgspec import UNSET, UnsetType

from service.sites.schemas import Site, SiteKind

FHIR_MEDIA_TYPE = "application/fhir+json"
ODS_ORGANIZATION = "https://fhir.nhs.uk/Id/ods-organization-code"
ODS_SITE = "https://fhir.nhs.uk/Id/ods-site-code"
SPREAD_SITE = "urn:spread:site-code"  # codes the registry issues to non-NHS partners

_KIND_TEXT: dict[SiteKind, str] = {
    "region": "NHS England region",
    "icb": "Integrated care board",
    "trust": "NHS trust",
    "trust_site": "Hospital site",
    "pcn": "Primary care network",
    "gp_practice": "GP practice",
    "other": "Non-NHS partner",
}


class _Fhir(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    pass


class FhirIdentifier(_Fhir, frozen=True):
    """A business identifier: an ODS code in its NHS code system."""

    system: str
    value: str


class FhirReference(_Fhir, frozen=True):
    """A logical reference to an Organization by its ODS code."""

    type: str
    identifier: FhirIdentifier


class FhirCodeableConcept(_Fhir, frozen=True):
    text: str


class FhirAddress(_Fhir, frozen=True):
    postal_code: str


class FhirMeta(_Fhir, frozen=True):
    version_id: str
    last_updated: str


class FhirPosition(_Fhir, frozen=True):
    latitude: float
    longitude: float


class FhirOrganization(_Fhir, frozen=True, tag_field="resourceType", tag="Organization"):
    """A FHIR R4 Organization: a region, ICB, trust, PCN, GP practice or non-NHS partner."""

    id: str
    meta: FhirMeta
    identifier: list[FhirIdentifier]
    active: bool
    type: list[FhirCodeableConcept]
    name: str
    address: list[FhirAddress] | UnsetType = UNSET
    part_of: FhirReference | UnsetType = UNSET


class FhirLocation(_Fhir, frozen=True, tag_field="resourceType", tag="Location"):
    """A FHIR R4 Location: a hospital site, managed by its trust."""

    id: str
    meta: FhirMeta
    identifier: list[FhirIdentifier]
    status: Literal["active", "inactive"]
    name: str
    mode: Literal["instance"]
    type: list[FhirCodeableConcept]
    address: FhirAddress | UnsetType = UNSET
    position: FhirPosition | UnsetType = UNSET
    managing_organization: FhirReference | UnsetType = UNSET


def _organization(code: str) -> FhirReference:
    return FhirReference(type="Organization", identifier=FhirIdentifier(system=ODS_ORGANIZATION, value=code))


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _above(site: Site) -> str | None:
    """The organisation a site is part of: its parent, else its ICB, else its region."""
    for code in (site.parent_code, site.icb_code, site.region_code):
        if code and code != site.code:
            return code
    return None


def as_fhir(site: Site, version: int) -> FhirOrganization | FhirLocation:
    """The site as an R4 Organization, or a Location for a hospital site."""
    meta = FhirMeta(version_id=str(version), last_updated=_instant(site.updated_at))
    kind = [FhirCodeableConcept(text=_KIND_TEXT[site.kind])]
    above = _above(site)
    if site.kind == "trust_site":
        position: FhirPosition | UnsetType = UNSET
        if site.latitude is not None and site.longitude is not None:
            position = FhirPosition(latitude=site.latitude, longitude=site.longitude)
        return FhirLocation(
            id=site.code,
            meta=meta,
            identifier=[FhirIdentifier(system=ODS_SITE, value=site.code)],
            status="active" if site.status == "open" else "inactive",
            name=site.name,
            mode="instance",
            type=kind,
            address=FhirAddress(postal_code=site.postcode) if site.postcode else UNSET,
            position=position,
            managing_organization=_organization(above) if above else UNSET,
        )
    system = SPREAD_SITE if site.kind == "other" else ODS_ORGANIZATION
    return FhirOrganization(
        id=site.code,
        meta=meta,
        identifier=[FhirIdentifier(system=system, value=site.code)],
        active=site.status == "open",
        type=kind,
        name=site.name,
        address=[FhirAddress(postal_code=site.postcode)] if site.postcode else UNSET,
        part_of=_organization(above) if above else UNSET,
    )


def fhir_record(request: Request[Any, Any, Any], site: Site, version: int) -> Response[FhirOrganization | FhirLocation]:
    """The FHIR view with a weak ETag (``W/"3"``, FHIR's versionId); 304 when If-None-Match has it."""
    tag = f'W/"{version}"'
    inm = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"if-none-match"), None)
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        if f'"{version}"' in tags or "*" in tags:
            return Response(content=None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": tag})  # type: ignore[arg-type]  # a 304 has no body
    return Response(content=as_fhir(site, version), media_type=FHIR_MEDIA_TYPE, headers={"ETag": tag})


# The components service/openapi.py adds to the spec for the FHIR view.
FHIR_SCHEMAS: tuple[type[msgspec.Struct], ...] = (FhirOrganization, FhirLocation)


def fhir_alternative() -> type[Operation]:
    """An ``operation_class`` adding ``application/fhir+json`` (Organization or Location) to the 200."""

    @dataclass
    class _FhirAlternative(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            content = getattr(ok, "content", None)
            if content is None:
                return
            refs: list[Reference | Schema] = [
                Reference(ref=f"#/components/schemas/{cls.__name__}") for cls in FHIR_SCHEMAS
            ]
            content[FHIR_MEDIA_TYPE] = OpenAPIMediaType(schema=Schema(one_of=refs))

    return _FhirAlternative
