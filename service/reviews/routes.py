"""Sustainment reviews: ``/v1/adoptions/{id}/reviews``, ``/v1/reviews/...`` and the innovation's summary."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.adoptions.service import require_adoption
from service.auth.schemas import Principal
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import created, none_match, not_modified, paged, record
from service.reviews import queries, service
from service.reviews.schemas import DueReviewPage, Review, ReviewCreate, ReviewPage, Sustainment
from service.types import (
    CODE_QUERY,
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    decode_cursor,
    encode_cursor,
    json_body,
)

T = TypeVar("T")
AdoptionId = Annotated[uuid.UUID, PathParameter(description="Adoption id")]
ReviewId = Annotated[uuid.UUID, PathParameter(description="Review id")]
InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]

CREATE_EXAMPLE = Example(
    summary="A 6-month review: still in use, leadership slipping",
    value={
        "reviewedOn": "2024-03-01",
        "stillInUse": "yes",
        "factors": {
            "benefitsBeyondHelpingPatients": 3,
            "credibilityOfBenefits": 4,
            "adaptability": 3,
            "monitoringProgress": 2,
            "staffInvolvementAndTraining": 3,
            "staffBehaviours": 3,
            "seniorLeadership": 2,
            "clinicalLeadership": 4,
            "fitWithAimsAndCulture": 3,
            "infrastructure": 2,
        },
        "notes": "Ward sister left; a new champion is named.",
    },
)


@post(
    "/adoptions/{id:uuid}/reviews",
    operation_id="CreateReview",
    tags=["reviews"],
    summary="Record a sustainment review of an adoption",
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def create_review(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: Annotated[ReviewCreate, json_body(CREATE_EXAMPLE)],
) -> Response[Review]:
    """Whether the innovation is still in use, and the ten Sustainability Model factors (levels 1-4)."""
    review, version = await service.create_review(conn, actor, principal, id, data)
    return created(review, f"/v1/reviews/{review.id}", version)


@get(
    "/adoptions/{id:uuid}/reviews",
    operation_id="ListReviews",
    tags=["reviews"],
    summary="List an adoption's sustainment reviews",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_reviews(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ReviewPage]:
    """The adoption's reviews, earliest first."""
    after = _after_review(cursor)
    items = await queries.list_reviews(conn, id, after, limit)
    if not items:
        await require_adoption(conn, id)
    next_cursor = None
    if len(items) == limit:
        next_cursor = encode_cursor([items[-1].reviewed_on.isoformat(), str(items[-1].id)])
    return paged(request, ReviewPage(items=items, next_cursor=next_cursor), next_cursor)


@get(
    "/reviews/{id:uuid}",
    operation_id="GetReview",
    tags=["reviews"],
    summary="Get one sustainment review",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_review(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: ReviewId
) -> Response[Review]:
    """One review, with an ETag."""
    found = await queries.get_review(conn, id)
    if found is None:
        raise NotFoundError(f"no review has id {id}")
    return record(request, *found)


@get(
    "/reviews/due",
    operation_id="ListDueReviews",
    tags=["reviews"],
    summary="Sustainment reviews due or overdue",
    responses=responses(401, 422, 429, 503),
)
async def list_due_reviews(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    principal: NamedDependency[Principal],
    before: Annotated[dt.date | None, QueryParameter(description="Due on or before this date (default: today)")] = None,
    region: Annotated[str | None, QueryParameter(description="Region code", **CODE_QUERY)] = None,
    all_sites: Annotated[
        bool,
        QueryParameter(name="allSites", description="A partner key sees only the sites it covers unless this is true"),
    ] = False,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[DueReviewPage]:
    """Review milestones (6, 12, 24 months after implementing) not yet met, earliest due first."""
    after = _after_due(cursor)
    partner = None if principal.is_admin or all_sites else principal.partner_id
    items = await queries.list_due(
        conn, before or dt.date.today(), region.upper() if region else None, partner, after, limit
    )
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        next_cursor = encode_cursor([last.due_on.isoformat(), str(last.adoption_id), last.months])
    return paged(request, DueReviewPage(items=items, next_cursor=next_cursor), next_cursor)


@get(
    "/innovations/{id:uuid}/sustainment",
    operation_id="GetSustainment",
    tags=["reviews", "innovations"],
    summary="Share of an innovation's adoptions still in use at 6, 12 and 24 months",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_sustainment(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: InnovationId
) -> Response[Sustainment]:
    """Kaplan-Meier share still in use (young adoptions censored), and what replaced it or it replaced."""
    return computed(request, await service.sustainment(conn, id))


def computed(request: Request[Any, Any, Any], body: T) -> Response[T]:
    """A computed answer with a weak ETag of its content (304 when If-None-Match has it)."""
    raw = msgspec.json.encode(body)
    tag = f'W/"{hashlib.blake2b(raw, digest_size=8).hexdigest()}"'
    if none_match(request, tag.removeprefix("W/")):
        return not_modified(tag)
    return Response(content=body, headers={"ETag": tag})


def _bad_cursor() -> InvalidInputError:
    return InvalidInputError("cursor does not fit this listing; start again without it", field="cursor")


def _after_review(cursor: str | None) -> tuple[dt.date, uuid.UUID] | None:
    decoded = decode_cursor(cursor, 2)
    if not decoded:
        return None
    try:
        return dt.date.fromisoformat(decoded[0]), uuid.UUID(str(decoded[1]))
    except (TypeError, ValueError):
        raise _bad_cursor() from None


def _after_due(cursor: str | None) -> tuple[dt.date, uuid.UUID, int] | None:
    decoded = decode_cursor(cursor, 3)
    if not decoded:
        return None
    try:
        months = int(decoded[2])
        if months not in service.MILESTONES:
            raise ValueError(months)
        return dt.date.fromisoformat(decoded[0]), uuid.UUID(str(decoded[1])), months
    except (TypeError, ValueError):
        raise _bad_cursor() from None


route_handlers = [create_review, list_reviews, get_review, list_due_reviews, get_sustainment]
