"""The published spec: committed, current, valid OpenAPI 3.1, and complete for every operation."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from service.cli import OPENAPI_PATH, openapi_document, render_openapi

REGENERATE = "spread openapi"


@pytest.fixture(scope="module")
def spec() -> dict:
    return openapi_document()


def test_committed_spec_matches_the_app() -> None:
    assert OPENAPI_PATH.exists(), f"openapi/openapi.json is missing: run `{REGENERATE}`"
    committed = OPENAPI_PATH.read_text()
    current = render_openapi()
    if committed != current:
        c, n = json.loads(committed), json.loads(current)
        added = sorted(set(n.get("paths", {})) - set(c.get("paths", {})))
        removed = sorted(set(c.get("paths", {})) - set(n.get("paths", {})))
        pytest.fail(
            "openapi/openapi.json is out of date with the app. "
            f"Run `{REGENERATE}` and commit the result. New paths: {added or 'none'}; removed: {removed or 'none'}."
        )


def test_spec_is_valid_openapi_31(spec: dict) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_operation_is_documented(spec: dict) -> None:
    seen_ids: set[str] = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            where = f"{method.upper()} {path}"
            op_id = op.get("operationId", "")
            assert op_id and op_id[0].isupper() and "_" not in op_id, f"{where}: PascalCase operationId"
            assert op_id not in seen_ids, f"{where}: duplicate operationId {op_id}"
            seen_ids.add(op_id)
            assert op.get("summary"), f"{where}: summary"
            assert op.get("tags"), f"{where}: tags"
            assert op.get("description"), f"{where}: docstring"
            if path.startswith("/v1"):
                assert op.get("security") or spec.get("security"), f"{where}: security"
                assert "401" in op["responses"], f"{where}: declares 401"
                problem = op["responses"]["401"]["content"]
                assert "application/problem+json" in problem, f"{where}: 401 is problem+json"
            if "{" in path and path.startswith("/v1"):
                assert "404" in op["responses"] or (method == "post" and path.endswith("/spc")), (
                    f"{where}: declares 404"
                )
            if method in {"post", "put", "patch"} and "requestBody" in op:
                assert "422" in op["responses"], f"{where}: declares 422"


def test_json_fields_are_camel_case(spec: dict) -> None:
    for name, schema in spec["components"]["schemas"].items():
        for prop in schema.get("properties", {}):
            assert "_" not in prop, f"{name}.{prop} is not camelCase"


async def test_served_spec_is_the_committed_one() -> None:
    """``/schema/openapi.json`` and ``openapi/openapi.json`` are one document, whatever the versions."""
    import httpx

    from service.app import create_app
    from service.config import Settings

    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert r.json() == json.loads(OPENAPI_PATH.read_text()), f"the served spec differs: run `{REGENERATE}`"


def test_descriptions_do_not_depend_on_how_a_library_dedents() -> None:
    from service.openapi import finalise

    indented = {"description": "First line\n    second line\n", "x": [{"summary": "  a\n  b"}]}
    flat = {"description": "First line\nsecond line", "x": [{"summary": "a\nb"}]}
    assert finalise(indented) == finalise(flat) == flat
