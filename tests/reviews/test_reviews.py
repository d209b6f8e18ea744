"""Sustainment reviews through the API: recording, refusing, reviews due, the KM summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation

TODAY = dt.date.today()
LEVELS = {
    "benefitsBeyondHelpingPatients": 3,
    "credibilityOfBenefits": 4,
    "adaptability": 3,
    "monitoringProgress": 2,
    "staffInvolvementAndTraining": 3,
    "staffBehaviours": 3,
    "seniorLeadership": 2,
    "clinicalLeadership": 4,
    "fitWithAimsAndCulture": 3,
    "infrastructure": 1,
}


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def review(on: str, still: str = "yes", **factors: int) -> dict[str, Any]:
    return {"reviewedOn": on, "stillInUse": still, "factors": {**LEVELS, **factors}, "notes": "checked"}


async def implementing(
    client: httpx.AsyncClient, headers: dict[str, str], innovation: str, site: str, days: int
) -> str:
    r = await adopt(client, headers, innovation, site, ago(days), stage="implementing")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM adoption_reviews"))


async def test_record_and_list_reviews(client: httpx.AsyncClient, conn: asyncpg.Connection, admin) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    adoption = await implementing(client, admin, inn["id"], "RQM", 200)
    r = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(ago(10)), headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["factors"] == LEVELS and body["stillInUse"] == "yes" and body["adoptionId"] == adoption
    assert r.headers["location"] == f"/v1/reviews/{body['id']}" and r.headers["etag"] == '"1"'
    got = await client.get(r.headers["location"], headers=admin)
    assert got.status_code == 200 and got.json() == body
    listed = await client.get(f"/v1/adoptions/{adoption}/reviews", headers=admin)
    assert [i["id"] for i in listed.json()["items"]] == [body["id"]]
    # the change log recorded it, attributed
    change = await conn.fetchrow("SELECT entity, action FROM changes WHERE entity_id = $1", body["id"])
    assert (change["entity"], change["action"]) == ("adoption_review", "create")


async def test_bad_reviews_are_refused_and_nothing_written(
    client: httpx.AsyncClient, conn: asyncpg.Connection, admin
) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    adoption = await implementing(client, admin, inn["id"], "RQM", 200)
    before_start = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(ago(201)), headers=admin)
    assert before_start.status_code == 422, before_start.text
    assert before_start.json()["errors"][0]["field"] == "reviewedOn"
    assert "before the adoption started" in before_start.json()["errors"][0]["detail"]
    for level in (0, 5):
        bad = await client.post(
            f"/v1/adoptions/{adoption}/reviews", json=review(ago(5), seniorLeadership=level), headers=admin
        )
        assert bad.status_code == 422, bad.text
        assert "seniorLeadership" in bad.text
    missing = review(ago(5))
    del missing["factors"]["infrastructure"]
    assert (await client.post(f"/v1/adoptions/{adoption}/reviews", json=missing, headers=admin)).status_code == 422
    wrong_word = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(ago(5), "maybe"), headers=admin)
    assert wrong_word.status_code == 422
    assert await _count(conn) == 0


async def test_partner_reviews_only_its_sites(client: httpx.AsyncClient, conn, admin, make_key: KeyMaker) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    adoption = await implementing(client, admin, inn["id"], "RQM", 200)
    other = await make_key("read,write", partner="Elsewhere", sites=["RJ1"])
    r = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(ago(3)), headers=other)
    assert r.status_code == 403, r.text
    mine = await make_key("read,write", partner="Here", sites=["RQM"])
    r = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(ago(3)), headers=mine)
    assert r.status_code == 201, r.text
    assert r.json()["partner"] == "Here"
    assert await _count(conn) == 1


async def test_reviews_due(client: httpx.AsyncClient, admin, make_key: KeyMaker) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    old = await implementing(client, admin, inn["id"], "RQM", 400)  # 6 and 12 months past
    young = await implementing(client, admin, inn["id"], "RJ1", 100)  # 6 months due in ~83 days
    due = await client.get("/v1/reviews/due", headers=admin)
    assert due.status_code == 200, due.text
    mine = [(i["adoptionId"], i["months"], i["overdue"]) for i in due.json()["items"] if i["innovationId"] == inn["id"]]
    assert mine == [(old, 6, True), (old, 12, True)]
    # a review 12 months in meets both milestones; looking ahead shows the young one's 6 months
    r = await client.post(f"/v1/adoptions/{old}/reviews", json=review(ago(30)), headers=admin)
    assert r.status_code == 201, r.text
    ahead = (TODAY + dt.timedelta(days=120)).isoformat()
    due = await client.get("/v1/reviews/due", params={"before": ahead, "limit": 1}, headers=admin)
    first = due.json()["items"]
    assert [(i["adoptionId"], i["months"], i["overdue"]) for i in first] == [(young, 6, False)]
    assert due.json()["nextCursor"] is None or 'rel="next"' in due.headers["link"]
    # a partner sees its own sites by default, all with allSites=true
    partner = await make_key("read", partner="Here", sites=["RJ1"])
    own = await client.get("/v1/reviews/due", params={"before": ahead}, headers=partner)
    assert {i["siteCode"] for i in own.json()["items"]} == {"RJ1"}
    every = await client.get("/v1/reviews/due", params={"before": "2099-01-01", "allSites": "true"}, headers=partner)
    assert {"RQM", "RJ1"} <= {i["siteCode"] for i in every.json()["items"]}
    # region filter: RQM and RJ1 are both London (Y56); a Midlands filter hides them
    none = await client.get("/v1/reviews/due", params={"before": ahead, "region": "Y60"}, headers=admin)
    assert not [i for i in none.json()["items"] if i["innovationId"] == inn["id"]]


async def test_reviews_due_pages(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    for site in ("RQM", "RJ1", "RRK"):
        await implementing(client, admin, inn["id"], site, 800)
    seen: list[tuple[str, int]] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(10):
        page = await client.get("/v1/reviews/due", params=params, headers=admin)
        assert page.status_code == 200, page.text
        seen += [(i["adoptionId"], i["months"]) for i in page.json()["items"]]
        if not page.json()["nextCursor"]:
            break
        params["cursor"] = page.json()["nextCursor"]
    assert len(seen) == len(set(seen)) == 9  # three sites, three milestones each


async def test_sustainment_hand_worked(client: httpx.AsyncClient, admin) -> None:
    """Five adoptions; times in days from implementing (+ censored): 100, 100+, 300, 400+, 800+.

    KM: at 100 five at risk, one stops -> 4/5 = 0.8; at 300 three at risk (300, 400+, 800+), one
    stops -> 0.8 * 2/3 = 0.533333. 6 months (182.6 d): 0.8; 12 months: 0.533333; 24 months
    (730.5 d, followed by the 800+ one): 0.533333. A 'partly' review is not an event.
    """
    inn = await make_innovation(client, admin, originStage="piloting")
    a = await implementing(client, admin, inn["id"], "RQM", 800)
    b = await implementing(client, admin, inn["id"], "RJ1", 800)
    c = await implementing(client, admin, inn["id"], "RRK", 500)
    await implementing(client, admin, inn["id"], "RTH", 100)
    e = await implementing(client, admin, inn["id"], "RYJ", 400)
    for adoption, on, still in ((b, ago(700), "no"), (c, ago(200), "no"), (e, ago(200), "partly"), (a, ago(1), "yes")):
        r = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(on, still), headers=admin)
        assert r.status_code == 201, r.text
    r = await client.get(f"/v1/innovations/{inn['id']}/sustainment", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["adoptions"] == 5
    points = {p["months"]: p for p in body["points"]}
    assert points[6]["stillInUse"] == 0.8
    assert round(points[12]["stillInUse"], 6) == 0.533333
    assert round(points[24]["stillInUse"], 6) == 0.533333
    assert (points[6]["events"], points[6]["censored"], points[6]["atRisk"]) == (1, 1, 3)
    assert (points[12]["events"], points[12]["censored"], points[12]["atRisk"]) == (2, 1, 2)
    assert (points[24]["events"], points[24]["censored"], points[24]["atRisk"]) == (2, 2, 1)
    missing = await client.get("/v1/innovations/00000000-0000-0000-0000-000000000000/sustainment", headers=admin)
    assert missing.status_code == 404


async def test_sustainment_etag_revalidates(client: httpx.AsyncClient, admin) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    adoption = await implementing(client, admin, inn["id"], "RQM", 400)
    url = f"/v1/innovations/{inn['id']}/sustainment"
    first = await client.get(url, headers=admin)
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    again = await client.get(url, headers={**admin, "If-None-Match": tag})
    assert again.status_code == 304
    r = await client.post(f"/v1/adoptions/{adoption}/reviews", json=review(ago(1), "no"), headers=admin)
    assert r.status_code == 201, r.text
    changed = await client.get(url, headers={**admin, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    # stopped at 399 days: still in use at 6 and 12 months, none at 24
    assert [p["stillInUse"] for p in changed.json()["points"]] == [1.0, 1.0, 0.0]
