"""Search: ranking, typo tolerance, facets, filters, cursors, bad input, similar innovations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from tests.search import rows


async def search(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await client.get("/v1/search", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


async def test_title_beats_summary_beats_description(client: httpx.AsyncClient, reader, conn) -> None:
    in_description = await rows.innovation(conn, "Ward round checklist", description="Uses telehealth links daily")
    in_summary = await rows.innovation(conn, "Discharge lounge", summary="A telehealth follow-up after discharge")
    in_title = await rows.innovation(conn, "Telehealth for heart failure", description="Remote review")
    in_theme = await rows.innovation(conn, "Community hub", themes=["telehealth"])
    body = await search(client, reader, q="telehealth", types="innovation")
    assert ids(body)[:2] == [str(in_title), str(in_summary)]
    assert set(ids(body)[2:]) == {str(in_description), str(in_theme)}
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert body["total"] == 4 and body["totalIsFloor"] is False


async def test_sustaining_adoptions_rank_a_little_higher_among_equals(client: httpx.AsyncClient, reader, conn) -> None:
    plain = await rows.innovation(conn, "Frailty huddle", summary="Daily huddle", origin="RQM")
    sustained = await rows.innovation(conn, "Frailty huddle", summary="Daily huddle", origin="RXN")
    for site in ("R0A", "RW6"):
        await rows.adoption(conn, sustained, site, stage="sustaining")
    title_only = await rows.innovation(conn, "Frailty huddles in care homes", summary="Care homes")
    summary_only = await rows.innovation(conn, "Morning board", summary="A frailty huddle each morning")
    for site in ("R0A", "RW6", "RXN"):
        await rows.adoption(conn, summary_only, site, stage="sustaining")
    body = await search(client, reader, q="frailty huddle", types="innovation")
    order = ids(body)
    assert order.index(str(sustained)) < order.index(str(plain))
    # A little: sustained adoptions do not lift a summary match above a title match.
    assert order.index(str(title_only)) < order.index(str(summary_only))


async def test_misspelt_words_find_the_intended_records(client: httpx.AsyncClient, reader, conn) -> None:
    wards = await rows.innovation(conn, "Virtual wards for frailty", summary="Hospital care at home")
    await rows.innovation(conn, "Visual impairment clinic", summary="Eye care")
    body = await search(client, reader, q="vitual ward")
    assert ids(body) == [str(wards)]
    assert body["correctedQuery"] == "virtual ward"
    body = await search(client, reader, q='"vitual wards" -visual')
    assert ids(body) == [str(wards)]
    assert body["correctedQuery"] == '"virtual wards" -visual'
    body = await search(client, reader, q="frialty")
    assert ids(body) == [str(wards)]
    # Known words are never "corrected", and words with nothing close stay as typed.
    body = await search(client, reader, q="visual")
    assert body["correctedQuery"] is None and len(body["items"]) == 1
    body = await search(client, reader, q="zzyzx")
    assert body["correctedQuery"] is None and body["items"] == []


async def test_sites_and_adaptations_are_found_with_their_fields(client: httpx.AsyncClient, reader, conn) -> None:
    body = await search(client, reader, q="Royal Preston", types="site")
    site = body["items"][0]
    assert site["type"] == "site" and "Preston" in site["title"]
    assert site["kind"] in ("trust", "trust_site") and site["regionCode"] == "Y62" and site["regionName"]
    assert "<mark>Preston</mark>" in site["snippet"]

    innovation = await rows.innovation(conn, "Falls prevention exercise", origin="RQM")
    adoption = await rows.adoption(conn, innovation, "RXN", stage="piloting")
    adaptation = await rows.adaptation(
        conn, adoption, "Delivered by physiotherapy assistants in a church hall", nature="substituting"
    )
    body = await search(client, reader, q="physiotherapy assistants")
    assert ids(body) == [str(adaptation)]
    hit = body["items"][0]
    assert hit["type"] == "adaptation"
    assert hit["innovation"] == {"id": str(innovation), "title": "Falls prevention exercise"}
    assert hit["site"]["code"] == "RXN" and hit["nature"] == "substituting" and hit["stage"] == "piloting"
    assert hit["title"].startswith("Falls prevention exercise at ")

    body = await search(client, reader, q="falls prevention", types="innovation")
    hit = body["items"][0]
    assert hit["adoptionCount"] == 2 and hit["evidenceLevel"] == "local_evaluation"


async def test_snippets_mark_matches_and_escape_everything_else(client: httpx.AsyncClient, reader, conn) -> None:
    await rows.innovation(
        conn,
        "Sepsis screening",
        summary='Nurses <script>alert("x")</script> & doctors screen for sepsis \x02early\x03',
    )
    body = await search(client, reader, q="sepsis")
    snippet = body["items"][0]["snippet"]
    assert "<mark>sepsis</mark>" in snippet
    assert "<script>" not in snippet and "&amp;" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "\x02" not in snippet and "\x03" not in snippet


@pytest.mark.parametrize(
    ("q", "finds"),
    [
        ("'; DROP TABLE innovations; --", False),
        ('"unclosed phrase', False),
        ("or or or", False),
        ("- -- ---", False),
        # operators of tsquery are punctuation, dropped: the one word left finds it
        ("sepsis & | ! <-> :* ( )", True),
        # LIKE wildcards are not wildcards here
        ("%_\\", False),
        ("SELECT * FROM sites WHERE 1=1", False),
        # a quote inside a word neither breaks the query nor stops the match
        ("sepsis'", True),
    ],
)
async def test_operators_quotes_and_sql_are_just_text(
    client: httpx.AsyncClient, reader, conn, q: str, finds: bool
) -> None:
    sepsis = await rows.innovation(conn, "Sepsis screening", summary="Screen early")
    await rows.innovation(conn, "Falls prevention", summary="Fewer falls on wards")
    body = await search(client, reader, q=q)
    assert ids(body) == ([str(sepsis)] if finds else []), body
    assert await conn.fetchval("SELECT count(*) FROM innovations") == 2


async def test_web_search_syntax(client: httpx.AsyncClient, reader, conn) -> None:
    both = await rows.innovation(conn, "Virtual wards for frailty", summary="Remote monitoring at home")
    frailty = await rows.innovation(conn, "Frailty unit", summary="Acute frailty assessment")
    wards = await rows.innovation(conn, "Ward huddles", summary="Safety huddles on wards")
    body = await search(client, reader, q="frailty ward", types="innovation")
    assert ids(body) == [str(both)]
    body = await search(client, reader, q="frailty or huddles", types="innovation")
    assert set(ids(body)) == {str(both), str(frailty), str(wards)}
    body = await search(client, reader, q="frailty -virtual", types="innovation")
    assert ids(body) == [str(frailty)]
    body = await search(client, reader, q='"remote monitoring"', types="innovation")
    assert ids(body) == [str(both)]
    body = await search(client, reader, q='"monitoring remote"', types="innovation")
    assert ids(body) == []


async def _arrange_for_filters(conn) -> dict[str, uuid.UUID]:
    a = await rows.innovation(
        conn,
        "Falls clinic",
        category="models_of_care",
        themes=["falls"],
        evidence_level="peer_reviewed",
        origin="RQM",  # London (Y56), ICB QRV
        origin_stage="sustaining",
        originated_on=dt.date(2019, 1, 1),
    )
    b = await rows.innovation(
        conn,
        "Falls app",
        category="digital",
        themes=["falls", "apps"],
        evidence_level="idea",
        status="retired",
        origin="RXN",  # North West (Y62)
        origin_stage="piloting",
        originated_on=dt.date(2018, 1, 1),
    )
    b_at_r0a = await rows.adoption(conn, b, "R0A", stage="implementing", started_on=dt.date(2023, 6, 1))
    await rows.learned(conn, b_at_r0a, await rows.origin_adoption(conn, b), "peer_visit")
    a_at_rxn = await rows.adoption(conn, a, "RXN", stage="exploring", started_on=dt.date(2021, 1, 1))
    await rows.learned(conn, a_at_rxn, await rows.origin_adoption(conn, a), "conference")
    ad = await rows.adaptation(
        conn, b_at_r0a, "Falls risk questions shortened", nature="shortening", fidelity="inconsistent"
    )
    return {"a": a, "b": b, "ad": ad}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "digital"}, {"b", "ad"}),
        ({"theme": "apps"}, {"b", "ad"}),
        ({"evidenceLevel": "peer_reviewed"}, {"a"}),
        ({"status": "retired"}, {"b", "ad"}),
        ({"region": "Y56"}, {"a"}),
        ({"region": "Y62"}, {"a", "b", "ad"}),  # RXN and R0A are in the North West
        ({"icb": "QRV"}, {"a"}),
        ({"stage": "implementing"}, {"b", "ad"}),
        ({"stage": "sustaining"}, {"a"}),
        ({"channel": "peer_visit"}, {"b", "ad"}),
        ({"channel": "conference"}, {"a"}),
        ({"nature": "shortening"}, {"ad"}),
        ({"fidelity": "inconsistent"}, {"ad"}),
        ({"adoptedSince": "2023-01-01"}, {"b", "ad"}),
        ({"types": "adaptation"}, {"ad"}),
        # Two adoption filters must hold for the same adoption: a is sustaining (in London)
        # and was adopted in the North West, but not sustaining there.
        ({"region": "Y62", "stage": "sustaining"}, set()),
        ({"region": "Y56", "stage": "sustaining"}, {"a"}),
        ({"stage": "implementing", "channel": "peer_visit"}, {"b", "ad"}),
        ({"adoptedSince": "2020-06-01", "channel": "conference"}, {"a"}),
        ({"adoptedSince": "2022-01-01", "channel": "conference"}, set()),
    ],
)
async def test_every_filter(
    client: httpx.AsyncClient, reader, conn, params: dict[str, str], expected: set[str]
) -> None:
    made = await _arrange_for_filters(conn)
    body = await search(client, reader, q="falls", **params)
    assert set(ids(body)) == {str(made[k]) for k in expected}
    assert body["total"] == len(expected)


async def test_region_filter_finds_sites_located_there(client: httpx.AsyncClient, reader, conn) -> None:
    body = await search(client, reader, q="hospital", types="site", region="Y56", limit=100)
    expected = await conn.fetchval(
        "SELECT count(*) FROM sites WHERE region_code = 'Y56'"
        " AND to_tsvector('english', name) @@ websearch_to_tsquery('english', 'hospital')"
    )
    assert body["total"] == expected > 0
    assert all(item["regionCode"] == "Y56" for item in body["items"])


async def test_facets_match_hand_counts(client: httpx.AsyncClient, reader, conn) -> None:
    made = await _arrange_for_filters(conn)
    await rows.innovation(conn, "Falls sensors", category="digital", evidence_level="idea", origin="R0A")
    await rows.innovation(conn, "Sepsis bundle", category="digital", origin="RQM")  # not a match
    body = await search(client, reader, q="falls", limit=1)
    assert len(body["items"]) == 1 and body["nextCursor"]  # the facets cover every page
    facets = body["facets"]
    assert body["total"] == 4
    # By hand: innovations a (RQM London, RXN North West), b (RXN, R0A: North West), sensors
    # (R0A: North West); the adaptation at R0A (North West). Sites: none named "falls".
    assert facets["type"] == {"innovation": 3, "adaptation": 1}
    assert facets["category"] == {"models_of_care": 1, "digital": 3}
    assert facets["evidenceLevel"] == {"peer_reviewed": 1, "idea": 3}
    assert facets["region"] == {"Y56": 1, "Y62": 4}
    assert facets["stage"] == {"sustaining": 1, "exploring": 1, "piloting": 1, "implementing": 3}
    # And against SQL over the registry tables.
    stage_counts = await conn.fetch(
        """
        SELECT stage, count(*) AS n FROM (
            SELECT DISTINCT i.id, a.stage FROM innovations i JOIN adoptions a ON a.innovation_id = i.id
             WHERE i.title ILIKE '%falls%'
            UNION ALL
            SELECT ad.id, a.stage FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id
             WHERE ad.description ILIKE '%falls%') x
        GROUP BY stage
        """
    )
    assert facets["stage"] == {r["stage"]: r["n"] for r in stage_counts}
    assert made


async def _bulk_pathways(conn, first: int, last: int) -> None:
    await conn.execute(
        """
        INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)
        SELECT 'bulk-' || g, 'Bulk pathway ' || g, CASE WHEN g % 4 = 0 THEN 'digital' ELSE 'other' END, 'idea',
               'RQM', date '2020-01-01'
        FROM generate_series($1::int, $2::int) AS g
        """,
        first,
        last,
    )


async def test_total_and_facets_are_exact_up_to_a_thousand(client: httpx.AsyncClient, reader, conn) -> None:
    await _bulk_pathways(conn, 1, 1000)
    body = await search(client, reader, q="pathway", limit=5)
    assert body["total"] == 1000 and body["totalIsEstimate"] is False and body["totalIsFloor"] is False
    assert body["facets"]["type"] == {"innovation": 1000}
    assert body["facets"]["category"] == {"digital": 250, "other": 750}
    await _bulk_pathways(conn, 1001, 1001)
    body = await search(client, reader, q="pathway", limit=5)
    assert body["totalIsEstimate"] is True and body["total"] > 1000


async def test_past_a_thousand_the_total_and_facets_are_flagged_estimates(
    client: httpx.AsyncClient, reader, conn
) -> None:
    await _bulk_pathways(conn, 1, 5000)
    await conn.execute("ANALYZE search_documents")
    body = await search(client, reader, q="pathway", limit=5)
    assert body["totalIsEstimate"] is True and body["totalIsFloor"] is False
    # The planner's estimate from the column statistics: near the 5,000 that match, never below
    # the 1,001 the sample counted.
    assert 2500 <= body["total"] <= 7500, body["total"]
    # Facets are the first 1,000 matches scaled to the estimate: they add up to about the total,
    # and keep the sample's proportions.
    facets = body["facets"]
    assert abs(sum(facets["type"].values()) - body["total"]) <= 1
    assert set(facets["category"]) == {"digital", "other"}
    assert 2 <= facets["category"]["other"] / facets["category"]["digital"] <= 4.5
    # A narrower query over the same data is exact again.
    body = await search(client, reader, q="bulk 42")
    assert body["total"] == 1 and body["totalIsEstimate"] is False and body["facets"]["type"] == {"innovation": 1}


async def test_an_estimate_past_ten_thousand_is_a_floor(client: httpx.AsyncClient, reader, conn) -> None:
    await _bulk_pathways(conn, 1, 12_000)
    await conn.execute("ANALYZE search_documents")
    body = await search(client, reader, q="pathway", limit=5)
    assert body["total"] == 10_000 and body["totalIsFloor"] is True and body["totalIsEstimate"] is True
    assert len(body["items"]) == 5 and body["nextCursor"]


async def test_relevance_pages_through_the_ranked_sample_without_repeats(
    client: httpx.AsyncClient, reader, conn
) -> None:
    await _bulk_pathways(conn, 1, 1200)
    seen: list[str] = []
    params: dict[str, Any] = {"q": "pathway", "limit": 100}
    while True:
        body = await search(client, reader, **params)
        assert body["totalIsEstimate"] is True
        seen += ids(body)
        if not body["nextCursor"]:
            break
        params["cursor"] = body["nextCursor"]
    # The first 1,001 matches found are ranked (1,000 counted exactly, plus one to know there are
    # more); pages neither repeat nor skip within them.
    assert len(seen) == len(set(seen)) == 1001


async def test_title_html_marks_matches_in_the_title_and_escapes_it(client: httpx.AsyncClient, reader, conn) -> None:
    # The match is only in the title: the snippet (summary, description) has no mark, titleHtml has.
    made = await rows.innovation(
        conn, 'Telederm <b>"triage"</b> & \x02review\x03', summary="Photos of skin lesions sent ahead"
    )
    body = await search(client, reader, q="telederm triage")
    assert ids(body) == [str(made)]
    hit = body["items"][0]
    assert "<mark>" not in hit["snippet"]
    assert hit["titleHtml"] == ("<mark>Telederm</mark> &lt;b&gt;&quot;<mark>triage</mark>&quot;&lt;/b&gt; &amp; review")
    assert hit["title"] == 'Telederm <b>"triage"</b> & \x02review\x03'
    # Stemmed, like the match: "reviews" marks "review".
    body = await search(client, reader, q="reviews")
    assert body["items"][0]["titleHtml"].endswith("&amp; <mark>review</mark>")


async def test_title_html_on_every_hit_type_only_with_q(client: httpx.AsyncClient, reader, conn) -> None:
    innovation = await rows.innovation(conn, "Preston falls clinic", origin="RQM")
    adoption = await rows.adoption(conn, innovation, "RXN", stage="piloting")
    await rows.adaptation(conn, adoption, "Preston volunteers run the clinic")
    body = await search(client, reader, q="preston")
    by_type = {item["type"]: item for item in body["items"]}
    assert set(by_type) == {"innovation", "adaptation", "site"}
    assert by_type["innovation"]["titleHtml"] == "<mark>Preston</mark> falls clinic"
    assert by_type["adaptation"]["titleHtml"].startswith("<mark>Preston</mark> falls clinic at ")
    assert "<mark>Preston</mark>" in by_type["site"]["titleHtml"]
    body = await search(client, reader, types="innovation")
    assert body["items"] and all("titleHtml" not in item for item in body["items"])


@pytest.mark.parametrize("sort", ["relevance", "newest", "mostAdopted"])
async def test_cursor_pages_are_stable(client: httpx.AsyncClient, reader, conn, sort: str) -> None:
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for n in range(23):
        # Several share a score, a creation time or an adoption count: the keyset must still
        # neither repeat nor skip.
        innovation = await rows.innovation(
            conn,
            f"Asthma review {'clinic' if n % 3 else 'asthma clinic'}",
            summary="asthma" if n % 2 else "",
            created_at=base + dt.timedelta(minutes=n // 4),
            origin="RQM",
        )
        if n % 5 == 0:
            await rows.adoption(conn, innovation, "RXN")
    params = {"q": "asthma", "sort": sort, "limit": 5}
    seen: list[str] = []
    pages: list[tuple[str | None, list[str]]] = []
    cursor = None
    while True:
        body = await search(client, reader, **params, **({"cursor": cursor} if cursor else {}))
        pages.append((cursor, ids(body)))
        seen += ids(body)
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 23 == len(set(seen))
    # Asking again with the same cursor gives the same page.
    for cursor, page in pages[1:]:
        body = await search(client, reader, **params, cursor=cursor)
        assert ids(body) == page
    # A new record that sorts before the cursor does not disturb the pages after it.
    first = await rows.innovation(conn, "Asthma asthma asthma", created_at=base + dt.timedelta(days=1), origin="RQM")
    for site in ("RXN", "R0A"):
        await rows.adoption(conn, first, site, stage="sustaining")
    assert ids(await search(client, reader, **params))[0] == str(first)
    cursor, page = pages[2]
    assert ids(await search(client, reader, **params, cursor=cursor)) == page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"category": "space_travel"}, "category"),
        ({"evidenceLevel": "rumour"}, "evidenceLevel"),
        ({"stage": "dreaming"}, "stage"),
        ({"channel": "pigeon"}, "channel"),
        ({"nature": "random"}, "nature"),
        ({"fidelity": "maybe"}, "fidelity"),
        ({"status": "gone"}, "status"),
        ({"types": "person"}, "types"),
        ({"sort": "oldest"}, "sort"),
        ({"region": "Y99"}, "region"),
        ({"region": "RQM"}, "region"),
        ({"icb": "Y56"}, "icb"),
        ({"icb": "QRV", "region": "Y62"}, "icb"),
        ({"theme": "no_such_theme"}, "theme"),
        ({"adoptedSince": "yesterday"}, "adoptedSince"),
        ({"sort": "relevance"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "WzEsMl0"}, "cursor"),  # [1,2]: valid base64 JSON, wrong shape
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, reader, params: dict[str, str], field: str
) -> None:
    r = await client.get("/v1/search", params=params, headers=reader)
    assert r.status_code == 422, r.text
    named = {e["field"].replace("_", "").lower() for e in r.json()["errors"]}
    assert field.lower() in named


async def test_cursor_from_another_query_is_refused(client: httpx.AsyncClient, reader, conn) -> None:
    for n in range(3):
        await rows.innovation(conn, f"Stroke pathway {n}")
    body = await search(client, reader, q="stroke", limit=1)
    r = await client.get(
        "/v1/search", params={"q": "pathway", "limit": 1, "cursor": body["nextCursor"]}, headers=reader
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = await client.get(
        "/v1/search", params={"q": "stroke", "limit": 1, "sort": "newest", "cursor": body["nextCursor"]}, headers=reader
    )
    assert r.status_code == 422


async def test_search_follows_writes(client: httpx.AsyncClient, reader, conn) -> None:
    innovation = await rows.innovation(conn, "Dementia cafe", origin="RQM", origin_stage="piloting")
    assert ids(await search(client, reader, q="dementia", stage="piloting")) == [str(innovation)]
    await conn.execute("UPDATE innovations SET title = 'Memory cafe', category = 'education' WHERE id = $1", innovation)
    assert ids(await search(client, reader, q="dementia")) == []
    assert ids(await search(client, reader, q="memory", category="education")) == [str(innovation)]
    await conn.execute("UPDATE adoptions SET stage = 'sustaining' WHERE innovation_id = $1", innovation)
    assert ids(await search(client, reader, q="memory", stage="piloting")) == []
    assert ids(await search(client, reader, q="memory", stage="sustaining")) == [str(innovation)]
    # Registry writes leave no trace of search columns in the change log.
    after = await conn.fetchval(
        "SELECT after FROM changes WHERE entity = 'innovation' AND entity_id = $1 ORDER BY seq DESC LIMIT 1",
        str(innovation),
    )
    assert "vector" not in after


async def test_browse_without_q_sorts_newest_and_has_no_score(client: httpx.AsyncClient, reader, conn) -> None:
    old = await rows.innovation(conn, "Old idea", created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    new = await rows.innovation(conn, "New idea", created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    body = await search(client, reader, types="innovation")
    assert ids(body) == [str(new), str(old)]
    assert all(item["score"] is None for item in body["items"])
    body = await search(client, reader, types="innovation", sort="mostAdopted")
    assert len(body["items"]) == 2


async def test_similar_innovations(client: httpx.AsyncClient, reader, conn) -> None:
    me = await rows.innovation(conn, "Virtual wards for frailty", category="models_of_care", themes=["frailty"])
    twin = await rows.innovation(
        conn, "Frailty virtual wards at home", category="models_of_care", themes=["frailty", "home"]
    )
    cousin = await rows.innovation(conn, "Acute frailty unit", category="education", themes=["frailty"])
    await rows.innovation(conn, "Sepsis screening", category="models_of_care", themes=["sepsis"])
    r = await client.get(f"/v1/innovations/{me}/similar", headers=reader)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [str(twin), str(cousin)]
    assert items[0]["sharedThemes"] == ["frailty"] and items[0]["score"] > items[1]["score"]
    r = await client.get(f"/v1/innovations/{uuid.uuid4()}/similar", headers=reader)
    assert r.status_code == 404
    r = await client.get(f"/v1/innovations/{me}/similar?limit=51", headers=reader)
    assert r.status_code == 422


async def test_search_needs_a_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/search", params={"q": "frailty"})
    assert r.status_code == 401
