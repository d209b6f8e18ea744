"""``/v1/innovations``: register, list, read, update, retire and history of innovations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.auth.schemas import Principal
from service.changes.history import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import also_answers, created, tagged
from service.innovations import queries, service
from service.innovations.schemas import Innovation, InnovationCreate, InnovationPage, InnovationUpdate
from service.shaping import (
    CSV_ALTERNATIVE,
    LIST_MEDIA,
    AllQuery,
    FieldsQuery,
    FormatQuery,
    InnovationExpandQuery,
    listing,
    one,
    shape_of,
)
from service.types import (
    CODE_QUERY,
    DEFAULT_LIMIT,
    LINE,
    CursorQuery,
    IfMatchHeader,
    LimitQuery,
    cursor_int4,
    decode_cursor,
    encode_cursor,
    json_body,
)
from service.vocab import Category, EvidenceLevel, InnovationStatus

InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]
Sort = Literal["createdAt", "-createdAt", "adoptionCount", "-adoptionCount"]

CREATE_EXAMPLE = Example(
    summary="A frailty virtual ward from Lancashire",
    value={
        "title": "Virtual wards for frailty",
        "summary": "Hospital-level care at home for frail older people, with daily remote review.",
        "category": "models_of_care",
        "careSettings": ["community", "acute"],
        "themes": ["frailty", "virtual wards"],
        "evidenceLevel": "multi_site_evaluation",
        "originSiteCode": "RXN",
        "originatedOn": "2021-04-01",
        "coreComponents": [
            {"key": "daily_huddle", "name": "Daily multidisciplinary huddle"},
            {"key": "remote_monitoring", "name": "Remote monitoring of vital signs"},
        ],
    },
)


def _after(sort: str, cursor: str | None) -> tuple[Any, uuid.UUID] | None:
    decoded = decode_cursor(cursor, 2)
    if decoded is None:
        return None
    try:
        key = dt.datetime.fromisoformat(decoded[0]) if "createdAt" in sort else cursor_int4(decoded[0])
        return key, uuid.UUID(str(decoded[1]))
    except (TypeError, ValueError):
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor") from None


@get(
    "/innovations",
    operation_id="ListInnovations",
    tags=["innovations"],
    summary="List innovations",
    responses=responses(401, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
)
async def list_innovations(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    category: Annotated[Category | None, QueryParameter()] = None,
    theme: Annotated[str | None, QueryParameter(min_length=1, max_length=80, pattern=LINE)] = None,
    evidence_level: Annotated[EvidenceLevel | None, QueryParameter(name="evidenceLevel")] = None,
    status: Annotated[InnovationStatus | None, QueryParameter()] = None,
    origin_site: Annotated[str | None, QueryParameter(name="originSite", **CODE_QUERY)] = None,
    region: Annotated[str | None, QueryParameter(description="Adopted at a site in this region", **CODE_QUERY)] = None,
    derived_from: Annotated[uuid.UUID | None, QueryParameter(name="derivedFrom")] = None,
    slug: Annotated[str | None, QueryParameter(min_length=1, max_length=120, pattern=LINE)] = None,
    sort: Annotated[Sort, QueryParameter(description="Sort key; '-' for descending")] = "-createdAt",
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    fields: FieldsQuery = None,
    expand: InnovationExpandQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[InnovationPage]:
    """Innovations by category, theme, evidence, status, origin, adopting region or parent; newest first by default."""
    shape = shape_of(
        request, "innovation", Innovation, fields=fields, expand=expand, format=format_, all=all_, offers=LIST_MEDIA
    )
    filters = {
        "category": category,
        "theme": theme,
        "evidence_level": evidence_level,
        "status": status,
        "origin_site": origin_site.upper() if origin_site else None,
        "region": region.upper() if region else None,
        "derived_from": derived_from,
        "slug": slug,
    }

    async def fetch(after: str | None, size: int) -> tuple[list[Innovation], str | None]:
        items = await queries.list_innovations(conn, sort, filters, _after(sort, after), size)
        next_cursor = None
        if len(items) == size:
            last = items[-1]
            key = last.created_at.isoformat() if "createdAt" in sort else last.adoption_count
            next_cursor = encode_cursor([key, str(last.id)])
        return items, next_cursor

    return await listing(request, conn, shape, fetch, _page, cursor=cursor, limit=limit, item_type=Innovation)


def _page(items: list[Innovation], next_cursor: str | None) -> InnovationPage:
    return InnovationPage(items=items, next_cursor=next_cursor)


@post(
    "/innovations",
    operation_id="CreateInnovation",
    tags=["innovations"],
    summary="Register an innovation",
    responses=responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
)
async def create_innovation(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    data: Annotated[InnovationCreate, json_body(CREATE_EXAMPLE)],
) -> Response[Innovation]:
    """Register an innovation; its origin adoption at the origin site is created with it."""
    innovation, version = await service.create_innovation(conn, actor, principal, data)
    return created(innovation, f"/v1/innovations/{innovation.id}", version)


@get(
    "/innovations/{id:uuid}",
    operation_id="GetInnovation",
    tags=["innovations"],
    summary="Get one innovation",
    responses=responses(401, 404, 429, 503),
)
async def get_innovation(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: InnovationId,
    fields: FieldsQuery = None,
    expand: InnovationExpandQuery = None,
) -> Response[Innovation]:
    """One innovation with its adoption counts and an ETag."""
    shape = shape_of(request, "innovation", Innovation, fields=fields, expand=expand)
    found = await queries.get_innovation(conn, id)
    if found is None:
        raise NotFoundError(f"no innovation has id {id}")
    return await one(request, conn, shape, *found)


@patch(
    "/innovations/{id:uuid}",
    operation_id="UpdateInnovation",
    tags=["innovations"],
    summary="Update an innovation",
    responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503),
)
async def update_innovation(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: InnovationId,
    data: Annotated[
        InnovationUpdate,
        json_body(Example(summary="Raise the evidence level", value={"evidenceLevel": "peer_reviewed"})),
    ],
    if_match: IfMatchHeader = None,
) -> Response[Innovation]:
    """Partial update by the registering partner or an admin; honours If-Match."""
    innovation, version = await service.update_innovation(conn, actor, principal, id, data, if_match)
    return tagged(innovation, version)


@delete(
    "/innovations/{id:uuid}",
    operation_id="RetireInnovation",
    tags=["innovations"],
    summary="Retire an innovation",
    status_code=200,
    responses=responses(401, 403, 404, 412, 422, 429, 503),
)
async def retire_innovation(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: InnovationId,
    if_match: IfMatchHeader = None,
) -> Response[Innovation]:
    """Retire (status `retired`); nothing is erased, and its adoptions stay as evidence."""
    innovation, version = await service.retire_innovation(conn, actor, principal, id, if_match)
    return tagged(innovation, version)


@get(
    "/innovations/{id:uuid}/history",
    operation_id="GetInnovationHistory",
    tags=["innovations", "changes"],
    summary="An innovation's change history",
    responses=responses(401, 404, 422, 429, 503),
)
async def innovation_history(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: InnovationId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every change to this innovation record, oldest first."""
    if not await queries.exists(conn, id):
        raise NotFoundError(f"no innovation has id {id}")
    return await history_page(request, conn, "innovation", str(id), limit, cursor)


route_handlers = [
    list_innovations,
    create_innovation,
    get_innovation,
    update_innovation,
    retire_innovation,
    innovation_history,
]
