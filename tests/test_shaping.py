"""The shared shaping and CSV modules (service/shaping.py, service/csv_export.py) on their own."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import asyncpg
import pytest

from service import csv_export, shaping
from service.errors import InvalidInputError
from service.innovations.schemas import Innovation
from service.sites.schemas import Site

# --- CSV cells ----------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_are_quoted(start: str) -> None:
    assert csv_export.cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("plain", "plain"),
        ("a=b", "a=b"),  # only a leading character counts
        ("'quoted", "'quoted"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-3, "-3"),  # numbers are numbers, never quoted
        (0.5, "0.5"),
        (["a", "b"], '["a","b"]'),
        ({"k": "é"}, '{"k":"é"}'),
        ([{"x": "=1"}], '[{"x":"=1"}]'),  # inside JSON the cell starts with [
    ],
)
def test_cells(value: Any, cell: str) -> None:
    assert csv_export.cell(value) == cell


def test_encode_streams_in_chunks_and_reads_back() -> None:
    rows = [{"id": n, "name": f"row, {n}", "tags": ["a"]} for n in range(csv_export.ROWS_PER_CHUNK * 2 + 3)]
    chunks = list(csv_export.encode(rows, ["id", "name", "tags"]))
    assert len(chunks) == 3
    read = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(read) == len(rows)
    assert read[7] == {"id": "7", "name": "row, 7", "tags": '["a"]'}


def test_header_of_keeps_first_seen_order() -> None:
    assert csv_export.header_of([{"b": 1, "a": 2}, {"c": 3, "a": 1}]) == ["b", "a", "c"]
    assert csv_export.header_of([], ["x"]) == ["x"]


# --- fields and expand --------------------------------------------------------------------------


def test_parse_fields_names_every_unknown() -> None:
    assert shaping.parse_fields("title,id,title", Innovation) == ("title", "id")
    with pytest.raises(InvalidInputError) as caught:
        shaping.parse_fields("id,bogus,other", Innovation)
    assert [e.detail for e in caught.value.errors or []] == ["unknown name 'bogus'", "unknown name 'other'"]
    assert {e.field for e in caught.value.errors or []} == {"fields"}


def test_parse_expand_builds_a_tree_two_levels_at_most() -> None:
    assert shaping.parse_expand("adoption", "site,sources.site,innovation.originSite") == {
        "site": {},
        "sources.site": {},
        "innovation": {"originSite": {}},
    }
    assert shaping.parse_expand("adaptation", "adoption.sources.site") == {"adoption": {"sources.site": {}}}
    for bad in ("nope", "site.nope", "adoption.innovation.originSite", "sources"):
        with pytest.raises(InvalidInputError) as caught:
            shaping.parse_expand("adaptation" if bad.startswith("adoption") else "adoption", bad)
        assert [e.detail for e in caught.value.errors or []] == [f"unknown name '{bad}'"], bad
    with pytest.raises(InvalidInputError):
        shaping.parse_expand("site", "anything")  # sites expand nothing


def test_pick_keeps_order_and_expansions() -> None:
    obj = {"id": 1, "title": "t", "originSite": {"code": "RXN"}, "slug": "s"}
    assert shaping.pick(obj, ("title", "id"), {}) == {"title": "t", "id": 1}
    assert shaping.pick(obj, ("id",), {"originSite": {}}) == {"id": 1, "originSite": {"code": "RXN"}}
    assert shaping.pick(obj, None, {}) is obj


def test_expansion_fields_are_in_the_schemas() -> None:
    assert {"originSite", "derivedFrom"} <= set(shaping.wire_names(Innovation))
    assert "originSite" not in shaping.wire_names(Site)


class Counting:
    """A real connection that counts the statements sent through it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements = 0

    async def fetch(self, query: str, *args: Any) -> Any:
        self.statements += 1
        return await self.conn.fetch(query, *args)


async def test_expansions_cost_one_statement_each_whatever_the_page(conn: asyncpg.Connection) -> None:
    codes = [r["code"] for r in await conn.fetch("SELECT code FROM sites WHERE kind = 'trust' ORDER BY code LIMIT 40")]
    assert len(codes) == 40
    objects: list[dict[str, Any]] = [
        {"siteCode": code, "innovationId": str(uuid.uuid4()), "sources": [{"siteCode": c} for c in codes[:3]]}
        for code in codes
    ]
    counting = Counting(conn)
    tree = shaping.parse_expand("adoption", "site,sources.site,innovation.originSite")
    await shaping.apply_expand(counting, "adoption", objects, tree)  # type: ignore[arg-type]  # a counting proxy
    # site, sources.site, innovation (none found, so originSite needs no statement)
    assert counting.statements == 3
    assert [o["site"]["code"] for o in objects] == codes
    assert all(o["innovation"] is None for o in objects)
    assert [s["site"]["code"] for s in objects[5]["sources"]] == codes[:3]


@pytest.mark.parametrize(
    ("kind", "alias"),
    [
        ("innovation", shaping.InnovationExpandQuery),
        ("adoption", shaping.AdoptionExpandQuery),
        ("adaptation", shaping.AdaptationExpandQuery),
    ],
)
def test_the_spec_lists_every_expansion(kind: shaping.Kind, alias: Any) -> None:
    description = alias.__metadata__[0].description
    assert f": {', '.join(shaping._paths(kind))}. Unknown" in description
