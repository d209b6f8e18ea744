"""A value ending in a newline breaks every pattern, as the spec's (ECMA) regexes say.

msgspec and Python's ``re`` let ``$`` match before one trailing newline; the patterns end in
``$(?!\\n)``, which both dialects read the same way.
"""

from __future__ import annotations

import re

import httpx

from service import types
from tests.factories import make_innovation


def test_no_pattern_takes_a_trailing_newline() -> None:
    for pattern in (types.LINE, types.CURSOR, types.HEADER_VALUE):
        assert re.search(pattern, "abc")
        assert not re.search(pattern, "abc\n"), pattern
    assert re.search(types.TEXT, "two\nlines\n")  # TEXT may span lines
    assert re.search(types.ETAG_LIST, '"1"') and not re.search(types.ETAG_LIST, '"1"\n')


async def test_a_value_ending_in_newline_is_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/v1/innovations", params={"theme": "frailty\n"}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "theme"
    r = await client.get("/v1/innovations", params={"theme": "frailty"}, headers=admin)
    assert r.status_code == 200
    r = await client.get("/v1/innovations", params={"originSite": "RXN\n"}, headers=admin)
    assert r.status_code == 422, r.text
    body = {
        "title": "Virtual wards\n",
        "summary": "s",
        "category": "models_of_care",
        "originSiteCode": "RXN",
        "coreComponents": [{"key": "a", "name": "A"}],
    }
    r = await client.post("/v1/innovations", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert any(e["field"] == "title" for e in r.json()["errors"])
    made = await make_innovation(client, admin, slug="virtual-wards")
    r = await client.patch(f"/v1/innovations/{made['id']}", json={"slug": "virtual-wards\n"}, headers=admin)
    assert r.status_code == 422, r.text
