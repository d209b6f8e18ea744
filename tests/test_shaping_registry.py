"""fields=, expand= and CSV on adoptions, adaptations and sites (service/shaping.py through the API)."""

from __future__ import annotations

import csv
import io

import httpx

from tests.adaptations.test_adaptations import FRAME
from tests.factories import adopt, make_innovation, origin_adoption


async def test_adoptions_expand_site_innovation_and_sources(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin)
    origin = await origin_adoption(client, admin, made["id"])
    r = await adopt(
        client, admin, made["id"], "RQM", "2022-03-01", sources=[{"adoptionId": origin["id"], "channel": "peer_visit"}]
    )
    assert r.status_code == 201, r.text
    rqm = r.json()
    listed = await client.get(
        f"/v1/innovations/{made['id']}/adoptions",
        params={"expand": "site,innovation.originSite,sources.site", "fields": "id,siteCode,sources"},
        headers=admin,
    )
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [list(i) for i in items] == [["id", "siteCode", "sources", "site", "innovation"]] * 2
    by_site = {i["siteCode"]: i for i in items}
    assert by_site["RQM"]["site"]["name"] and by_site["RQM"]["site"]["code"] == "RQM"
    assert by_site["RQM"]["innovation"]["id"] == made["id"]
    assert by_site["RQM"]["innovation"]["originSite"]["code"] == "RXN"
    assert by_site["RQM"]["sources"][0]["site"]["code"] == "RXN"
    one = await client.get(f"/v1/adoptions/{rqm['id']}", params={"expand": "sources.site"}, headers=admin)
    assert one.status_code == 200 and one.json()["sources"][0]["site"]["code"] == "RXN"
    assert "site" not in one.json()  # only what was asked for
    bad = await client.get(f"/v1/adoptions/{rqm['id']}", params={"expand": "sources.nope"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "expand"


async def test_adaptations_expand_adoption_two_levels_and_csv(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin)
    origin = await origin_adoption(client, admin, made["id"])
    r = await client.post(f"/v1/adoptions/{origin['id']}/adaptations", json=FRAME, headers=admin)
    assert r.status_code == 201, r.text
    adaptation = r.json()
    one = await client.get(
        f"/v1/adaptations/{adaptation['id']}", params={"expand": "adoption.site", "fields": "id"}, headers=admin
    )
    assert one.status_code == 200, one.text
    assert one.json()["adoption"]["id"] == origin["id"]
    assert one.json()["adoption"]["site"]["code"] == "RXN"
    for url in (f"/v1/adoptions/{origin['id']}/adaptations", f"/v1/innovations/{made['id']}/adaptations"):
        r = await client.get(url, params={"format": "csv", "fields": "id,goals,adoption"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.text.splitlines() == ["id,goals,adoption", f'{adaptation["id"]},"[""fit"",""workforce""]",']
        r = await client.get(url, params={"fields": "id", "expand": "adoption"}, headers=admin)
        assert r.json()["items"][0]["adoption"]["siteCode"] == "RXN"


async def test_sites_fields_and_csv(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/v1/sites/RXN", params={"fields": "code,name"}, headers=admin)
    assert r.status_code == 200 and list(r.json()) == ["code", "name"]
    r = await client.get("/v1/sites/RXN", params={"fields": "code,parentName"}, headers=admin)
    assert r.status_code == 422 and "'parentName'" in r.json()["detail"]
    r = await client.get("/v1/sites", params={"kind": "region", "format": "csv", "all": "true"}, headers=admin)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 7  # the seven NHS England regions
    assert list(rows[0])[:3] == ["code", "name", "kind"] and "distanceKm" in rows[0]
    paged = await client.get(
        "/v1/sites",
        params={"kind": "trust", "limit": "2", "fields": "code,name"},
        headers={**admin, "Accept": "text/csv"},
    )
    assert paged.status_code == 200, paged.text
    assert paged.headers["content-type"].startswith("text/csv")
    assert paged.text.splitlines()[0] == "code,name" and len(paged.text.splitlines()) == 3
    assert 'rel="next"' in paged.headers["link"]
