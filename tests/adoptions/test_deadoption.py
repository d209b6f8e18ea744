"""Structured de-adoption: why, what happened, and what replaced it."""

from __future__ import annotations

import asyncpg
import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation


async def _two(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str, str, str]:
    old = await make_innovation(client, admin, title="Paper frailty screening")
    new = await make_innovation(client, admin, title="Electronic frailty index")
    a = await adopt(client, admin, old["id"], "RQM", "2023-01-01", stage="implementing")
    b = await adopt(client, admin, new["id"], "RQM", "2024-01-01", stage="piloting")
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    return old["id"], new["id"], a.json()["id"], b.json()["id"]


async def test_discontinue_replaced(client: httpx.AsyncClient, conn: asyncpg.Connection, admin) -> None:
    old, new, adoption, replacement = await _two(client, admin)
    r = await client.patch(
        f"/v1/adoptions/{adoption}",
        json={
            "stage": "discontinued",
            "discontinuedCriterion": "not_most_effective_or_efficient",
            "discontinuedOutcome": "replaced",
            "replacedBy": {"innovationId": new},
            "discontinuedReason": "The electronic index finds the same patients without a form.",
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["discontinuedCriterion"] == "not_most_effective_or_efficient"
    assert body["discontinuedOutcome"] == "replaced"
    assert body["replacedBy"] == {"innovationId": new, "adoptionId": replacement}
    assert body["stageHistory"][-1]["reason"].startswith("The electronic index")
    # the innovation's sustainment view shows both directions
    s_old = (await client.get(f"/v1/innovations/{old}/sustainment", headers=admin)).json()
    s_new = (await client.get(f"/v1/innovations/{new}/sustainment", headers=admin)).json()
    assert s_old["replacedBy"] == [{"innovationId": new, "adoptions": 1}]
    assert s_new["replaced"] == [{"innovationId": old, "adoptions": 1}]
    # leaving 'discontinued' clears the structured fields with the reason
    r = await client.patch(f"/v1/adoptions/{adoption}", json={"stage": "implementing"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["discontinuedCriterion"], r.json()["replacedBy"], r.json()["discontinuedReason"]) == (
        None,
        None,
        None,
    )


async def test_criterion_alone_is_enough_and_free_text_alone_still_is(client: httpx.AsyncClient, admin) -> None:
    old, _, adoption, _ = await _two(client, admin)
    r = await client.patch(
        f"/v1/adoptions/{adoption}",
        json={
            "stage": "discontinued",
            "discontinuedCriterion": "not_feasible_to_sustain",
            "discontinuedOutcome": "removed",
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["discontinuedReason"] is None
    other = await adopt(client, admin, old, "RJ1", "2023-05-01", stage="implementing")
    r = await client.patch(
        f"/v1/adoptions/{other.json()['id']}",
        json={"stage": "discontinued", "discontinuedReason": "Lost funding"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["discontinuedReason"], r.json()["discontinuedCriterion"]) == ("Lost funding", None)
    # neither: refused
    third = await adopt(client, admin, old, "RRK", "2023-05-01", stage="implementing")
    r = await client.patch(f"/v1/adoptions/{third.json()['id']}", json={"stage": "discontinued"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "discontinuedReason"


async def test_bad_replacements_refused_nothing_written(
    client: httpx.AsyncClient, conn: asyncpg.Connection, admin
) -> None:
    old, new, adoption, replacement = await _two(client, admin)
    never = await make_innovation(client, admin, title="Never adopted at RQM", originSiteCode="RJ1")
    base = {"stage": "discontinued", "discontinuedCriterion": "no_longer_necessary", "discontinuedOutcome": "replaced"}
    cases = [
        ({**base, "replacedBy": {"innovationId": old}}, "replacedBy.innovationId", "itself"),
        ({**base, "replacedBy": {"innovationId": never["id"]}}, "replacedBy.innovationId", "never adopted"),
        (
            {**base, "replacedBy": {"innovationId": new, "adoptionId": adoption}},
            "replacedBy.adoptionId",
            "must be an adoption of",
        ),
        (
            {**base, "discontinuedOutcome": "reduced", "replacedBy": {"innovationId": new}},
            "discontinuedOutcome",
            "'replaced'",
        ),
        ({"discontinuedCriterion": "no_longer_necessary"}, "discontinuedCriterion", "only for a discontinued"),
    ]
    for body, field, words in cases:
        r = await client.patch(f"/v1/adoptions/{adoption}", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, r.text
        assert words in r.json()["detail"], r.text
    row = await conn.fetchrow(
        "SELECT stage, discontinued_criterion, replaced_by_innovation_id, version FROM adoptions WHERE id = $1",
        adoption,
    )
    assert (row["stage"], row["discontinued_criterion"], row["replaced_by_innovation_id"], row["version"]) == (
        "implementing",
        None,
        None,
        1,
    )
    bad_word = await client.patch(
        f"/v1/adoptions/{adoption}", json={**base, "discontinuedOutcome": "gone"}, headers=admin
    )
    assert bad_word.status_code == 422
    assert replacement


async def test_database_refuses_self_replacement_without_the_api(conn: asyncpg.Connection, client, admin) -> None:
    old, _, adoption, _ = await _two(client, admin)
    try:
        await conn.execute(
            "UPDATE adoptions SET stage = 'discontinued', discontinued_criterion = 'no_longer_necessary',"
            " discontinued_outcome = 'replaced', replaced_by_innovation_id = innovation_id WHERE id = $1",
            adoption,
        )
    except asyncpg.CheckViolationError as exc:
        assert exc.constraint_name == "adoptions_replaced_by_other"
    else:
        raise AssertionError("the database accepted an innovation replaced by itself")
    assert old


async def test_partner_discontinues_only_its_sites(client: httpx.AsyncClient, admin, make_key: KeyMaker) -> None:
    _, new, adoption, _ = await _two(client, admin)
    other = await make_key("read,write", partner="Elsewhere", sites=["RJ1"])
    r = await client.patch(
        f"/v1/adoptions/{adoption}",
        json={
            "stage": "discontinued",
            "discontinuedCriterion": "not_effective_or_harmful",
            "discontinuedOutcome": "removed",
        },
        headers=other,
    )
    assert r.status_code == 403, r.text
    assert new
