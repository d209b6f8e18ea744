"""fields=, expand= and CSV on innovations (service/shaping.py through the API)."""

from __future__ import annotations

import csv
import io

import httpx

from tests.factories import adopt, make_innovation


async def test_fields_pick_top_level_fields_in_order(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin)
    r = await client.get(f"/v1/innovations/{made['id']}", params={"fields": "title,id"}, headers=admin)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["title", "id"]
    assert r.json() == {"title": made["title"], "id": made["id"]}
    listed = await client.get("/v1/innovations", params={"fields": "id,slug"}, headers=admin)
    assert listed.status_code == 200, listed.text
    assert set(listed.json()) == {"items", "nextCursor"}
    assert all(list(item) == ["id", "slug"] for item in listed.json()["items"])
    assert made["id"] in [item["id"] for item in listed.json()["items"]]


async def test_unknown_fields_and_expansions_are_named(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin)
    r = await client.get(f"/v1/innovations/{made['id']}", params={"fields": "id,nope,alsoNot"}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["detail"]) for e in r.json()["errors"]] == [
        ("fields", "unknown name 'nope'"),
        ("fields", "unknown name 'alsoNot'"),
    ]
    for bad in ("site", "originSite.nope", "derivedFrom.derivedFrom.derivedFrom"):
        r = await client.get("/v1/innovations", params={"expand": bad}, headers=admin)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"] == [{"field": "expand", "detail": f"unknown name '{bad}'"}]


async def test_expand_embeds_origin_site_and_parent_two_levels(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    parent = await make_innovation(client, admin, title="Parent ward")
    child = await make_innovation(client, admin, title="Child ward", derivedFromId=parent["id"], originSiteCode="RQM")
    r = await client.get(
        f"/v1/innovations/{child['id']}", params={"expand": "originSite,derivedFrom.originSite"}, headers=admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["originSite"]["code"] == "RQM" and body["originSite"]["kind"] == "trust"
    assert body["derivedFrom"]["id"] == parent["id"]
    assert body["derivedFrom"]["originSite"]["code"] == "RXN"
    # no parent: null, not absent
    r = await client.get(f"/v1/innovations/{parent['id']}", params={"expand": "derivedFrom"}, headers=admin)
    assert r.json()["derivedFrom"] is None
    # with fields, the expansion asked for stays
    r = await client.get(
        f"/v1/innovations/{child['id']}", params={"fields": "id", "expand": "originSite"}, headers=admin
    )
    assert list(r.json()) == ["id", "originSite"]


async def test_shaped_etag_differs_and_revalidates(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin)
    url = f"/v1/innovations/{made['id']}"
    full = await client.get(url, headers=admin)
    shaped = await client.get(url, params={"fields": "id"}, headers=admin)
    expanded = await client.get(url, params={"expand": "originSite"}, headers=admin)
    tags = {full.headers["etag"], shaped.headers["etag"], expanded.headers["etag"]}
    assert len(tags) == 3, tags
    again = await client.get(url, params={"fields": "id"}, headers={**admin, "If-None-Match": shaped.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == shaped.headers["etag"]
    # the full record's tag does not revalidate the shaped one
    other = await client.get(url, params={"fields": "id"}, headers={**admin, "If-None-Match": full.headers["etag"]})
    assert other.status_code == 200
    # an update changes the shaped tag too
    r = await client.patch(url, json={"summary": "Changed"}, headers={**admin, "If-Match": full.headers["etag"]})
    assert r.status_code == 200, r.text
    after = await client.get(url, params={"fields": "id"}, headers={**admin, "If-None-Match": shaped.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != shaped.headers["etag"]


async def test_expanded_etag_follows_the_expanded_record(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    parent = await make_innovation(client, admin, title="Parent ward")
    child = await make_innovation(client, admin, title="Child ward", derivedFromId=parent["id"])
    url = f"/v1/innovations/{child['id']}"
    first = await client.get(url, params={"expand": "derivedFrom"}, headers=admin)
    r = await client.patch(f"/v1/innovations/{parent['id']}", json={"summary": "Parent changed"}, headers=admin)
    assert r.status_code == 200, r.text
    second = await client.get(
        url, params={"expand": "derivedFrom"}, headers={**admin, "If-None-Match": first.headers["etag"]}
    )
    assert second.status_code == 200, "the parent changed, so the expanded representation did"
    assert second.json()["derivedFrom"]["summary"] == "Parent changed"


async def test_csv_list_by_accept_and_format(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_innovation(client, admin, title='=HYPERLINK("http://evil")')
    await adopt(client, admin, made["id"], "RQM", "2023-01-01")
    r = await client.get("/v1/innovations", params={"slug": made["slug"]}, headers={**admin, "Accept": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        n
        for n in (await client.get(f"/v1/innovations/{made['id']}", headers=admin)).json()
        if n not in ("originSite", "derivedFrom")
    ]
    assert rows[0]["id"] == made["id"]
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil")'  # escaped against formula injection
    assert rows[0]["adoptionCount"] == "2"
    assert rows[0]["isDemo"] == "false"
    assert rows[0]["derivedFromId"] == ""
    assert rows[0]["themes"] == '["frailty","virtual wards"]'
    by_format = await client.get("/v1/innovations", params={"slug": made["slug"], "format": "csv"}, headers=admin)
    assert by_format.text == r.text
    narrow = await client.get(
        "/v1/innovations", params={"slug": made["slug"], "format": "csv", "fields": "slug,id"}, headers=admin
    )
    assert narrow.text.splitlines() == ["slug,id", f"{made['slug']},{made['id']}"]


async def test_unsupported_accept_is_406(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/v1/innovations", headers={**admin, "Accept": "application/xml"})
    assert r.status_code == 406, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "text/csv" in r.json()["detail"]
    ok = await client.get("/v1/innovations", headers={**admin, "Accept": "application/xml, text/csv;q=0.5"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/csv")
    # a single record answers JSON whatever the Accept, as it did before (no 406 declared there)
    made = await make_innovation(client, admin)
    one = await client.get(
        f"/v1/innovations/{made['id']}", params={"fields": "id"}, headers={**admin, "Accept": "text/csv"}
    )
    assert one.status_code == 200 and one.json() == {"id": made["id"]}


async def test_csv_pages_like_json_and_all_reads_every_page(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for n in range(5):
        await make_innovation(client, admin, title=f"Paging ward {n}", themes=["paging"])
    params = {"theme": "paging", "limit": "2", "format": "csv"}
    first = await client.get("/v1/innovations", params=params, headers=admin)
    assert len(first.text.splitlines()) == 3  # header and two rows
    assert 'rel="next"' in first.headers["link"]
    seen: list[str] = []
    url: str | None = "/v1/innovations"
    query: dict[str, str] | None = params
    while url:
        page = await client.get(url, params=query, headers=admin)
        seen += [row["id"] for row in csv.DictReader(io.StringIO(page.text))]
        link = page.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        query = None
    everything = await client.get("/v1/innovations", params={**params, "all": "true"}, headers=admin)
    assert "link" not in everything.headers
    assert [row["id"] for row in csv.DictReader(io.StringIO(everything.text))] == seen
    assert len(seen) == 5
    as_json = await client.get(
        "/v1/innovations", params={"theme": "paging", "limit": "2", "all": "true"}, headers=admin
    )
    assert [i["id"] for i in as_json.json()["items"]] == seen and as_json.json()["nextCursor"] is None
