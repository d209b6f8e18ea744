"""``GET /v1/search`` and ``GET /v1/innovations/{id}/similar``: thin handlers over search queries."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.db import Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import also_answers
from service.search import queries, similar, words
from service.search.schemas import (
    DEFAULT_SEARCH_LIMIT,
    TOTAL_CAP,
    DocType,
    SearchResults,
    SimilarInnovations,
    SortOrder,
)
from service.shaping import CSV_ALTERNATIVE, LIST_MEDIA, AllQuery, FormatQuery, listing, shape_of
from service.types import LINE, CursorQuery, decode_cursor, encode_cursor
from service.vocab import Category, Channel, EvidenceLevel, Fidelity, InnovationStatus, Nature, Stage

ALL_TYPES: tuple[DocType, ...] = ("innovation", "adaptation", "site")
CodeFilter = Annotated[str | None, QueryParameter(min_length=3, max_length=12, pattern=r"^[A-Za-z0-9-]{3,12}$(?!\n)")]
Theme = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_\- ]*$(?!\n)", description="A theme, e.g. frailty"
    ),
]

# Words that typo correction looks at: letters only, 4-40 of them, not glued to digits or
# other word characters ("covid19" is left alone). "or" is an operator and too short anyway.
_WORD = re.compile(r"(?<!\w)([^\W\d_]{4,40})(?!\w)")


async def _correct(conn: Connection, q: str) -> str | None:
    """``q`` with unknown words replaced by the registry word they most likely meant, or None."""
    found = sorted({m.group(1).lower() for m in _WORD.finditer(q)})
    if not found:
        return None
    fixes = await words.corrections(conn, found)
    if not fixes:
        return None
    return _WORD.sub(lambda m: fixes.get(m.group(1).lower(), m.group(1)), q)


def _fingerprint(q: str | None, filters: queries.Filters, sort: str) -> str:
    """Ties a cursor to the query that issued it, so it cannot page a different result set."""
    raw = msgspec.json.encode([q, sort, filters])
    return hashlib.sha256(raw).hexdigest()[:16]


def _after(cursor: str | None, fingerprint: str, sort: str) -> tuple[Any, str, str] | None:
    decoded = decode_cursor(cursor, 4)
    if decoded is None:
        return None
    issued_for, value, doc_type, key = decoded
    if issued_for != fingerprint:
        raise InvalidInputError(
            "cursor belongs to a different query, filters or sort; start again without it", field="cursor"
        )
    bad = InvalidInputError("cursor is not one this API issued; start again without it", field="cursor")
    if doc_type not in ALL_TYPES or not isinstance(key, str) or len(key) > 100:
        raise bad
    if sort == "relevance":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        value = float(value)
    elif sort == "mostAdopted":
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise bad
    else:
        try:
            value = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            raise bad
    return value, doc_type, key


MAX_SEARCH_LIMIT = 100


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


@get(
    "/search",
    operation_id="Search",
    tags=["search"],
    summary="Search innovations, adaptations and sites",
    responses=responses(401, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
)
async def search(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    q: Annotated[
        str | None,
        QueryParameter(
            min_length=1,
            max_length=500,
            pattern=LINE,
            description='Web-search syntax: words (all must match), "exact phrase", `or`, `-exclude`.',
            examples=[Example(value='"virtual ward" frailty -paediatric')],
        ),
    ] = None,
    types: Annotated[
        list[DocType] | None,
        QueryParameter(description="Repeat for several (default: all three).", max_items=3),
    ] = None,
    category: Annotated[Category | None, QueryParameter()] = None,
    theme: Theme = None,
    evidence_level: Annotated[EvidenceLevel | None, QueryParameter(name="evidenceLevel")] = None,
    status: Annotated[InnovationStatus | None, QueryParameter()] = None,
    region: Annotated[
        CodeFilter, QueryParameter(description="Region code (e.g. Y56): adopted, made or located there")
    ] = None,
    icb: Annotated[
        CodeFilter, QueryParameter(description="ICB code (e.g. QE1): adopted, made or located there")
    ] = None,
    stage: Annotated[Stage | None, QueryParameter(description="Has an adoption at this stage")] = None,
    channel: Annotated[
        Channel | None, QueryParameter(description="Has an adoption learned through this channel")
    ] = None,
    nature: Annotated[Nature | None, QueryParameter(description="Adaptations only")] = None,
    fidelity: Annotated[Fidelity | None, QueryParameter(description="Adaptations only")] = None,
    adopted_since: Annotated[
        dt.date | None, QueryParameter(name="adoptedSince", description="Has an adoption started on or after this date")
    ] = None,
    sort: Annotated[SortOrder | None, QueryParameter(description="Default: relevance with q, newest without")] = None,
    limit: Annotated[
        int, QueryParameter(ge=1, le=MAX_SEARCH_LIMIT, description="Page size (default 20, at most 100).")
    ] = (DEFAULT_SEARCH_LIMIT),
    cursor: CursorQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[SearchResults]:
    """Full-text search with typo correction, filters, facets over the whole result set and keyset paging."""
    shape = shape_of(request, "search", None, format=format_, all=all_, offers=LIST_MEDIA)
    if q is not None and not q.strip():
        raise InvalidInputError("q must contain at least one word", field="q")
    order = sort or ("relevance" if q is not None else "newest")
    if order == "relevance" and q is None:
        raise InvalidInputError("sort=relevance needs q; use newest or mostAdopted to browse", field="sort")
    region = region.upper() if region else None
    icb = icb.upper() if icb else None
    if region or icb or theme:
        check = await words.check_filters(conn, region, icb, theme)
        if region and check.region_kind != "region":
            raise InvalidInputError(f"no region has code '{region}'", field="region")
        if icb and check.icb_kind != "icb":
            raise InvalidInputError(f"no ICB has code '{icb}'", field="icb")
        if region and icb and check.icb_region != region:
            raise InvalidInputError(f"ICB {icb} is not in region {region}", field="icb")
        if theme and not check.theme_known:
            raise InvalidInputError(f"no innovation has theme '{theme}'", field="theme")
    filters = queries.Filters(
        types=tuple(t for t in ALL_TYPES if types is None or t in types),
        category=category,
        theme=theme,
        evidence_level=evidence_level,
        status=status,
        region=region,
        icb=icb,
        stage=stage,
        channel=channel,
        nature=nature,
        fidelity=fidelity,
        adopted_since=adopted_since,
    )
    fingerprint = _fingerprint(q, filters, order)
    _after(cursor, fingerprint, order)  # a bad cursor is refused before anything is read
    corrected = await _correct(conn, q) if q is not None else None
    pages: list[queries.Page] = []

    async def fetch(cursor: str | None, size: int) -> tuple[list[Any], str | None]:
        after = _after(cursor, fingerprint, order)
        page = await queries.search(conn, q=corrected or q, filters=filters, sort=order, after=after, limit=size)
        pages.append(page)
        next_cursor = None
        if len(page.items) > size:
            value, doc_type, key = page.keys[size - 1]
            next_cursor = encode_cursor([fingerprint, _cursor_value(value), doc_type, key])
        return page.items[:size], next_cursor

    def wrap(items: list[Any], next_cursor: str | None) -> SearchResults:
        first = pages[0]
        return SearchResults(
            items=items,
            facets=first.facets,
            next_cursor=next_cursor,
            total=min(first.matches, TOTAL_CAP),
            total_is_floor=first.matches > TOTAL_CAP,
            total_is_estimate=first.estimated,
            corrected_query=corrected,
        )

    return await listing(request, conn, shape, fetch, wrap, cursor=cursor, limit=limit, page_size=MAX_SEARCH_LIMIT)


@get(
    "/innovations/{id:uuid}/similar",
    operation_id="ListSimilarInnovations",
    tags=["search", "innovations"],
    summary="Innovations like this one",
    responses=responses(401, 404, 422, 429, 503),
)
async def similar_innovations(
    conn: NamedDependency[Connection],
    id: Annotated[uuid.UUID, PathParameter(description="Innovation id")],
    limit: Annotated[int, QueryParameter(ge=1, le=50, description="How many (default 10, at most 50).")] = 10,
) -> SimilarInnovations:
    """The innovations most like this one by title words, themes and category, best first, with a score."""
    items = await similar.similar_innovations(conn, id, limit)
    if items is None:
        raise NotFoundError(f"no innovation has id '{id}'")
    return SimilarInnovations(items=items)


route_handlers = [search, similar_innovations]
