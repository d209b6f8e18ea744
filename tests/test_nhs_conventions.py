"""NHS API conventions: X-Correlation-ID in and out, Cache-Control and Vary on reads,
Deprecation and Sunset on retired operations (service/middleware.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import get

from service.app import create_app
from service.config import Settings
from service.conventions import deprecated
from tests.conftest import app_of
from tests.factories import make_innovation

SPEC = json.loads((Path(__file__).parents[1] / "openapi" / "openapi.json").read_text())


# --- X-Correlation-ID -----------------------------------------------------------------------------


async def test_correlation_id_is_echoed(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    value = "nhs-ers:7f3c 2026/12/06 (batch #4)"
    r = await client.get("/v1/innovations", headers={**reader, "X-Correlation-ID": value})
    assert r.status_code == 200
    assert r.headers["x-correlation-id"] == value
    assert r.headers["x-request-id"]  # next to it, not instead of it
    longest = "x" * 128
    r = await client.get("/health/live", headers={"X-Correlation-ID": longest})
    assert r.status_code == 200 and r.headers["x-correlation-id"] == longest


async def test_no_correlation_id_means_none_echoed(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await client.get("/v1/innovations", headers=reader)
    assert r.status_code == 200
    assert "x-correlation-id" not in r.headers


@pytest.mark.parametrize(
    "value",
    [b"x" * 129, b"caf\xe9", b"tab\there", b"", b"del\x7f"],
    ids=["overlong", "not-ascii", "control", "empty", "del"],
)
async def test_bad_correlation_id_is_a_problem_naming_the_header(
    client: httpx.AsyncClient, reader: dict[str, str], value: bytes
) -> None:
    r = await client.get("/v1/innovations", headers=[*reader.items(), ("X-Correlation-ID", value)])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["errors"][0]["field"] == "X-Correlation-ID"
    assert "X-Correlation-ID" in body["detail"]
    assert body["requestId"] == r.headers["x-request-id"]
    assert "x-correlation-id" not in r.headers


async def test_correlation_id_is_recorded_on_the_changes_it_causes(
    client: httpx.AsyncClient, admin: dict[str, str], conn: asyncpg.Connection
) -> None:
    with_id = await make_innovation(client, {**admin, "X-Correlation-ID": "spread-test-42"}, title="Correlated")
    without = await make_innovation(client, admin, title="Uncorrelated")
    rows = await conn.fetch(
        "SELECT entity_id, correlation_id, request_id FROM changes WHERE entity = 'innovation' AND entity_id = ANY($1)",
        [with_id["id"], without["id"]],
    )
    found = {r["entity_id"]: r["correlation_id"] for r in rows}
    assert found == {with_id["id"]: "spread-test-42", without["id"]: None}
    assert all(r["request_id"] for r in rows)


# --- Cache-Control and Vary -----------------------------------------------------------------------


def _vary(r: httpx.Response) -> list[str]:
    return [v.strip().lower() for v in r.headers.get("vary", "").split(",") if v.strip()]


async def test_reads_are_private_and_revalidated(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    page = await client.get("/v1/innovations", headers=reader)
    one_id = page.json()["items"][0]["id"] if page.json()["items"] else None
    responses = [page, await client.get("/v1/sites?limit=2", headers=reader)]
    if one_id is not None:
        one = await client.get(f"/v1/innovations/{one_id}", headers=reader)
        again = await client.get(f"/v1/innovations/{one_id}", headers={**reader, "If-None-Match": one.headers["etag"]})
        assert again.status_code == 304
        responses += [one, again]
    responses.append(await client.get("/v1/innovations", headers={"Authorization": "Bearer spr_nope"}))
    for r in responses:
        assert r.headers["cache-control"] == "private, no-cache", r.request.url
        assert _vary(r) == ["authorization", "accept", "accept-encoding"], r.request.url
        assert len(r.headers.get_list("vary")) == 1


async def test_writes_carry_no_cache_headers(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.post(
        "/v1/innovations", json={"title": "x"}, headers={**admin, "X-Correlation-ID": "write-1"}
    )  # refused, but a write all the same
    assert r.status_code == 422
    assert "cache-control" not in r.headers and "vary" not in r.headers
    assert r.headers["x-correlation-id"] == "write-1"


async def test_a_handlers_vary_is_merged(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    innovation = await make_innovation(client, admin)
    r = await client.get(f"/v1/innovations/{innovation['id']}/lineage", headers=admin)
    assert r.status_code == 200
    assert _vary(r) == ["authorization", "accept", "accept-encoding"]  # the handler's Vary: Accept, once


async def test_public_documents_and_health(client: httpx.AsyncClient) -> None:
    spec = await client.get("/schema/openapi.json")
    assert spec.headers["cache-control"] == "public, no-cache"
    assert _vary(spec) == ["accept", "accept-encoding"]
    health = await client.get("/health/live")
    assert health.headers["cache-control"] == "no-store"


# --- Deprecation and Sunset -----------------------------------------------------------------------


def test_every_operation_deprecated_in_the_spec_has_a_sunset_a_year_on() -> None:
    """An operation is retired only through :func:`deprecated`, which the headers come from."""
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    by_id = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.operation_id:
                by_id[str(handler.operation_id)] = handler
    marked = [
        op["operationId"]
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("deprecated")
    ]
    for operation_id in marked:
        opt = by_id[operation_id].opt
        assert "sunset" in opt and "deprecated_on" in opt, f"{operation_id} is deprecated without a sunset"
        assert opt["sunset"] - opt["deprecated_on"] >= dt.timedelta(days=365)
    for operation_id, handler in by_id.items():
        if "sunset" in handler.opt:
            assert operation_id in marked, f"{operation_id} has a sunset but the spec does not say deprecated"


def test_a_sunset_needs_twelve_months_notice() -> None:
    with pytest.raises(ValueError, match="12 months"):
        deprecated(on=dt.date(2027, 1, 1), sunset=dt.date(2027, 6, 1))


async def test_a_deprecated_operation_sends_deprecation_and_sunset(client: httpx.AsyncClient) -> None:
    @get(
        "/test-only/retired",
        operation_id="RetiredForTest",
        summary="A retired operation",
        sync_to_thread=False,
        **deprecated(on=dt.date(2027, 1, 1), sunset=dt.date(2028, 1, 1)),
    )
    def retired() -> dict[str, str]:
        return {"ok": "yes"}

    @get("/test-only/current", operation_id="CurrentForTest", summary="A current operation", sync_to_thread=False)
    def current() -> dict[str, str]:
        return {"ok": "yes"}

    app = app_of(client)
    app.register(retired)
    app.register(current)
    r = await client.get("/test-only/retired")
    assert r.status_code == 200
    assert r.headers["deprecation"] == "@1798761600"  # 2027-01-01T00:00:00Z
    assert r.headers["sunset"] == "Sat, 01 Jan 2028 00:00:00 GMT"
    assert 'rel="deprecation"' in r.headers["link"]
    spec = app.openapi_schema.to_schema()
    assert spec["paths"]["/test-only/retired"]["get"]["deprecated"] is True
    plain = await client.get("/test-only/current")
    assert "deprecation" not in plain.headers and "sunset" not in plain.headers
