"""Kept lineage answers (service.lineage.cache) are never served for a changed spread.

Each change below touches one kind of row an innovation's lineage is built from (its own
adoptions, links, adaptations, sites and the innovation row; an ancestor innovation's
adoption it learned from, that adoption's site and links); the next read shows it.
"""

from __future__ import annotations

import gzip
from typing import Any

import asyncpg
import httpx
import pytest

from service.lineage import cache as answer_cache
from tests.conftest import app_of
from tests.lineage.spread import Spread, adaptation, build, link


def _node(s: Spread, body: dict[str, Any], letter: str) -> dict[str, Any]:
    return next(n for n in body["nodes"] if n["adoptionId"] == str(s.a[letter]))


async def test_a_kept_answer_follows_every_change(
    client: httpx.AsyncClient, conn: asyncpg.Connection, reader: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer_cache, "FROM_ADOPTIONS", 0)  # keep the small spread's answers too
    s = await build(conn)
    x, y = f"/v1/innovations/{s.x}/lineage", f"/v1/innovations/{s.y}/lineage"

    async def read(path: str, **params: str) -> dict[str, Any]:
        first = await client.get(path, params=params, headers=reader)
        assert first.status_code == 200, first.text
        cache = app_of(client).state["lineage_answers"]
        hits = cache.hits
        again = await client.get(path, params=params, headers=reader)
        assert again.content == first.content
        assert cache.hits == hits + 1  # the second read was the kept answer
        return first.json() if params.get("format") != "mermaid" else {"text": first.text}

    body = await read(x)
    assert _node(s, body, "B")["adaptationCount"] == 1
    await adaptation(conn, s.a["B"], "Huddle at noon")
    assert _node(s, await read(x), "B")["adaptationCount"] == 2

    await conn.execute("UPDATE sites SET name = 'Renamed hospital' WHERE code = 'RQM01'")
    assert _node(s, await read(x), "A")["site"]["name"] == "Renamed hospital"

    await conn.execute("UPDATE adoptions SET stage = 'sustaining' WHERE id = $1", s.a["G"])
    assert _node(s, await read(x), "G")["stage"] == "sustaining"

    before = len((await read(x))["edges"])
    await link(conn, s.a["G"], s.a["C"], "conference")
    assert len((await read(x))["edges"]) == before + 1
    await conn.execute(
        "DELETE FROM adoption_sources WHERE adoption_id = $1 AND source_adoption_id = $2", s.a["G"], s.a["C"]
    )
    assert len((await read(x))["edges"]) == before

    assert "Virtual wards" in (await read(x, format="mermaid"))["text"]
    await conn.execute("UPDATE innovations SET title = 'Hospital at home' WHERE id = $1", s.x)
    assert "Hospital at home" in (await read(x, format="mermaid"))["text"]

    # Y learned from X's adoption D: D, its site and its links are part of Y's answer.
    body = await read(y)
    assert _node(s, body, "D")["stage"] == "implementing"
    await conn.execute("UPDATE adoptions SET stage = 'sustaining' WHERE id = $1", s.a["D"])
    assert _node(s, await read(y), "D")["stage"] == "sustaining"
    await conn.execute("UPDATE sites SET name = 'Renamed trust site' WHERE code = 'RJ122'")
    assert _node(s, await read(y), "D")["site"]["name"] == "Renamed trust site"
    await adaptation(conn, s.a["D"], "Huddle by phone")
    assert _node(s, await read(y), "D")["adaptationCount"] == 3
    await conn.execute("UPDATE adoption_sources SET channel = 'conference' WHERE adoption_id = $1", s.a["Y1"])
    edges = (await read(y))["edges"]
    assert {e["channel"] for e in edges if e["to"] == str(s.a["Y1"])} == {"conference"}


async def test_small_spreads_are_not_kept(
    client: httpx.AsyncClient, conn: asyncpg.Connection, reader: dict[str, str]
) -> None:
    s = await build(conn)
    for _ in range(2):
        r = await client.get(f"/v1/innovations/{s.x}/lineage", headers=reader)
        assert r.status_code == 200
    cache = app_of(client).state["lineage_answers"]
    assert cache.hits == 0 and cache.misses == 0  # built each time, no version asked


@pytest.mark.parametrize("kept", [False, True])
async def test_gzip_answers_carry_the_same_body(
    client: httpx.AsyncClient,
    conn: asyncpg.Connection,
    reader: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    kept: bool,
) -> None:
    if kept:
        monkeypatch.setattr(answer_cache, "FROM_ADOPTIONS", 0)
    s = await build(conn)
    path = f"/v1/innovations/{s.x}/lineage"
    plain = await client.get(path, headers={**reader, "Accept-Encoding": "identity"})
    assert "Accept" in _vary(plain) and "content-encoding" not in plain.headers
    for _ in range(2):  # built, then kept
        r = await client.get(path, headers={**reader, "Accept-Encoding": "gzip, br"})
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert {"Accept", "Accept-Encoding"} <= _vary(r)
        assert r.content == plain.content  # httpx decoded it
        assert int(r.headers["content-length"]) < len(plain.content)
    raw = gzip.compress(plain.content)
    assert gzip.decompress(raw) == plain.content


def _vary(r: httpx.Response) -> set[str]:
    """The Vary header's names, each once (the caching layer merges a handler's own)."""
    names = [n.strip() for n in r.headers["vary"].split(",")]
    assert len(names) == len(set(names)), r.headers["vary"]
    return set(names)
