"""Bulk submissions: atomic and partial modes, upserts, in-batch lineage and every rejection reason."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from tests.submissions.helpers import (
    adoption,
    adoption_at,
    counts,
    errors_of,
    innovation,
    link,
    report,
    sources_of,
    submit,
)

ADAPTATION = {
    "description": "Run by community nurses rather than geriatricians",
    "phase": "implementation",
    "whatModified": "context",
    "contextChanges": ["personnel"],
    "coreComponentKeys": ["daily_huddle"],
    "decidedBy": ["manager"],
}


async def test_batch_creates_adoptions_links_and_adaptations(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    rows = [
        report("RQM", learnedFrom=[{"siteCode": "RXN", "channel": "peer_visit", "on": "2022-02-10"}], externalId="A1"),
        report(
            "RW6",
            "2022-05-01",
            "implementing",
            learnedFrom=[{"siteCode": "RQM", "channel": "learning_network"}],
            adaptations=[ADAPTATION],
            notes="Two wards",
        ),
    ]
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/submissions/{body['id']}"
    assert body["mode"] == "atomic"
    assert body["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert [(x["row"], x["status"], x["externalId"], x["errors"]) for x in body["rows"]] == [
        (1, "created", "A1", []),
        (2, "created", None, []),
    ]
    rqm, rw6 = (await adoption_at(conn, inn, "RQM")), (await adoption_at(conn, inn, "RW6"))
    assert str(rqm["id"]) == body["rows"][0]["adoptionId"]
    assert rqm["external_id"] == "A1" and rqm["stage"] == "piloting"
    assert rw6["notes"] == "Two wards"
    assert await sources_of(conn, rqm["id"]) == [("RXN", "peer_visit")]
    assert await sources_of(conn, rw6["id"]) == [("RQM", "learning_network")]
    adaptation = await conn.fetchrow(
        "SELECT core_component_keys, context_changes, innovation_id FROM adaptations WHERE adoption_id = $1", rw6["id"]
    )
    assert adaptation["core_component_keys"] == ["daily_huddle"] and adaptation["innovation_id"] == inn
    assert await conn.fetchval("SELECT stage FROM adoption_stages WHERE adoption_id = $1", rw6["id"]) == "implementing"
    # the change log attributes every write to the key's partner and the request
    logged = await conn.fetch(
        "SELECT entity, partner_name, request_id FROM changes WHERE request_id = $1", r.headers["x-request-id"]
    )
    assert {c["entity"] for c in logged} == {"adoption", "adoption_source", "adaptation", "submission"}
    assert {c["partner_name"] for c in logged} == {"Registry admin"}
    assert await conn.fetchval("SELECT adoption_count FROM innovations WHERE id = $1", inn) == 3

    # the same spreadsheet again changes nothing
    before = await counts(conn)
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    assert r.json()["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert [x["adoptionId"] for x in r.json()["rows"]] == [x["adoptionId"] for x in body["rows"]]
    after = await counts(conn)
    assert after["submissions"] == before["submissions"] + 1
    assert after["changes"] == before["changes"] + 1  # the submission record only
    assert {k: v for k, v in after.items() if k not in ("submissions", "changes")} == {
        k: v for k, v in before.items() if k not in ("submissions", "changes")
    }


async def test_in_batch_learned_from_in_any_order(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    # a chain RXN (origin) <- RQM <- RW6 <- R0A, listed learners first
    rows = [
        report("R0A", "2022-09-01", learnedFrom=[{"siteCode": "RW6", "channel": "collaborative"}]),
        report("RW6", "2022-06-01", learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}]),
        report("RQM", "2022-03-01", learnedFrom=[{"siteCode": "RXN", "channel": "conference"}]),
    ]
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["created"] == 3
    for site, source in (("R0A", "RW6"), ("RW6", "RQM"), ("RQM", "RXN")):
        found = await adoption_at(conn, inn, site)
        assert [s for s, _ in await sources_of(conn, found["id"])] == [source]
    # same day is fine when there is no cycle
    r = await submit(
        client, admin, [report("RJ1", "2022-06-01", learnedFrom=[{"siteCode": "RW6", "channel": "peer_visit"}])]
    )
    assert r.status_code == 201, r.text


async def test_upsert_by_site_and_external_id(client: httpx.AsyncClient, admin, make_key, conn) -> None:
    inn = await innovation(conn)
    headers = await make_key("read,write", partner="Health Innovation North West", sites=["Y62"])
    existing = await adoption(conn, inn, "RQM", dt.date(2022, 3, 1), stage="piloting")
    await conn.execute("UPDATE adoptions SET notes = 'kept' WHERE id = $1", existing)
    mine = await adoption(
        conn, inn, "RXR", dt.date(2022, 4, 1), external_id="HIN-7", partner="Health Innovation North West"
    )

    r = await submit(client, admin, [report("RQM", stage="implementing", externalId="ADM-1")])
    assert r.status_code == 201, r.text
    row = r.json()["rows"][0]
    assert (row["status"], row["adoptionId"]) == ("updated", str(existing))
    found = await adoption_at(conn, inn, "RQM")
    assert found["stage"] == "implementing" and found["notes"] == "kept" and found["external_id"] == "ADM-1"
    history = await conn.fetch("SELECT stage FROM adoption_stages WHERE adoption_id = $1 ORDER BY id", existing)
    assert [h["stage"] for h in history] == ["piloting", "implementing"]

    # the partner's own reference finds its adoption
    r = await submit(client, headers, [report("RXR", "2022-04-01", stage="sustaining", externalId="HIN-7")])
    assert r.status_code == 201, r.text
    assert (r.json()["rows"][0]["status"], r.json()["rows"][0]["adoptionId"]) == ("updated", str(mine))
    # ... and cannot move it to another site
    r = await submit(client, headers, [report("RXN", "2022-04-01", externalId="HIN-7")], mode="partial")
    assert errors_of(r.json(), 1)[0][0] == "siteCode"
    assert "already names your adoption at site RXR" in errors_of(r.json(), 1)[0][1]

    # discontinuing, then re-sending the same row, updates once and then changes nothing
    stop = report("RQM", stage="discontinued", discontinuedReason="Funding ended")
    r = await submit(client, admin, [stop])
    assert r.json()["rows"][0]["status"] == "updated"
    r = await submit(client, admin, [stop])
    assert r.json()["rows"][0]["status"] == "unchanged"
    assert await conn.fetchval("SELECT count(*) FROM adoptions WHERE site_code = 'RQM'") == 1
    # a new open report after a discontinued one starts the site again
    r = await submit(client, admin, [report("RQM", "2023-01-01")])
    assert r.json()["rows"][0]["status"] == "created"
    assert await conn.fetchval("SELECT count(*) FROM adoptions WHERE site_code = 'RQM'") == 2


async def test_atomic_batch_with_a_bad_row_writes_nothing(client: httpx.AsyncClient, admin, conn) -> None:
    await innovation(conn)
    before = await counts(conn)
    rows = [report("RQM"), report("ZZZ99"), report("RW6", stage="thinking")]
    r = await submit(client, admin, rows)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "/problems/invalid-input"
    assert "2 of 3 rows were rejected, so nothing was written" in problem["detail"]
    assert [x["row"] for x in problem["rows"]] == [2, 3]
    assert all(x["status"] == "rejected" and x["adoptionId"] is None for x in problem["rows"])
    assert errors_of(problem, 2) == [("siteCode", "no site has code 'ZZZ99'")]
    assert errors_of(problem, 3)[0][0] == "stage"
    assert "one of: exploring, planning" in errors_of(problem, 3)[0][1]
    assert await counts(conn) == before


async def test_partial_mode_writes_the_valid_rows(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    rows = [
        report("RQM"),
        report("RJ1", stage="discontinued"),
        # learns from the rejected row: rejected too, naming it
        report("RW6", "2022-06-01", learnedFrom=[{"siteCode": "RJ1", "channel": "peer_visit"}]),
        report("R0A", "2022-06-01", learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}]),
    ]
    r = await submit(client, admin, rows, mode="partial")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mode"] == "partial"
    assert body["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    assert [x["status"] for x in body["rows"]] == ["created", "rejected", "rejected", "created"]
    assert errors_of(body, 3) == [("learnedFrom[0].siteCode", "the row for site RJ1 (row 2) was rejected")]
    assert await adoption_at(conn, inn, "R0A") is not None
    assert await adoption_at(conn, inn, "RW6") is None


async def test_every_rejection_reason(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    await adoption(conn, inn, "RQM", dt.date(2022, 3, 1))
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    peer = {"channel": "peer_visit"}
    cases = {
        "unknown innovation": lambda s: (
            {**report(s), "innovation": "no-such-thing"},
            ("innovation", "no innovation has id or slug 'no-such-thing'"),
        ),
        "unknown innovation id": lambda s: (
            {**report(s), "innovation": "7d3c2b1a-0000-4000-8000-000000000000"},
            ("innovation", "no innovation has id or slug '7d3c2b1a-0000-4000-8000-000000000000'"),
        ),
        "unknown site": lambda s: (report("ZZZ99"), ("siteCode", "no site has code 'ZZZ99'")),
        "malformed site": lambda s: (report(s.lower()), ("siteCode", None)),
        "bad stage": lambda s: (report(s, stage="thinking"), ("stage", None)),
        "bad date": lambda s: (report(s, "01/03/2022"), ("startedOn", "must be a date as YYYY-MM-DD")),
        "future start": lambda s: (report(s, tomorrow), ("startedOn", "startedOn cannot be in the future")),
        "bad channel": lambda s: (
            report(s, learnedFrom=[{"siteCode": "RXN", "channel": "telepathy"}]),
            ("learnedFrom[0].channel", None),
        ),
        "future learned-from date": lambda s: (
            report(s, learnedFrom=[{"siteCode": "RXN", "on": tomorrow, **peer}]),
            ("learnedFrom[0].on", f"{tomorrow} is in the future"),
        ),
        "learned from a site with no adoption": lambda s: (
            report(s, learnedFrom=[{"siteCode": "RJ1", **peer}]),
            (
                "learnedFrom[0].siteCode",
                "site RJ1 has no adoption of this innovation, in the registry or in this batch",
            ),
        ),
        "learned from an unknown site": lambda s: (
            report(s, learnedFrom=[{"siteCode": "ZZZ98", **peer}]),
            ("learnedFrom[0].siteCode", "no site has code 'ZZZ98'"),
        ),
        "learned from a later start": lambda s: (
            report(s, "2022-01-01", learnedFrom=[{"siteCode": "RQM", **peer}]),
            ("learnedFrom[0].siteCode", "the source started on 2022-03-01, after this adoption (2022-01-01)"),
        ),
        "learned from itself": lambda s: (
            report(s, learnedFrom=[{"siteCode": s, **peer}]),
            ("learnedFrom[0].siteCode", "an adoption cannot learn from itself"),
        ),
        "same source twice": lambda s: (
            report(s, learnedFrom=[{"siteCode": "RXN", **peer}, {"siteCode": "RXN", "channel": "conference"}]),
            ("learnedFrom[1].siteCode", "the same source is listed twice"),
        ),
        "unknown core component": lambda s: (
            report(s, adaptations=[{**ADAPTATION, "coreComponentKeys": ["daily_huddle", "telehealth"]}]),
            (
                "adaptations[0].coreComponentKeys",
                "telehealth is not a core component of this innovation "
                "(its components: daily_huddle, remote_monitoring)",
            ),
        ),
        "bad adaptation": lambda s: (
            report(s, adaptations=[{**ADAPTATION, "phase": "later"}]),
            ("adaptations[0].phase", None),
        ),
        "discontinued without a reason": lambda s: (
            report(s, stage="discontinued"),
            ("discontinuedReason", "stage 'discontinued' needs a reason"),
        ),
        "unknown field": lambda s: ({**report(s), "colour": "blue"}, ("colour", "unknown field")),
        "missing field": lambda s: (
            {"innovation": "virtual-wards-for-frailty", "siteCode": s},
            ("stage", "is required"),
        ),
        "not an object": lambda s: (42, ("row", "Expected `object`, got `int`")),
    }
    sites = [
        r["code"]
        for r in await conn.fetch(
            "SELECT code FROM sites WHERE kind = 'trust' AND code NOT IN ('RQM', 'RXN', 'RJ1') ORDER BY code LIMIT $1",
            len(cases),
        )
    ]
    built = {name: make(site) for (name, make), site in zip(cases.items(), sites, strict=True)}
    r = await submit(client, admin, [row for row, _ in built.values()], mode="partial")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["summary"]["rejected"] == len(cases)
    for n, (name, (_, (field, detail))) in enumerate(built.items(), start=1):
        found = errors_of(body, n)
        assert found, name
        assert found[0][0] == field, (name, found)
        if detail is not None:
            assert found[0][1] == detail, (name, found)


async def test_cycles_and_duplicates_within_a_batch(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn)
    same_day = "2022-05-01"
    rows = [
        report("RQM", same_day, learnedFrom=[{"siteCode": "RW6", "channel": "peer_visit"}]),
        report("RW6", same_day, learnedFrom=[{"siteCode": "R0A", "channel": "peer_visit"}]),
        report("R0A", same_day, learnedFrom=[{"siteCode": "RQM", "channel": "peer_visit"}]),
        report("RJ1", same_day, learnedFrom=[{"siteCode": "RXN", "channel": "peer_visit"}]),
        report("RJ1", "2022-06-01"),
    ]
    r = await submit(client, admin, rows, mode="partial")
    body = r.json()
    assert [x["status"] for x in body["rows"]] == ["rejected", "rejected", "rejected", "created", "rejected"]
    for n, source in ((1, "RW6"), (2, "R0A"), (3, "RQM")):
        assert errors_of(body, n) == [
            (
                "learnedFrom[0].siteCode",
                f"learning from site {source} would make a cycle (between sites R0A, RQM, RW6)",
            )
        ]
    assert errors_of(body, 5)[0][1].startswith("row 4 already reports this adoption (site RJ1)")

    # a cycle through links already in the registry is found too
    rqm = await adoption(conn, inn, "RQM", dt.date(2022, 5, 1))
    rw6 = await adoption(conn, inn, "RW6", dt.date(2022, 5, 1))
    await link(conn, rw6, rqm)
    r = await submit(client, admin, [report("RQM", same_day, learnedFrom=[{"siteCode": "RW6", "channel": "other"}])])
    assert r.status_code == 422
    assert "would make a cycle" in r.json()["rows"][0]["errors"][0]["detail"]


async def test_moving_start_dates_keeps_lineage_valid(client: httpx.AsyncClient, admin, conn) -> None:
    inn = await innovation(conn, originated_on=dt.date(2021, 4, 1))
    rqm = await adoption(conn, inn, "RQM", dt.date(2022, 3, 1))
    rw6 = await adoption(conn, inn, "RW6", dt.date(2022, 6, 1))
    await link(conn, rw6, rqm)
    # moving the learner before its source is refused
    r = await submit(client, admin, [report("RW6", "2022-01-01", stage="implementing")])
    assert r.status_code == 422
    assert r.json()["rows"][0]["errors"] == [
        {
            "field": "startedOn",
            "detail": "moving the start to 2022-01-01 would put it before its source at site RQM (2022-03-01)",
        }
    ]
    # moving both, in either order, is fine; so is moving both later
    for rows in (
        [report("RW6", "2021-12-01", "implementing"), report("RQM", "2021-11-01", "implementing")],
        [report("RQM", "2023-02-01", "implementing"), report("RW6", "2023-03-01", "implementing")],
    ):
        r = await submit(client, admin, rows)
        assert r.status_code == 201, r.text
        assert r.json()["summary"]["updated"] == 2
    assert (await adoption_at(conn, inn, "RW6"))["started_on"] == dt.date(2023, 3, 1)


async def test_innovation_by_id_and_several_innovations(client: httpx.AsyncClient, admin, conn) -> None:
    first = await innovation(conn)
    second = await innovation(conn, slug="digital-front-door", origin="RQM")
    rows = [
        {**report("RW6"), "innovation": str(first)},
        {
            **report("RW6"),
            "innovation": "digital-front-door",
            "learnedFrom": [{"siteCode": "RQM", "channel": "direct_from_innovator"}],
        },
        {**report("RXN", "2022-01-01"), "innovation": str(uuid.UUID(str(second))).upper()},
    ]
    r = await submit(client, admin, rows)
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["created"] == 3
    assert await adoption_at(conn, first, "RW6") is not None
    assert await adoption_at(conn, second, "RXN") is not None
