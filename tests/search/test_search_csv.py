"""Search results as CSV: the same filters and paging, every page with all=true."""

from __future__ import annotations

import csv
import io

import httpx

from tests.search import rows


async def test_search_csv_pages_and_all(client: httpx.AsyncClient, reader: dict[str, str], conn) -> None:
    made = [await rows.innovation(conn, f"Telehealth clinic {n}") for n in range(3)]
    await rows.innovation(conn, "=Telehealth formula")
    await rows.innovation(conn, "Unrelated discharge lounge")
    params = {"q": "telehealth", "types": "innovation", "sort": "newest", "limit": "2"}
    as_json = await client.get("/v1/search", params=params, headers=reader)
    first = await client.get("/v1/search", params={**params, "format": "csv"}, headers=reader)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/csv")
    page = list(csv.DictReader(io.StringIO(first.text)))
    assert [r["id"] for r in page] == [i["id"] for i in as_json.json()["items"]]
    assert page[0]["type"] == "innovation"
    assert 'rel="next"' in first.headers["link"] and "format=csv" in first.headers["link"]
    everything = await client.get(
        "/v1/search", params={**params, "all": "true"}, headers={**reader, "Accept": "text/csv"}
    )
    assert "link" not in everything.headers
    found = list(csv.DictReader(io.StringIO(everything.text)))
    assert len(found) == 4 and {str(i) for i in made} <= {r["id"] for r in found}
    assert "'=Telehealth formula" in [r["title"] for r in found]
    refused = await client.get("/v1/search", params=params, headers={**reader, "Accept": "image/png"})
    assert refused.status_code == 406 and refused.headers["content-type"].startswith("application/problem+json")
