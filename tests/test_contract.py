"""The contract is as tight as the spec: one regression test per class of fuzzer finding.

Each class was found by schemathesis (`st run --checks all`) and fixed at its cause; the
fuzz test itself is tests/test_schemathesis.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from service.cli import openapi_document

RAW_DOCUMENTS = {"text/csv", "application/x-ndjson"}  # checked row by row (NUL refused per row)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_document()


def _operations(spec: dict[str, Any]) -> Any:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, op


def _strings(spec: dict[str, Any], schema: Any, where: str, seen: set[str]) -> Any:
    """Every string schema under ``schema`` (refs followed), with outer constraints applied."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from _strings(spec, spec["components"]["schemas"][name], name, seen)
        return
    outer = {k: v for k, v in schema.items() if k in ("pattern", "enum", "format", "const")}
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, []):
            yield from _strings(spec, {**outer, **branch}, where, seen)
    kinds = schema.get("type")
    if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
        yield where, schema
    yield from _strings(spec, schema.get("items"), where + "[]", seen)
    for name, sub in schema.get("properties", {}).items():
        yield from _strings(spec, sub, f"{where}.{name}", seen)


def _request_strings(spec: dict[str, Any]) -> Any:
    for path, method, op in _operations(spec):
        for param in op.get("parameters", []):
            yield from _strings(spec, param["schema"], f"{method} {path} {param['in']} {param['name']}", set())
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            if media not in RAW_DOCUMENTS:
                yield from _strings(spec, content["schema"], f"{method} {path} body", set())


# --- the spec says what the server refuses ------------------------------------------------------


def test_every_request_string_refuses_nul_and_control_characters(spec: dict[str, Any]) -> None:
    """NUL (PostgreSQL text cannot hold it) and control characters fail every string's pattern."""
    loose = []
    for where, schema in _request_strings(spec):
        if "enum" in schema or "const" in schema or schema.get("format") in {"date", "date-time", "uuid"}:
            continue
        pattern = schema.get("pattern")
        if pattern is None:
            loose.append(f"{where}: no pattern")
            continue
        probes = ["\x00", "a\x00", "a\x00b", "a\x1bb", "a\x7f"]
        for example in schema.get("examples", []):  # a valid value, spoilt in the middle and at the end
            if isinstance(example, str) and example:
                probes += [example[:1] + bad + example[1:] for bad in ("\x00", "\x1b")] + [example + "\x00"]
        for bad in probes:
            if re.search(pattern, bad):
                loose.append(f"{where}: {pattern!r} accepts {bad!r}")
                break
    assert not loose, "\n".join(loose)


def test_request_bodies_refuse_unknown_fields_in_the_spec(spec: dict[str, Any]) -> None:
    """Every object a request body can hold declares `additionalProperties: false`, as the server refuses them."""
    schemas = spec["components"]["schemas"]
    open_objects = []
    for path, method, op in _operations(spec):
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if not content:
            continue
        todo, seen = [content["schema"]], set()
        while todo:
            node = todo.pop()
            if isinstance(node, list):
                todo.extend(node)
                continue
            if not isinstance(node, dict):
                continue
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    if schemas[name].get("type") == "object" and schemas[name].get("additionalProperties") is not False:
                        open_objects.append(f"{method} {path}: {name}")
                    todo.append(schemas[name])
                continue
            todo.extend(v for k, v in node.items() if k != "examples")
    assert not open_objects, "\n".join(sorted(set(open_objects)))


def test_patch_bodies_keep_the_constraints_of_their_items(spec: dict[str, Any]) -> None:
    """A PATCH field (`| UnsetType`) keeps its item patterns; Litestar's generator dropped them."""
    keys = spec["components"]["schemas"]["AdaptationUpdate"]["properties"]["coreComponentKeys"]
    assert keys["items"]["pattern"] and keys["items"]["minLength"] == 1


def test_free_text_parameters_are_never_null(spec: dict[str, Any]) -> None:
    """A header or query string cannot say null: `If-Match: null` is the text "null"."""
    for path, method, op in _operations(spec):
        for param in op.get("parameters", []):
            schema = param["schema"]
            if schema.get("type") == "string" or {"type": "string"} in schema.get("oneOf", []):
                assert {"type": "null"} not in schema.get("oneOf", []), f"{method} {path} {param['name']}"


def test_every_declared_error_is_a_problem_document(spec: dict[str, Any]) -> None:
    """Litestar's own 400 shape was declared on every operation with parameters; none is served."""
    wrong = [
        f"{method} {path} {status}"
        for path, method, op in _operations(spec)
        for status, response in op["responses"].items()
        if status[0] in "45" and set(response.get("content", {})) != {"application/problem+json"}
    ]
    assert not wrong, "\n".join(wrong)


def test_every_create_links_to_the_operations_on_what_it_made(spec: dict[str, Any]) -> None:
    ids = {op["operationId"]: (path, op) for path, _, op in _operations(spec)}
    links = {
        op["operationId"]: op["responses"]["201"].get("links", {})
        for _, method, op in _operations(spec)
        if method == "post" and "201" in op["responses"]
    }
    assert {"GetInnovation", "UpdateInnovation", "RetireInnovation", "ListAdoptions", "CreateAdoption"} <= set(
        links["CreateInnovation"]
    )
    assert {"GetAdoption", "UpdateAdoption", "AddAdoptionSource", "CreateAdaptation", "ListObservations"} <= set(
        links["CreateAdoption"]
    )
    assert {"GetSite", "UpdateSite"} <= set(links["CreateSite"])
    assert {"GetCampaign", "PutCommitment", "CreateImpediment"} <= set(links["CreateCampaign"])
    for source, targets in links.items():
        for name, link in targets.items():
            path, _ = ids[link["operationId"]]
            for param, expression in link["parameters"].items():
                assert "{" + param + "}" in path, f"{source} -> {name}: {param} is not in {path}"
                assert expression.startswith("$response.body#/"), f"{source} -> {name}"


# --- and the server refuses exactly that --------------------------------------------------------


async def test_nul_in_a_query_parameter_is_a_422_naming_it(client: httpx.AsyncClient, admin: dict) -> None:
    """Found by the fuzzer: `?q=%00` on breakthroughs reached PostgreSQL and answered 500."""
    r = await client.get(f"/v1/campaigns/{uuid.uuid4()}/breakthroughs", params={"q": "a\x00b"}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["q"]


@pytest.mark.parametrize("text", ["Bad\x00name", "Bad\x01name", "Bad\nname", "Bad\x7fname"])
async def test_control_characters_in_a_body_string_are_a_422_naming_it(
    client: httpx.AsyncClient, admin: dict, text: str
) -> None:
    r = await client.post("/v1/sites", json={"name": text, "kind": "other"}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["name"]


async def test_multi_line_text_may_span_lines_but_holds_no_nul(client: httpx.AsyncClient, admin: dict) -> None:
    site = {"name": "Contract Test Centre", "kind": "other"}
    body = {"title": "Two lines", "summary": "first\nsecond", "category": "other", "originSiteCode": "RQM"}
    r = await client.post("/v1/innovations", json={**body, "summary": "first\x00second"}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["summary"]
    r = await client.post("/v1/sites", json=site, headers=admin)
    assert r.status_code == 201, r.text


async def test_nul_in_a_path_parameter_is_refused(client: httpx.AsyncClient, admin: dict) -> None:
    r = await client.get("/v1/sites/RQM%00", headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["code"]


async def test_booleans_and_numbers_in_a_body_are_strict(client: httpx.AsyncClient, admin: dict) -> None:
    """Found by the fuzzer: `"screenOutliers": 0` was taken as false."""
    series = {"values": [1.0, 2.0, 3.0, 4.0]}
    r = await client.post("/v1/analysis/spc", json={**series, "screenOutliers": 0}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["screenOutliers"]
    r = await client.post("/v1/analysis/spc", json={"values": ["1", 2.0, 3.0, 4.0]}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["values[0]"]
    # JSON Schema counts 2.0 as an integer, so the server does too.
    r = await client.post("/v1/analysis/spc", json={**series, "rebase": [2.0]}, headers=admin)
    assert r.status_code == 200, r.text
    assert len(r.json()["phases"]) == 2


async def test_a_cursor_must_look_like_one(client: httpx.AsyncClient, admin: dict) -> None:
    r = await client.get("/v1/innovations", params={"cursor": "not a cursor!"}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["cursor"]


async def test_if_match_must_be_an_etag_list(client: httpx.AsyncClient, admin: dict) -> None:
    """`If-Match: null` (what a client sends for a null header) is refused as malformed, not 412."""
    r = await client.patch("/v1/sites/RQM", json={"name": "Renamed"}, headers={**admin, "If-Match": "null"})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["If-Match"]
    r = await client.patch("/v1/sites/RQM", json={"name": "Renamed"}, headers={**admin, "If-Match": '"999999"'})
    assert r.status_code == 412, r.text
    # Found by the fuzzer: a version beyond PostgreSQL's integer reached the query and answered 500.
    r = await client.patch("/v1/sites/RQM", json={"name": "Renamed"}, headers={**admin, "If-Match": 'W/"810063253772"'})
    assert r.status_code == 412, r.text
    r = await client.patch("/v1/sites/RQM", json={"name": "Renamed"}, headers={**admin, "If-Match": ""})
    assert r.status_code == 200, r.text  # empty: no precondition


async def test_options_and_405_name_every_method_of_the_path(client: httpx.AsyncClient, admin: dict) -> None:
    """Found by the fuzzer: OPTIONS answered only the first handler's methods (a Litestar quirk)."""
    r = await client.options("/v1/sites", headers=admin)
    assert r.status_code == 204
    assert r.headers["allow"] == "GET, OPTIONS, POST"
    r = await client.options(f"/v1/innovations/{uuid.uuid4()}", headers=admin)
    assert r.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    r = await client.put("/v1/sites", headers=admin)
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "OPTIONS", "POST"}


async def test_urls_are_printable_ascii(client: httpx.AsyncClient, admin: dict) -> None:
    """`\\S*` let a NUL into a webhook URL; every URL a client sends is now printable ASCII."""
    r = await client.post("/v1/webhooks", json={"url": "https://example.org/hook\x00"}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["url"]
