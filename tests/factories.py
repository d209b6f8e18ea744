"""The one place tests create records: through the API, as a client would (tests/<package>/ use it).

A new column or rule changes one builder here, not every test that needs an innovation.
"""

from __future__ import annotations

from typing import Any

import httpx

COMPONENTS = [
    {"key": "daily_huddle", "name": "Daily multidisciplinary huddle"},
    {"key": "remote_monitoring", "name": "Remote monitoring"},
]


async def make_innovation(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Virtual wards for frailty",
        "summary": "Hospital care at home for frail older people.",
        "category": "models_of_care",
        "themes": ["frailty", "virtual wards"],
        "evidenceLevel": "multi_site_evaluation",
        "originSiteCode": "RXN",
        "originatedOn": "2021-04-01",
        "coreComponents": COMPONENTS,
    }
    body.update(overrides)
    r = await client.post("/v1/innovations", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def origin_adoption(client: httpx.AsyncClient, headers: dict[str, str], innovation_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/innovations/{innovation_id}/adoptions", headers=headers)
    origin = [a for a in r.json()["items"] if a["isOrigin"]]
    assert len(origin) == 1
    return origin[0]


async def adopt(
    client: httpx.AsyncClient, headers: dict[str, str], innovation_id: str, site: str, started: str, **extra: Any
) -> httpx.Response:
    body = {"siteCode": site, "startedOn": started, **extra}
    return await client.post(f"/v1/innovations/{innovation_id}/adoptions", json=body, headers=headers)
