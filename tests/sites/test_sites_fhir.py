"""Sites as FHIR: ``Accept: application/fhir+json`` on GET /v1/sites/{code}, validated as FHIR.

The validator is ``fhir.resources`` (its R4B models: R4B changed nothing in Organization or
Location from R4 4.0.1, whose JSON these are).
"""

from __future__ import annotations

from typing import Any

import httpx
import pydantic
import pytest
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization

from service.sites.fhir import ODS_ORGANIZATION, ODS_SITE

FHIR = {"Accept": "application/fhir+json"}


async def _fhir(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> dict[str, Any]:
    r = await client.get(f"/v1/sites/{code}", headers={**headers, **FHIR})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = r.json()
    model = {"Organization": Organization, "Location": Location}[body["resourceType"]]
    model.model_validate(body)  # raises when the resource is not valid FHIR
    return body


def _part_of(body: dict[str, Any], member: str) -> str:
    ref = body[member]
    assert ref["type"] == "Organization"
    assert ref["identifier"]["system"] == ODS_ORGANIZATION
    return str(ref["identifier"]["value"])


async def test_trust_icb_and_region_are_organizations_part_of_the_one_above(
    client: httpx.AsyncClient, reader: dict[str, str]
) -> None:
    trust = await _fhir(client, reader, "RQM")
    assert trust["resourceType"] == "Organization"
    assert trust["identifier"] == [{"system": ODS_ORGANIZATION, "value": "RQM"}]
    assert trust["active"] is True
    assert _part_of(trust, "partOf") == "QRV"
    icb = await _fhir(client, reader, "QRV")
    assert _part_of(icb, "partOf") == "Y56"
    region = await _fhir(client, reader, "Y56")
    assert region["name"] == "London" and "partOf" not in region


async def test_hospital_site_is_a_location_managed_by_its_trust(
    client: httpx.AsyncClient, reader: dict[str, str]
) -> None:
    r = await client.get("/v1/sites?kind=trust_site&parent=RQM", headers=reader)
    site = r.json()["items"][0]
    body = await _fhir(client, reader, site["code"])
    assert body["resourceType"] == "Location"
    assert body["identifier"] == [{"system": ODS_SITE, "value": site["code"]}]
    assert body["name"] == site["name"]
    assert body["status"] == "active"
    assert _part_of(body, "managingOrganization") == "RQM"
    if site["latitude"] is not None:
        assert body["position"] == {"latitude": site["latitude"], "longitude": site["longitude"]}
    assert body["meta"]["lastUpdated"].endswith("Z")


async def test_a_non_nhs_partner_is_an_organization_in_spreads_code_system(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post(
        "/v1/sites", json={"name": "Lancashire Carers Network", "kind": "other", "postcode": "PR1 2HE"}, headers=admin
    )
    assert r.status_code == 201, r.text
    body = await _fhir(client, admin, r.json()["code"])
    assert body["identifier"][0]["system"] == "urn:spread:site-code"
    assert body["address"] == [{"postalCode": "PR1 2HE"}]


async def test_json_clients_see_no_change(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    plain = await client.get("/v1/sites/RQM", headers=reader)
    for accept in ("application/json", "*/*", "application/*", "application/fhir+json;q=0.5, application/json"):
        r = await client.get("/v1/sites/RQM", headers={**reader, "Accept": accept})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == plain.json()
        assert r.headers["etag"] == plain.headers["etag"]


async def test_fhir_etag_is_weak_and_revalidates(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await client.get("/v1/sites/RQM", headers={**reader, **FHIR})
    tag = r.headers["etag"]
    assert tag.startswith('W/"') and tag == f'W/"{r.json()["meta"]["versionId"]}"'
    again = await client.get("/v1/sites/RQM", headers={**reader, **FHIR, "If-None-Match": tag})
    assert again.status_code == 304
    assert "vary" in again.headers and "accept" in again.headers["vary"].lower()


@pytest.mark.parametrize("accept", ["text/csv", "application/xml", "application/fhir+xml"])
async def test_an_unsupported_accept_is_406(client: httpx.AsyncClient, reader: dict[str, str], accept: str) -> None:
    r = await client.get("/v1/sites/RQM", headers={**reader, "Accept": accept})
    assert r.status_code == 406, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "application/fhir+json" in r.json()["detail"]


async def test_unknown_site_is_still_a_problem(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await client.get("/v1/sites/ZZZ99", headers={**reader, **FHIR})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Location", "siteCode": "RQM01"},  # not a FHIR element
        {"resourceType": "Location", "position": {"latitude": 51.5}},  # longitude is required
        {"resourceType": "Location", "identifier": {"system": ODS_SITE, "value": "RQM01"}},  # a list in FHIR
        {"resourceType": "Location", "id": "RQM 01"},  # ids have no spaces
    ],
)
def test_the_validator_can_fail(body: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Location.model_validate(body)


def test_the_spec_offers_the_fhir_view() -> None:
    import json
    from pathlib import Path

    spec = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
    op = spec["paths"]["/v1/sites/{code}"]["get"]
    content = op["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/fhir+json"}
    refs = [branch["$ref"] for branch in content["application/fhir+json"]["schema"]["oneOf"]]
    assert refs == ["#/components/schemas/FhirOrganization", "#/components/schemas/FhirLocation"]
    assert "406" in op["responses"]
    for ref in refs:
        assert ref.rsplit("/", 1)[-1] in spec["components"]["schemas"]
