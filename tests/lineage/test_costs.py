"""Lineage costs what its graph costs: dense graphs, deep chains, bounds and the event loop.

The graphs are written in bulk with SQL (the learned-from check trigger is switched off on
this test's own database while they are written: it would walk every ancestor per link).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import threading
import uuid

import asyncpg
import httpx
import pytest

from service.lineage import graph, queries
from tests.lineage.spread import innovation

START = dt.date(2000, 1, 1)


async def arrange(conn: asyncpg.Connection, size: int, fan: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """An innovation with ``size`` adoptions, adoption k learning from the ``fan`` before it."""
    x = await innovation(conn, f"Dense {size}x{fan}")
    codes = [f"L-{k:05d}" for k in range(size)]
    await conn.execute(
        "INSERT INTO sites (code, name, kind) SELECT c, 'Site ' || c, 'other' FROM unnest($1::text[]) c", codes
    )
    ids = [uuid.uuid4() for _ in range(size)]
    await conn.execute(
        """
        INSERT INTO adoptions (id, innovation_id, site_code, stage, started_on, is_origin)
        SELECT i, $2, c, 'implementing', $3::date + (o::int - 1), o = 1
        FROM unnest($1::uuid[], $4::text[]) WITH ORDINALITY AS t(i, c, o)
        """,
        ids,
        x,
        START,
        codes,
    )
    learners, sources = [], []
    for k in range(1, size):
        for j in range(max(0, k - fan), k):
            learners.append(ids[k])
            sources.append(ids[j])
    await conn.execute("ALTER TABLE adoption_sources DISABLE TRIGGER adoption_sources_check")
    try:
        await conn.execute(
            """
            INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel)
            SELECT l, s, 'peer_visit' FROM unnest($1::uuid[], $2::uuid[]) AS t(l, s)
            """,
            learners,
            sources,
        )
    finally:
        await conn.execute("ALTER TABLE adoption_sources ENABLE TRIGGER adoption_sources_check")
    return x, ids


async def test_dense_lineage_answers_with_the_right_generations(
    client: httpx.AsyncClient, reader: dict[str, str], conn: asyncpg.Connection
) -> None:
    """500 adoptions, each learning from the 40 before it: 19,180 links and, for a walk over
    (adoption, generation) pairs, a pair for almost every path length to every adoption."""
    size, fan = 500, 40
    x, ids = await arrange(conn, size, fan)
    position = {str(a): k for k, a in enumerate(ids)}

    r = await client.get(f"/v1/innovations/{x}/lineage", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["nodes"]) == size
    assert len(body["edges"]) == sum(min(k, fan) for k in range(size))
    generations = {position[n["adoptionId"]]: n["generation"] for n in body["nodes"]}
    assert generations == {k: 1 + math.ceil(k / fan) for k in range(size)}
    assert body["stats"]["roots"] == 1 and body["stats"]["largestCascade"]["size"] == size

    r = await client.get(f"/v1/innovations/{x}/lineage?depth=3", headers=reader)
    assert r.status_code == 200 and len(r.json()["nodes"]) == 1 + 2 * fan

    r = await client.get(f"/v1/adoptions/{ids[0]}/lineage?direction=downstream&depth=2", headers=reader)
    assert r.status_code == 200, r.text
    steps = {position[n["adoptionId"]] for n in r.json()["nodes"]}
    assert steps == set(range(2 * fan + 1))

    # Upstream of the last: more chains than any answer holds, so they are cut and flagged; the
    # shortest come first.
    r = await client.get(f"/v1/adoptions/{ids[-1]}/lineage?direction=upstream", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["pathsTruncated"] is True and 0 < len(body["paths"]) <= graph.MAX_PATHS
    assert len(body["nodes"]) == size
    for path in body["paths"]:
        order = [position[a] for a in path]
        assert order[0] == 0 and order[-1] == size - 1 and order == sorted(order)
        assert all(b - a <= fan for a, b in itertools.pairwise(order))


async def test_lineage_past_the_walk_bounds_is_refused_naming_the_limit(
    client: httpx.AsyncClient, reader: dict[str, str], conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, ids = await arrange(conn, 300, 30)
    monkeypatch.setattr(queries, "MAX_WALK", 250)
    for url in (
        f"/v1/innovations/{x}/lineage",
        f"/v1/innovations/{x}/lineage?depth=1&format=geojson",
        f"/v1/adoptions/{ids[0]}/lineage?direction=downstream&depth=1",
        f"/v1/adoptions/{ids[-1]}/lineage?direction=upstream",
    ):
        r = await client.get(url, headers=reader)
        assert r.status_code == 422, (url, r.text)
        problem = r.json()
        assert "more than 250 adoptions" in problem["detail"] and problem["limit"] == 250, problem
    # Upstream of an early adoption walks few: it answers.
    r = await client.get(f"/v1/adoptions/{ids[10]}/lineage?direction=upstream", headers=reader)
    assert r.status_code == 200 and len(r.json()["nodes"]) == 11

    monkeypatch.setattr(queries, "MAX_WALK", 50_000)
    monkeypatch.setattr(queries, "MAX_LINKS", 1_000)
    r = await client.get(f"/v1/innovations/{x}/lineage", headers=reader)
    assert r.status_code == 422
    assert "more than 1,000 learned-from links" in r.json()["detail"] and r.json()["limit"] == 1_000


async def test_deep_chain_has_one_path_through_every_adoption(
    client: httpx.AsyncClient, reader: dict[str, str], conn: asyncpg.Connection
) -> None:
    size = 3_000
    x, ids = await arrange(conn, size, 1)
    r = await client.get(f"/v1/adoptions/{ids[-1]}/lineage?direction=upstream", headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["paths"] == [[str(a) for a in ids]] and body["pathsTruncated"] is False
    assert {n["adoptionId"]: n["generation"] for n in body["nodes"]} == {str(a): k + 1 for k, a in enumerate(ids)}

    r = await client.get(f"/v1/innovations/{x}/lineage?depth=100", headers=reader)
    assert r.status_code == 200 and [n["generation"] for n in r.json()["nodes"]] == list(range(1, 101))
    r = await client.get(f"/v1/adoptions/{ids[0]}/lineage?direction=downstream&depth=5", headers=reader)
    assert r.status_code == 200 and [n["adoptionId"] for n in r.json()["nodes"]] == [str(a) for a in ids[:6]]


def test_paths_to_walks_a_deep_chain_in_linear_steps() -> None:
    """Path finding pushes and pops one adoption per step: a 20,000-deep chain is one path,
    found by a search that never copies the chain on the way down."""
    size = 20_000
    ids = [uuid.uuid4() for _ in range(size)]
    innovation_id = uuid.uuid4()
    rows = [
        queries.NodeRow(
            a, innovation_id, "implementing", START + dt.timedelta(days=k), k == 0, 0, f"S{k}", "s", "other",
            None, None, None, None, 0,
        )
        for k, a in enumerate(ids)
    ]  # fmt: skip
    links = [queries.LinkRow(ids[k], ids[k - 1], "peer_visit", None) for k in range(1, size)]
    graph.set_generations(rows, links, innovation_id)
    assert [r.generation for r in rows] == list(range(1, size + 1))
    paths, truncated = graph.paths_to(ids[-1], rows, links)
    assert paths == [ids] and not truncated
    # A total-length bound cuts long enumerations: two chains of 20,000 exceed 30,000 steps.
    links.append(queries.LinkRow(ids[2], ids[0], "peer_visit", None))
    paths, truncated = graph.paths_to(ids[-1], rows, links, max_steps=30_000)
    assert len(paths) == 1 and truncated


async def test_other_requests_are_served_while_a_lineage_is_built(
    client: httpx.AsyncClient, reader: dict[str, str], conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph is built in a worker thread: held inside that work, the lineage request stays
    in flight while /health/live and a GET by id are answered. (Were the work on the event
    loop, holding it would hold every other request too, and the lineage would finish first.)"""
    x, _ids = await arrange(conn, 400, 40)
    entered, release = threading.Event(), threading.Event()
    real = graph.set_generations

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(timeout=30)  # breaks the deadlock if the work ever runs on the loop
        return real(*args, **kwargs)

    monkeypatch.setattr(graph, "set_generations", held)
    heavy = asyncio.create_task(client.get(f"/v1/innovations/{x}/lineage", headers=reader))
    try:
        for _ in range(3000):  # polls with a deadline (about 30 s)
            if entered.is_set() or heavy.done():
                break
            await asyncio.sleep(0.01)
        assert entered.is_set() and not heavy.done()
        live = await client.get("/health/live")
        one = await client.get(f"/v1/innovations/{x}", headers=reader)
        assert live.status_code == 200 and one.status_code == 200
        assert not heavy.done(), "the lineage finished before the other requests were answered"
    finally:
        release.set()
    r = await heavy
    assert r.status_code == 200 and len(r.json()["nodes"]) == 400
