"""Innovation writes that race: derivation cycles, component removal, slugs from one title.

Each write takes its locks before it reads what its rules need, so whichever request comes
second sees the first one's result and loses cleanly (409/422), never both commit.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.concurrency import ROUNDS
from tests.factories import COMPONENTS, adopt, make_innovation

ADAPTATION = {
    "description": "Monitoring by a community team instead of the ward.",
    "phase": "implementation",
    "whatModified": "content",
    "nature": "tailoring",
    "coreComponentKeys": ["remote_monitoring"],
}


@ROUNDS
async def test_two_way_derivation_never_commits_a_cycle(client: httpx.AsyncClient, conn, admin, rounds: int) -> None:
    for n in range(rounds):
        a = await make_innovation(client, admin, title=f"Frailty wards A{n}")
        b = await make_innovation(client, admin, title=f"Frailty wards B{n}")
        ra, rb = await asyncio.gather(
            client.patch(f"/v1/innovations/{a['id']}", json={"derivedFromId": b["id"]}, headers=admin),
            client.patch(f"/v1/innovations/{b['id']}", json={"derivedFromId": a["id"]}, headers=admin),
        )
        assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
        loser = ra if ra.status_code == 409 else rb
        assert loser.headers["content-type"].startswith("application/problem+json")
        assert "cycle" in loser.json()["detail"]
        parents = {
            str(r["id"]): r["derived_from_id"]
            for r in await conn.fetch(
                "SELECT id, derived_from_id FROM innovations WHERE id = ANY($1::uuid[])", [a["id"], b["id"]]
            )
        }
        assert sum(p is not None for p in parents.values()) == 1, parents


@ROUNDS
async def test_three_way_derivation_never_commits_a_cycle(client: httpx.AsyncClient, conn, admin, rounds: int) -> None:
    for n in range(rounds):
        ids = [(await make_innovation(client, admin, title=f"Ring {n} {i}"))["id"] for i in range(3)]
        answers = await asyncio.gather(
            *(
                client.patch(f"/v1/innovations/{ids[i]}", json={"derivedFromId": ids[(i + 1) % 3]}, headers=admin)
                for i in range(3)
            )
        )
        assert sorted(r.status_code for r in answers) == [200, 200, 409], [r.text for r in answers]
        linked = await conn.fetchval(
            "SELECT count(*) FROM innovations WHERE id = ANY($1::uuid[]) AND derived_from_id IS NOT NULL", ids
        )
        assert linked == 2


@ROUNDS
async def test_component_removal_against_a_new_adaptation(client: httpx.AsyncClient, conn, admin, rounds: int) -> None:
    for n in range(rounds):
        inn = await make_innovation(client, admin, title=f"Wards with monitoring {n}")
        adoption = (await adopt(client, admin, inn["id"], "RQM", "2022-01-01")).json()
        patch, post = await asyncio.gather(
            client.patch(f"/v1/innovations/{inn['id']}", json={"coreComponents": COMPONENTS[:1]}, headers=admin),
            client.post(f"/v1/adoptions/{adoption['id']}/adaptations", json=ADAPTATION, headers=admin),
        )
        # one of the two loses cleanly: the removal (409) or the adaptation (422)
        assert (patch.status_code, post.status_code) in {(200, 422), (409, 201)}, (patch.text, post.text)
        keys = await conn.fetchval(
            "SELECT array_agg(c ->> 'key') FROM innovations i, jsonb_array_elements(i.core_components) c "
            "WHERE i.id = $1",
            inn["id"],
        )
        named = await conn.fetchval(
            "SELECT coalesce(array_agg(DISTINCT k), '{}') FROM adaptations, unnest(core_component_keys) k "
            "WHERE innovation_id = $1",
            inn["id"],
        )
        assert set(named) <= set(keys), (named, keys)


@ROUNDS
async def test_creates_with_one_title_each_get_their_own_slug(client: httpx.AsyncClient, admin, rounds: int) -> None:
    for n in range(rounds):
        title = f"Discharge to assess round {n}"
        answers = await asyncio.gather(
            *(client.post("/v1/innovations", json=_innovation(title), headers=admin) for _ in range(4))
        )
        assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
        slugs = {r.json()["slug"] for r in answers}
        base = f"discharge-to-assess-round-{n}"
        assert slugs == {base, f"{base}-2", f"{base}-3", f"{base}-4"}


def _innovation(title: str) -> dict:
    return {
        "title": title,
        "summary": "Assess people at home, not on the ward.",
        "category": "models_of_care",
        "evidenceLevel": "multi_site_evaluation",
        "originSiteCode": "RXN",
        "originatedOn": "2021-04-01",
    }
