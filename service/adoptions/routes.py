"""Adoptions: ``/v1/innovations/{id}/adoptions`` and ``/v1/adoptions/{id}`` (plus sources, history)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.adoptions import queries, service
from service.adoptions.schemas import Adoption, AdoptionCreate, AdoptionPage, AdoptionUpdate, SourceIn
from service.auth.schemas import Principal
from service.changes.history import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import also_answers, created, tagged
from service.innovations.service import require_innovation
from service.shaping import (
    CSV_ALTERNATIVE,
    LIST_MEDIA,
    AdoptionExpandQuery,
    AllQuery,
    FieldsQuery,
    FormatQuery,
    listing,
    one,
    shape_of,
)
from service.types import (
    CODE_QUERY,
    DEFAULT_LIMIT,
    CursorQuery,
    IfMatchHeader,
    LimitQuery,
    decode_cursor,
    encode_cursor,
    json_body,
)
from service.vocab import Stage

InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]
AdoptionId = Annotated[uuid.UUID, PathParameter(description="Adoption id")]

CREATE_EXAMPLE = Example(
    summary="A trust that learned by a peer visit",
    value={
        "siteCode": "RQM",
        "startedOn": "2023-02-01",
        "stage": "piloting",
        "sources": [
            {"adoptionId": "2f1d1c52-3b8e-4a8e-9a51-7d0c2b7e9a10", "channel": "peer_visit", "on": "2023-01-12"}
        ],
        "notes": "Started on two frailty wards.",
    },
)


@get(
    "/innovations/{id:uuid}/adoptions",
    operation_id="ListAdoptions",
    tags=["adoptions"],
    summary="List an innovation's adoptions",
    responses=responses(401, 404, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
)
async def list_adoptions(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: InnovationId,
    stage: Annotated[Stage | None, QueryParameter()] = None,
    region: Annotated[str | None, QueryParameter(**CODE_QUERY)] = None,
    icb: Annotated[str | None, QueryParameter(**CODE_QUERY)] = None,
    site: Annotated[str | None, QueryParameter(**CODE_QUERY)] = None,
    since: Annotated[dt.date | None, QueryParameter(description="Started on or after")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    fields: FieldsQuery = None,
    expand: AdoptionExpandQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[AdoptionPage]:
    """The sites that took this innovation up, earliest first, with sources and stage history."""
    shape = shape_of(
        request, "adoption", Adoption, fields=fields, expand=expand, format=format_, all=all_, offers=LIST_MEDIA
    )
    filters = {
        "stage": stage,
        "region": region.upper() if region else None,
        "icb": icb.upper() if icb else None,
        "site": site.upper() if site else None,
        "since": since,
    }

    async def fetch(cursor: str | None, size: int) -> tuple[list[Adoption], str | None]:
        items = await queries.list_adoptions(conn, id, filters, _after(cursor), size)
        if not items:
            await require_innovation(conn, id)
        next_cursor = None
        if len(items) == size:
            next_cursor = encode_cursor([items[-1].started_on.isoformat(), str(items[-1].id)])
        return items, next_cursor

    return await listing(request, conn, shape, fetch, _page, cursor=cursor, limit=limit, item_type=Adoption)


def _after(cursor: str | None) -> tuple[dt.date, uuid.UUID] | None:
    decoded = decode_cursor(cursor, 2)
    if not decoded:
        return None
    try:
        return dt.date.fromisoformat(decoded[0]), uuid.UUID(str(decoded[1]))
    except (TypeError, ValueError):
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor") from None


def _page(items: list[Adoption], next_cursor: str | None) -> AdoptionPage:
    return AdoptionPage(items=items, next_cursor=next_cursor)


@post(
    "/innovations/{id:uuid}/adoptions",
    operation_id="CreateAdoption",
    tags=["adoptions"],
    summary="Record that a site adopted the innovation",
    responses=responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
)
async def create_adoption(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: InnovationId,
    data: Annotated[AdoptionCreate, json_body(CREATE_EXAMPLE)],
) -> Response[Adoption]:
    """Record an adoption, with the earlier adoptions it learned from and through which channel."""
    adoption, version = await service.create_adoption(conn, actor, principal, id, data)
    return created(adoption, f"/v1/adoptions/{adoption.id}", version)


@get(
    "/adoptions/{id:uuid}",
    operation_id="GetAdoption",
    tags=["adoptions"],
    summary="Get one adoption",
    responses=responses(401, 404, 429, 503),
)
async def get_adoption(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    fields: FieldsQuery = None,
    expand: AdoptionExpandQuery = None,
) -> Response[Adoption]:
    """One adoption with its sources, stage history and an ETag."""
    shape = shape_of(request, "adoption", Adoption, fields=fields, expand=expand)
    found = await queries.get_adoption(conn, id)
    if found is None:
        raise NotFoundError(f"no adoption has id {id}")
    return await one(request, conn, shape, *found)


@patch(
    "/adoptions/{id:uuid}",
    operation_id="UpdateAdoption",
    tags=["adoptions"],
    summary="Update an adoption (stage, dates, notes)",
    responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503),
)
async def update_adoption(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: Annotated[AdoptionUpdate, json_body(Example(summary="Move to sustaining", value={"stage": "sustaining"}))],
    if_match: IfMatchHeader = None,
) -> Response[Adoption]:
    """Partial update; a stage change is appended to the stage history. Never deletes."""
    adoption, version = await service.update_adoption(conn, actor, principal, id, data, if_match)
    return tagged(adoption, version)


@post(
    "/adoptions/{id:uuid}/sources",
    operation_id="AddAdoptionSource",
    tags=["adoptions"],
    summary="Add a learned-from link",
    responses=responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
)
async def add_source(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: Annotated[
        SourceIn,
        json_body(
            Example(
                summary="Learned at a learning network",
                value={"adoptionId": "2f1d1c52-3b8e-4a8e-9a51-7d0c2b7e9a10", "channel": "learning_network"},
            )
        ),
    ],
) -> Response[Adoption]:
    """Record that this adoption also learned from another (same innovation family, started no later, no cycle)."""
    adoption, version = await service.add_source(conn, actor, principal, id, data)
    return created(adoption, f"/v1/adoptions/{adoption.id}", version)


@delete(
    "/adoptions/{id:uuid}/sources/{source_id:uuid}",
    operation_id="RemoveAdoptionSource",
    tags=["adoptions"],
    summary="Remove a learned-from link",
    responses=responses(401, 403, 404, 429, 503),
)
async def remove_source(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    source_id: Annotated[uuid.UUID, PathParameter(description="The source adoption's id")],
) -> None:
    """Remove the link to a source adoption (the change log keeps it)."""
    await service.remove_source(conn, actor, principal, id, source_id)


@get(
    "/adoptions/{id:uuid}/history",
    operation_id="GetAdoptionHistory",
    tags=["adoptions", "changes"],
    summary="An adoption's change history",
    responses=responses(401, 404, 422, 429, 503),
)
async def adoption_history(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every change to this adoption record, oldest first."""
    if not await queries.exists(conn, id):
        raise NotFoundError(f"no adoption has id {id}")
    return await history_page(request, conn, "adoption", str(id), limit, cursor)


route_handlers = [
    list_adoptions,
    create_adoption,
    get_adoption,
    update_adoption,
    add_source,
    remove_source,
    adoption_history,
]
