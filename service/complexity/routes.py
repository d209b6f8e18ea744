"""NASSS complexity: ``/v1/adoptions/{id}/complexity`` and ``/v1/innovations/{id}/complexity``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter

from service.adoptions.service import require_adoption
from service.auth.schemas import Principal
from service.complexity import queries, service
from service.complexity.schemas import Assessment, AssessmentCreate, AssessmentPage, ComplexitySummary
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import created, paged, record
from service.reviews.routes import computed
from service.types import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor, encode_cursor, json_body

AdoptionId = Annotated[uuid.UUID, PathParameter(description="Adoption id")]
AssessmentId = Annotated[uuid.UUID, PathParameter(description="Assessment id")]
InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]

CREATE_EXAMPLE = Example(
    summary="Complex where the organisation meets the wider system",
    value={
        "assessedOn": "2024-03-01",
        "domains": {
            "condition": "complicated",
            "technology": "simple",
            "valueProposition": "complicated",
            "adopterSystem": "complex",
            "organisation": "complex",
            "widerContext": "complicated",
            "embeddingOverTime": "complicated",
        },
        "notes": "Two community teams with different rotas.",
    },
)


@post(
    "/adoptions/{id:uuid}/complexity",
    operation_id="CreateComplexityAssessment",
    tags=["reviews"],
    summary="Record a NASSS complexity assessment of an adoption",
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def create_assessment(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: Annotated[AssessmentCreate, json_body(CREATE_EXAMPLE)],
) -> Response[Assessment]:
    """The seven NASSS domains, each simple, complicated or complex, on a date."""
    assessment, version = await service.create(conn, actor, principal, id, data)
    return created(assessment, f"/v1/complexity-assessments/{assessment.id}", version)


@get(
    "/adoptions/{id:uuid}/complexity",
    operation_id="ListComplexityAssessments",
    tags=["reviews"],
    summary="List an adoption's NASSS complexity assessments",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_assessments(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[AssessmentPage]:
    """The adoption's assessments, earliest first."""
    after = _after(cursor)
    items = await queries.list_for(conn, id, after, limit)
    if not items:
        await require_adoption(conn, id)
    next_cursor = None
    if len(items) == limit:
        next_cursor = encode_cursor([items[-1].assessed_on.isoformat(), str(items[-1].id)])
    return paged(request, AssessmentPage(items=items, next_cursor=next_cursor), next_cursor)


@get(
    "/complexity-assessments/{id:uuid}",
    operation_id="GetComplexityAssessment",
    tags=["reviews"],
    summary="Get one NASSS complexity assessment",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_assessment(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: AssessmentId
) -> Response[Assessment]:
    """One assessment, with an ETag."""
    found = await queries.get(conn, id)
    if found is None:
        raise NotFoundError(f"no complexity assessment has id {id}")
    return record(request, *found)


@get(
    "/innovations/{id:uuid}/complexity",
    operation_id="GetComplexitySummary",
    tags=["reviews", "innovations"],
    summary="What made an innovation hard elsewhere: NASSS complexity by phase",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_summary(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: InnovationId
) -> Response[ComplexitySummary]:
    """Per phase (adoption, sustainment, abandonment) and domain, adoptions at each level (latest assessment)."""
    return computed(request, await service.summary(conn, id))


def _after(cursor: str | None) -> tuple[dt.date, uuid.UUID] | None:
    decoded = decode_cursor(cursor, 2)
    if not decoded:
        return None
    try:
        return dt.date.fromisoformat(decoded[0]), uuid.UUID(str(decoded[1]))
    except (TypeError, ValueError):
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor") from None


route_handlers = [create_assessment, list_assessments, get_assessment, get_summary]
