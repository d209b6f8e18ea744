"""Smaller holes, each tried as a careless or hostile client would (issue 12, item 15).

Deeply nested JSON, cursors beyond the database's integers, control characters that would
break out of a Mermaid diagram, and If-Match compared as RFC 9110 says.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from service.types import encode_cursor
from tests.factories import make_innovation

DEEP = 1_000


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/innovations", b'{"title": ' + _nested(DEEP) + b"}"),
        ("/v1/innovations", _nested(DEEP)),
        ("/v1/submissions", _nested(DEEP)),
        ("/v1/submissions", b'[{"innovationId": ' + _nested(DEEP) + b"}]"),
        ("/v1/submissions", b"[" + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"]"),
    ],
    ids=["innovation-field", "innovation-body", "submission-body", "submission-row", "submission-objects"],
)
async def test_deeply_nested_json_is_400(client: httpx.AsyncClient, admin, conn, path: str, body: bytes) -> None:
    before = await conn.fetchval("SELECT count(*) FROM changes")
    r = await client.post(path, content=body, headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/malformed-body"
    assert await conn.fetchval("SELECT count(*) FROM changes") == before  # nothing written


@pytest.mark.parametrize(
    "url",
    [
        "/v1/innovations?sort=-adoptionCount&cursor=" + encode_cursor([2**31, str(uuid.uuid4())]),
        "/v1/innovations?sort=adoptionCount&cursor=" + encode_cursor([-(2**40), str(uuid.uuid4())]),
        "/v1/changes?cursor=" + encode_cursor([2**63]),
        "/v1/changes?cursor=" + encode_cursor([10**30]),
    ],
    ids=["int4-high", "int4-low", "int8-high", "huge"],
)
async def test_cursor_beyond_the_databases_integers_is_422(client: httpx.AsyncClient, admin, url: str) -> None:
    r = await client.get(url, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "cursor"


async def test_control_characters_stay_inside_mermaid_comment_and_label(client: httpx.AsyncClient, admin, conn) -> None:
    # The API refuses control characters in titles and names (422), so older or imported rows
    # are the way such text reaches the renderer: written here straight into the database.
    inn = await make_innovation(client, admin, title="Wards")
    await conn.execute(
        "UPDATE innovations SET title = $1 WHERE id = $2", "Wards\nflowchart LR\r\n    x[evil]\u2028y\x85z", inn["id"]
    )
    await conn.execute("UPDATE sites SET name = $1 WHERE code = 'RXN'", "Royal Preston\n    click n1 evil")
    r = await client.get(f"/v1/innovations/{inn['id']}/lineage?format=mermaid", headers=admin)
    assert r.status_code == 200, r.text
    lines = r.text.splitlines()
    assert lines[0].startswith("%% Wards flowchart LR ") and "evil" in lines[0]
    assert lines[1] == "flowchart TD"
    assert all(line.startswith("    ") for line in lines[2:]), lines
    assert [line for line in lines if "evil" in line and "click" in line] == [lines[2]]
    assert lines[2].startswith('    n1["RXN Royal Preston ') and "click n1 evil<br/>" in lines[2]


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"1"', 200),
        ('"7", "1"', 200),  # any listed strong tag
        ('"7","1"', 200),
        ("*", 200),
        ('W/"1"', 412),  # weak tags never match for If-Match
        ('W/"1", "7"', 412),
        ('"01"', 412),  # strong comparison: character for character
        ('"2"', 412),
        ("1", 422),  # not an entity tag: refused by the header's declared pattern
        ('"abc"', 422),
    ],
)
async def test_if_match_is_strong_and_reads_every_tag(
    client: httpx.AsyncClient, admin, if_match: str, status: int
) -> None:
    inn = await make_innovation(client, admin)
    r = await client.patch(
        f"/v1/innovations/{inn['id']}", json={"summary": "Changed."}, headers={**admin, "If-Match": if_match}
    )
    assert r.status_code == status, r.text
    if status == 412:
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.get(f"/v1/innovations/{inn['id']}", headers=admin)
        assert r.json()["summary"] != "Changed."
