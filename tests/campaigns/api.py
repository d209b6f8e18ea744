"""Builders for campaign tests, through the API as a client would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.campaigns import rows


def campaign_body(innovation_ids: list[str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "People home for the holidays",
        "kind": "campaign",
        "description": "Get people home from hospital.",
        "innovationIds": innovation_ids,
        "startsOn": "2024-01-01",
        "endsOn": "2024-12-31",
        "aim": {"measureCode": rows.MEASURE, "baseline": 0, "target": 1200, "dueOn": "2024-12-31"},
        "status": "active",
    }
    body.update(overrides)
    return body


async def make_campaign(
    client: httpx.AsyncClient, headers: dict[str, str], innovation_ids: list[str], **overrides: Any
) -> dict[str, Any]:
    r = await client.post("/v1/campaigns", json=campaign_body(innovation_ids, **overrides), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def commit(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    campaign_id: str,
    site: str,
    target: float,
    due_on: str = "2024-12-31",
    **extra: Any,
) -> httpx.Response:
    body = {"target": target, "dueOn": due_on, "agreedOn": "2024-01-01", **extra}
    return await client.put(f"/v1/campaigns/{campaign_id}/commitments/{site}", json=body, headers=headers)


def fields(r: httpx.Response) -> list[str]:
    """The fields a 422 problem names."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in r.json().get("errors") or []]
