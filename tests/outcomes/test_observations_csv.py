"""An adoption's observations as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx

from tests.outcomes import rows


async def test_observations_csv_all_pages(client: httpx.AsyncClient, conn, admin: dict[str, str]) -> None:
    inno = await rows.innovation(conn)
    adoption = await rows.adoption(conn, inno, "RXN", dt.date(2017, 6, 1))
    await rows.measure(conn, "AE_4HR", "increase", "proportion")
    body = [
        {"measureCode": "AE_4HR", "periodStart": f"2023-{m:02d}-01", "period": "month", "value": m / 100}
        for m in range(1, 13)
    ]
    url = f"/v1/adoptions/{adoption}/observations"
    r = await client.post(url, json=body, headers=admin)
    assert r.status_code in (200, 201), r.text
    page = await client.get(url, params={"format": "csv", "limit": "5"}, headers=admin)
    assert page.status_code == 200, page.text
    assert len(page.text.splitlines()) == 6 and 'rel="next"' in page.headers["link"]
    everything = await client.get(url, params={"format": "csv", "limit": "5", "all": "true"}, headers=admin)
    found = list(csv.DictReader(io.StringIO(everything.text)))
    assert [(r["periodStart"], r["value"]) for r in found] == [(b["periodStart"], str(b["value"])) for b in body]
    assert "measureCode" in found[0] and "link" not in everything.headers
    missing = await client.get(
        "/v1/adoptions/00000000-0000-0000-0000-000000000000/observations", params={"format": "csv"}, headers=admin
    )
    assert missing.status_code == 404
