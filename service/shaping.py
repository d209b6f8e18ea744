"""Response shaping for every read: ``fields=``, ``expand=``, ``format=csv`` / ``Accept: text/csv`` and ``all=true``.

- ``fields=id,title``: only these top-level fields (of each item, on a list). An expansion
  asked for is always kept. Unknown names: 422 naming them.
- ``expand=originSite,derivedFrom``: the referenced record in place of a fetch per reference,
  at most two levels deep (``expand=adoption.site`` on an adaptation). Each expansion costs
  one batched statement for the whole page (``= ANY($1)``), never one per item. Unknown
  names, or deeper paths: 422 naming them.
- A list answers CSV (service/csv_export.py) for ``format=csv`` or ``Accept: text/csv``;
  another ``Accept``: 406. ``all=true`` reads every page (at most :data:`MAX_EXPORT_ROWS`
  rows; past that the ``Link`` header names the next page) into one answer.
- A shaped single record gets its own strong ETag (the version and a hash of the shaped body),
  so a cache never mixes it up with the full record; ``If-None-Match`` answers 304 as usual.
  Writes take the full record's ETag in ``If-Match``.

A plain request (none of these) takes exactly the path it took before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response
from litestar.params import QueryParameter
from litestar.response import Stream

from service import csv_export
from service.adoptions.queries import get_adoptions
from service.db import Connection
from service.errors import FieldError, InvalidInputError
from service.http import negotiate, next_link, none_match, not_modified, paged, record
from service.innovations.queries import get_innovations
from service.sites.queries import get_sites
from service.types import MAX_LIMIT

JSON = "application/json"
CSV = "text/csv"
LIST_MEDIA = (JSON, CSV)
MAX_EXPORT_ROWS = 10_000
MAX_DEPTH = 2
NAMES = r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*(,[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*)*$(?!\n)"

Kind = Literal["innovation", "adoption", "adaptation", "site", "campaign", "observation", "progress", "search"]


# --- the query parameters every shaped read takes ---------------------------------------------

FieldsQuery = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=1000,
        pattern=NAMES,
        description="Only these top-level fields (comma-separated camelCase names; of each item on a list). "
        "Unknown names: 422. See docs/response-shaping.md.",
    ),
]
_EXPAND = "Embed referenced records (comma-separated; a dot for the second level, at most two): {}. Unknown names: 422. See docs/response-shaping.md."
# One alias per resource, so the spec lists what each expands (tests/test_shaping.py keeps
# these lists equal to EXPANSIONS).
InnovationExpandQuery = Annotated[
    str | None,
    QueryParameter(
        name="expand",
        min_length=1,
        max_length=500,
        pattern=NAMES,
        description=_EXPAND.format("originSite, derivedFrom, derivedFrom.originSite, derivedFrom.derivedFrom"),
    ),
]
AdoptionExpandQuery = Annotated[
    str | None,
    QueryParameter(
        name="expand",
        min_length=1,
        max_length=500,
        pattern=NAMES,
        description=_EXPAND.format("site, innovation, innovation.originSite, innovation.derivedFrom, sources.site"),
    ),
]
AdaptationExpandQuery = Annotated[
    str | None,
    QueryParameter(
        name="expand",
        min_length=1,
        max_length=500,
        pattern=NAMES,
        description=_EXPAND.format("adoption, adoption.site, adoption.innovation, adoption.sources.site"),
    ),
]
FormatQuery = Annotated[
    Literal["json", "csv"] | None,
    QueryParameter(
        name="format",
        description="json or csv (text/csv, the same as `Accept: text/csv`); overrides Accept.",
    ),
]
AllQuery = Annotated[
    bool,
    QueryParameter(
        name="all",
        description=f"Every page in one answer (at most {MAX_EXPORT_ROWS:,} rows; past that, the Link header "
        "names the next page).",
    ),
]
CSV_ALTERNATIVE = (
    "text/csv",
    "string",
    "The same list as CSV (format=csv or Accept: text/csv); see docs/response-shaping.md.",
)


# --- expansions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expansion:
    """``name`` on ``kind`` embeds the ``target`` whose key is in field ``key``.

    ``within`` names a list field whose items hold the key (``sources.site``: each source's
    ``siteCode`` becomes its ``site``).
    """

    key: str
    target: Kind
    within: str | None = None

    def attribute(self, name: str) -> str:
        return name.rpartition(".")[2]


EXPANSIONS: dict[str, dict[str, Expansion]] = {
    "innovation": {
        "originSite": Expansion("originSiteCode", "site"),
        "derivedFrom": Expansion("derivedFromId", "innovation"),
    },
    "adoption": {
        "site": Expansion("siteCode", "site"),
        "innovation": Expansion("innovationId", "innovation"),
        "sources.site": Expansion("siteCode", "site", within="sources"),
    },
    "adaptation": {"adoption": Expansion("adoptionId", "adoption")},
}

Loader = Callable[[Connection, list[Any]], Awaitable[dict[Any, dict[str, Any]]]]


async def _sites(conn: Connection, codes: list[Any]) -> dict[Any, dict[str, Any]]:
    return {s.code: msgspec.to_builtins(s) for s in await get_sites(conn, [str(c) for c in codes])}


async def _innovations(conn: Connection, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    return {str(i.id): msgspec.to_builtins(i) for i in await get_innovations(conn, ids)}


async def _adoptions(conn: Connection, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    return {str(a.id): msgspec.to_builtins(a) for a in await get_adoptions(conn, ids)}


LOADERS: dict[str, Loader] = {"site": _sites, "innovation": _innovations, "adoption": _adoptions}

Tree = Mapping[str, "Tree"]


def parse_expand(kind: Kind, expand: str | None) -> dict[str, Any]:
    """``a.b,c`` into ``{"a": {"b": {}}, "c": {}}``; 422 naming every path that is not one."""
    tree: dict[str, Any] = {}
    bad: list[str] = []
    for path in _names(expand):
        node, here, rest, depth = tree, kind, path, 0
        while rest:
            options = EXPANSIONS.get(here, {})
            # the longest name that starts the rest (``sources.site`` before ``sources``)
            name = next(
                (n for n in sorted(options, key=len, reverse=True) if rest == n or rest.startswith(n + ".")), None
            )
            depth += 1
            if name is None or depth > MAX_DEPTH:
                bad.append(path)
                break
            node = node.setdefault(name, {})
            here = options[name].target
            rest = rest[len(name) + 1 :]
    if bad:
        raise _unknown("expand", bad, _paths(kind))
    return tree


def _paths(kind: Kind, depth: int = 1) -> list[str]:
    out: list[str] = []
    for name, exp in EXPANSIONS.get(kind, {}).items():
        out.append(name)
        if depth < MAX_DEPTH:
            out += [f"{name}.{sub}" for sub in _paths(exp.target, depth + 1)]
    return out


async def apply_expand(
    conn: Connection, kind: Kind, objects: Sequence[dict[str, Any]], tree: Mapping[str, Any]
) -> None:
    """Embed every expansion of ``tree`` into ``objects`` (in place): one statement per expansion."""
    for name, subtree in tree.items():
        exp = EXPANSIONS[kind][name]
        holders: list[dict[str, Any]] = []
        for obj in objects:
            if exp.within is None:
                holders.append(obj)
            else:
                holders += [item for item in obj.get(exp.within) or [] if isinstance(item, dict)]
        keys = sorted({str(h[exp.key]) for h in holders if h.get(exp.key) is not None})
        loaded = await LOADERS[exp.target](conn, keys) if keys else {}
        attribute = exp.attribute(name)
        for holder in holders:
            key = holder.get(exp.key)
            holder[attribute] = loaded.get(str(key)) if key is not None else None
        if subtree and loaded:
            await apply_expand(conn, exp.target, list(loaded.values()), subtree)


# --- fields -------------------------------------------------------------------------------------


def wire_names(item_type: type[msgspec.Struct]) -> list[str]:
    """The JSON field names of a response Struct, in order."""
    return [f.encode_name for f in msgspec.structs.fields(item_type)]


def parse_fields(fields: str | None, item_type: type[msgspec.Struct] | None) -> tuple[str, ...] | None:
    if fields is None:
        return None
    names = tuple(dict.fromkeys(_names(fields)))
    known = wire_names(item_type) if item_type is not None else []
    unknown = [n for n in names if n not in known]
    if unknown:
        raise _unknown("fields", unknown, known)
    return names


def pick(obj: dict[str, Any], fields: tuple[str, ...] | None, tree: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` with only ``fields`` (and the top-level expansions asked for), in that order."""
    if fields is None:
        return obj
    keep = list(fields) + [n for n in tree if "." not in n and n not in fields]
    return {k: obj[k] for k in keep if k in obj}


def _columns(shape: Shape, item_type: type[msgspec.Struct] | None) -> list[str] | None:
    """The CSV header: the fields asked for, else the type's fields without unasked expansions."""
    expanded = [n for n in shape.expand if "." not in n]
    if shape.fields is not None:
        return list(pick(dict.fromkeys([*shape.fields, *expanded]), shape.fields, shape.expand))
    if item_type is None:
        return None
    optional = set(EXPANSIONS.get(shape.kind, {})) - set(expanded)
    return [n for n in wire_names(item_type) if n not in optional]


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def _unknown(param: str, names: list[str], known: Sequence[str]) -> InvalidInputError:
    listed = ", ".join(repr(n) for n in names)
    choices = ", ".join(known) if known else "none here"
    detail = f"{param}: unknown name(s) {listed}; the names here are: {choices}"
    errors = [FieldError(field=param, detail=f"unknown name '{n}'") for n in names]
    return InvalidInputError(detail, errors=errors)


# --- the shape of one request -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shape:
    """What a read was asked to answer: which fields, which expansions, which media type, all pages."""

    kind: Kind
    fields: tuple[str, ...] | None = None
    expand: Mapping[str, Any] = field(default_factory=dict)
    media: str = JSON
    all: bool = False

    @property
    def plain(self) -> bool:
        return self.fields is None and not self.expand and self.media == JSON and not self.all


def shape_of(
    request: Request[Any, Any, Any],
    kind: Kind,
    item_type: type[msgspec.Struct] | None,
    *,
    fields: str | None = None,
    expand: str | None = None,
    format: str | None = None,
    all: bool = False,
    offers: Sequence[str] | None = None,
) -> Shape:
    """Check the shaping parameters: 422 naming what is unknown; with ``offers`` (a list's
    media types, e.g. :data:`LIST_MEDIA`), 406 for an ``Accept`` that allows none of them.

    Without ``offers`` the answer is JSON whatever the ``Accept`` (single records, as before;
    an operation with more media types negotiates them itself with ``service.http.negotiate``).
    """
    chosen = {"json": JSON, "csv": CSV}.get(format) if format else None
    media = negotiate(request, offers, chosen) if offers is not None else JSON
    return Shape(
        kind=kind, fields=parse_fields(fields, item_type), expand=parse_expand(kind, expand), media=media, all=all
    )


# --- answers ------------------------------------------------------------------------------------


async def one(
    request: Request[Any, Any, Any], conn: Connection, shape: Shape, body: msgspec.Struct, version: int
) -> Response[Any]:
    """A single record, shaped; its ETag differs from the full record's (see the module docstring)."""
    if shape.plain:
        return record(request, body, version)
    data: dict[str, Any] = msgspec.to_builtins(body)
    await apply_expand(conn, shape.kind, [data], shape.expand)
    raw = msgspec.json.encode(pick(data, shape.fields, shape.expand))
    tag = f'"{version}-{hashlib.blake2b(raw, digest_size=8).hexdigest()}"'
    if none_match(request, tag):
        return not_modified(tag)
    return Response(content=raw, media_type=JSON, headers={"ETag": tag})


Fetch = Callable[[str | None, int], Awaitable[tuple[Sequence[Any], str | None]]]
Wrap = Callable[[list[Any], str | None], msgspec.Struct]


async def listing(
    request: Request[Any, Any, Any],
    conn: Connection,
    shape: Shape,
    fetch: Fetch,
    wrap: Wrap,
    *,
    cursor: str | None,
    limit: int,
    item_type: type[msgspec.Struct] | None = None,
    page_size: int = MAX_LIMIT,
) -> Response[Any]:
    """A list page (or, with ``all``, every page up to :data:`MAX_EXPORT_ROWS`), shaped, as JSON or CSV.

    ``fetch(cursor, limit)`` reads one page and its next cursor; ``wrap(items, next_cursor)``
    builds the JSON body (``{items, nextCursor, ...}``). The CSV header is ``fields`` when
    given, else ``item_type``'s fields (else the keys of the rows, in order), with the
    expansions asked for.
    """
    if shape.plain:
        items, next_cursor = await fetch(cursor, limit)
        return paged(request, wrap(list(items), next_cursor), next_cursor)
    rows: list[Any] = []
    next_cursor = cursor
    while True:
        items, next_cursor = await fetch(
            next_cursor, min(page_size, MAX_EXPORT_ROWS - len(rows)) if shape.all else limit
        )
        rows.extend(items)
        if not shape.all or next_cursor is None or len(rows) >= MAX_EXPORT_ROWS:
            break
    headers = {"Link": next_link(request, next_cursor)} if next_cursor else {}
    body: dict[str, Any] = msgspec.to_builtins(wrap(rows, next_cursor))
    dicts: list[dict[str, Any]] = body["items"]
    await apply_expand(conn, shape.kind, dicts, shape.expand)
    dicts = [pick(d, shape.fields, shape.expand) for d in dicts]
    if shape.media == CSV:
        header = csv_export.header_of(dicts, _columns(shape, item_type))
        return Stream(content=csv_export.encode(dicts, header), media_type=csv_export.CSV_MEDIA_TYPE, headers=headers)
    body["items"] = dicts
    return Response(content=body, headers=headers)


def table(rows: Sequence[msgspec.Struct], item_type: type[msgspec.Struct]) -> Response[Any]:
    """A whole (unpaged) list as CSV, one row per item, the header ``item_type``'s fields."""
    dicts: list[dict[str, Any]] = msgspec.to_builtins(list(rows))
    return Stream(content=csv_export.encode(dicts, wire_names(item_type)), media_type=csv_export.CSV_MEDIA_TYPE)
