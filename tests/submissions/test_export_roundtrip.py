"""An adoptions CSV export reads back as a submission: unchanged rows are reported unchanged."""

from __future__ import annotations

import csv
import io

import httpx

from tests.factories import adopt, make_innovation
from tests.submissions.helpers import submit


async def test_exported_adoptions_submit_back_unchanged(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin)
    origin = (await client.get(f"/v1/innovations/{made['id']}/adoptions", headers=admin)).json()["items"][0]
    r = await adopt(
        client,
        admin,
        made["id"],
        "RQM",
        "2022-03-01",
        stage="implementing",
        notes='=SUM(A1) and "quotes", commas',
        externalId="-EXT-1",
        sources=[{"adoptionId": origin["id"], "channel": "peer_visit", "on": "2022-02-10"}],
    )
    assert r.status_code == 201, r.text
    await adopt(client, admin, made["id"], "RAJ", "2022-05-01", stage="discontinued", discontinuedReason="No staff")
    exported = await client.get(
        f"/v1/innovations/{made['id']}/adoptions", params={"format": "csv", "all": "true"}, headers=admin
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3
    rqm = next(row for row in rows if row["siteCode"] == "RQM")
    assert rqm["notes"].startswith("'=SUM") and rqm["externalId"] == "'-EXT-1"  # escaped for spreadsheets
    assert rqm["sources"].startswith('[{"adoptionId":')  # nested values as JSON in a cell

    r = await submit(client, admin, exported.content, content_type="text/csv")
    assert r.status_code in (200, 201), r.text
    result = r.json()
    assert [row["status"] for row in result["rows"]] == ["unchanged"] * 3, result
    after = await client.get(f"/v1/innovations/{made['id']}/adoptions", headers=admin)
    notes = {a["siteCode"]: (a["notes"], a["externalId"]) for a in after.json()["items"]}
    assert notes["RQM"] == ('=SUM(A1) and "quotes", commas', "-EXT-1")  # the quote is undone on the way in
