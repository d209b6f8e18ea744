"""Adaptations: per adoption, per innovation, and one by one (with history)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.adaptations import queries, service
from service.adaptations.schemas import Adaptation, AdaptationCreate, AdaptationPage, AdaptationUpdate
from service.adoptions.service import require_adoption
from service.auth.schemas import Principal
from service.changes.history import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import NotFoundError, responses
from service.http import also_answers, created, tagged
from service.innovations.service import require_innovation
from service.shaping import (
    CSV_ALTERNATIVE,
    LIST_MEDIA,
    AdaptationExpandQuery,
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
    decode_time_cursor,
    encode_cursor,
    json_body,
)
from service.vocab import Fidelity, Goal, Nature, WhatModified

AdoptionId = Annotated[uuid.UUID, PathParameter(description="Adoption id")]
AdaptationId = Annotated[uuid.UUID, PathParameter(description="Adaptation id")]
InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]

CREATE_EXAMPLE = Example(
    summary="Huddle moved online for a rural site",
    value={
        "description": "Daily huddle run by video call because the team covers three community hospitals.",
        "madeOn": "2023-03-01",
        "phase": "implementation",
        "planning": "planned_reactive",
        "decidedBy": ["clinical_lead", "frontline_staff"],
        "whatModified": "content",
        "level": "team",
        "nature": "tailoring",
        "contextChanges": ["format"],
        "fidelity": "consistent",
        "coreComponentKeys": ["daily_huddle"],
        "goals": ["fit", "workforce"],
        "reasons": ["organisation"],
    },
)


def _next(items: list[Adaptation], limit: int) -> str | None:
    return encode_cursor([items[-1].created_at.isoformat(), str(items[-1].id)]) if len(items) == limit else None


def _page(items: list[Adaptation], next_cursor: str | None) -> AdaptationPage:
    return AdaptationPage(items=items, next_cursor=next_cursor)


@post(
    "/adoptions/{id:uuid}/adaptations",
    operation_id="CreateAdaptation",
    tags=["adaptations"],
    summary="Record an adaptation",
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def create_adaptation(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: Annotated[AdaptationCreate, json_body(CREATE_EXAMPLE)],
) -> Response[Adaptation]:
    """Record a FRAME-coded change this site made to the innovation."""
    adaptation, version = await service.create_adaptation(conn, actor, principal, id, data)
    return created(adaptation, f"/v1/adaptations/{adaptation.id}", version)


@get(
    "/adoptions/{id:uuid}/adaptations",
    operation_id="ListAdoptionAdaptations",
    tags=["adaptations"],
    summary="List an adoption's adaptations",
    responses=responses(401, 404, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
)
async def list_adoption_adaptations(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    fields: FieldsQuery = None,
    expand: AdaptationExpandQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[AdaptationPage]:
    """What this site changed, oldest first."""
    shape = shape_of(
        request, "adaptation", Adaptation, fields=fields, expand=expand, format=format_, all=all_, offers=LIST_MEDIA
    )

    async def fetch(after: str | None, size: int) -> tuple[list[Adaptation], str | None]:
        items = await queries.list_for_adoption(conn, id, decode_time_cursor(after), size)
        if not items:
            await require_adoption(conn, id)
        return items, _next(items, size)

    return await listing(request, conn, shape, fetch, _page, cursor=cursor, limit=limit, item_type=Adaptation)


@get(
    "/innovations/{id:uuid}/adaptations",
    operation_id="ListInnovationAdaptations",
    tags=["adaptations"],
    summary="List every adaptation of an innovation",
    responses=responses(401, 404, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
)
async def list_innovation_adaptations(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: InnovationId,
    nature: Annotated[Nature | None, QueryParameter()] = None,
    what_modified: Annotated[WhatModified | None, QueryParameter(name="whatModified")] = None,
    fidelity: Annotated[Fidelity | None, QueryParameter()] = None,
    goal: Annotated[Goal | None, QueryParameter()] = None,
    region: Annotated[str | None, QueryParameter(description="Adopting site's region", **CODE_QUERY)] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    fields: FieldsQuery = None,
    expand: AdaptationExpandQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[AdaptationPage]:
    """How sites changed this innovation, newest first, by FRAME nature, what was modified, fidelity, goal or region."""
    shape = shape_of(
        request, "adaptation", Adaptation, fields=fields, expand=expand, format=format_, all=all_, offers=LIST_MEDIA
    )
    filters = {
        "nature": nature,
        "what_modified": what_modified,
        "fidelity": fidelity,
        "goal": goal,
        "region": region.upper() if region else None,
    }

    async def fetch(after: str | None, size: int) -> tuple[list[Adaptation], str | None]:
        items = await queries.list_for_innovation(conn, id, filters, decode_time_cursor(after), size)
        if not items:
            await require_innovation(conn, id)
        return items, _next(items, size)

    return await listing(request, conn, shape, fetch, _page, cursor=cursor, limit=limit, item_type=Adaptation)


@get(
    "/adaptations/{id:uuid}",
    operation_id="GetAdaptation",
    tags=["adaptations"],
    summary="Get one adaptation",
    responses=responses(401, 404, 429, 503),
)
async def get_adaptation(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdaptationId,
    fields: FieldsQuery = None,
    expand: AdaptationExpandQuery = None,
) -> Response[Adaptation]:
    """One adaptation with an ETag."""
    shape = shape_of(request, "adaptation", Adaptation, fields=fields, expand=expand)
    found = await queries.get_adaptation(conn, id)
    if found is None:
        raise NotFoundError(f"no adaptation has id {id}")
    return await one(request, conn, shape, *found)


@patch(
    "/adaptations/{id:uuid}",
    operation_id="UpdateAdaptation",
    tags=["adaptations"],
    summary="Update an adaptation",
    responses=responses(400, 401, 403, 404, 412, 413, 415, 422, 429, 503),
)
async def update_adaptation(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdaptationId,
    data: Annotated[
        AdaptationUpdate, json_body(Example(summary="Record what happened", value={"outcomeNotes": "Attendance rose."}))
    ],
    if_match: IfMatchHeader = None,
) -> Response[Adaptation]:
    """Partial update; honours If-Match."""
    adaptation, version = await service.update_adaptation(conn, actor, principal, id, data, if_match)
    return tagged(adaptation, version)


@delete(
    "/adaptations/{id:uuid}",
    operation_id="DeleteAdaptation",
    tags=["adaptations"],
    summary="Delete an adaptation recorded in error",
    responses=responses(401, 403, 404, 412, 422, 429, 503),
)
async def delete_adaptation(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdaptationId,
    if_match: IfMatchHeader = None,
) -> None:
    """Remove an adaptation; its last state stays in the change log and its history."""
    await service.delete_adaptation(conn, actor, principal, id, if_match)


@get(
    "/adaptations/{id:uuid}/history",
    operation_id="GetAdaptationHistory",
    tags=["adaptations", "changes"],
    summary="An adaptation's change history",
    responses=responses(401, 404, 422, 429, 503),
)
async def adaptation_history(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdaptationId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every change to this adaptation, oldest first (kept after a delete)."""
    response = await history_page(request, conn, "adaptation", str(id), limit, cursor)
    if not response.content.items and not await queries.exists(conn, id):
        raise NotFoundError(f"no adaptation has id {id}")
    return response


route_handlers = [
    create_adaptation,
    list_adoption_adaptations,
    list_innovation_adaptations,
    get_adaptation,
    update_adaptation,
    delete_adaptation,
    adaptation_history,
]
