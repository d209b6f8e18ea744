"""fields= and CSV on campaigns."""

from __future__ import annotations

import csv
import io

import httpx

from tests.campaigns import rows
from tests.campaigns.api import make_campaign


async def test_campaign_fields_and_csv(client: httpx.AsyncClient, conn, admin: dict[str, str]) -> None:
    await rows.measure(conn)
    innovation = await rows.innovation(conn, "innovation-a")
    campaign = await make_campaign(client, admin, [str(innovation)])
    one = await client.get(f"/v1/campaigns/{campaign['id']}", params={"fields": "name,id"}, headers=admin)
    assert one.status_code == 200 and one.json() == {"name": campaign["name"], "id": campaign["id"]}
    full = await client.get(f"/v1/campaigns/{campaign['id']}", headers=admin)
    assert one.headers["etag"] != full.headers["etag"]
    listed = await client.get("/v1/campaigns", params={"fields": "id,aim"}, headers=admin)
    assert listed.json()["items"] == [{"id": campaign["id"], "aim": campaign["aim"]}]
    table = await client.get("/v1/campaigns", params={"format": "csv", "fields": "id,aim"}, headers=admin)
    (row,) = list(csv.DictReader(io.StringIO(table.text)))
    assert row["id"] == campaign["id"] and row["aim"].startswith('{"measureCode":')
    bad = await client.get("/v1/campaigns", params={"fields": "id,sites"}, headers=admin)
    assert bad.status_code == 422 and "'sites'" in bad.json()["detail"]
