"""Routes for a campaign's commitments, and its committed sites' impediments and breakthroughs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.auth.schemas import Principal
from service.campaigns import commitment_queries as queries
from service.campaigns import commitment_service as service
from service.campaigns.params import BreakthroughId, CampaignId, ImpedimentId, SiteCodePath, campaign_exists
from service.campaigns.schemas import (
    Breakthrough,
    BreakthroughCreate,
    BreakthroughPage,
    Commitment,
    CommitmentIn,
    CommitmentPage,
    Impediment,
    ImpedimentCategory,
    ImpedimentCreate,
    ImpedimentPage,
    ImpedimentStatus,
    ImpedimentUpdate,
)
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import created, paged, record, tagged
from service.types import (
    CODE_QUERY,
    DEFAULT_LIMIT,
    LINE,
    CursorQuery,
    IfMatchHeader,
    LimitQuery,
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    etag,
    json_body,
)

COMMITMENT_EXAMPLE = Example(
    summary="A trust's share, with an interim milestone",
    value={
        "target": 8000,
        "dueOn": "2026-03-31",
        "milestones": [{"on": "2025-12-31", "target": 4500}],
        "agreedOn": "2025-04-14",
    },
)


# --- commitments -----------------------------------------------------------------------------


@put(
    "/campaigns/{id:uuid}/commitments/{siteCode:str}",
    operation_id="PutCommitment",
    tags=["campaigns"],
    summary="Commit a site to a share of the aim",
    responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503),
)
async def put_commitment(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: CampaignId,
    siteCode: SiteCodePath,
    data: Annotated[CommitmentIn, json_body(COMMITMENT_EXAMPLE)],
    if_match: IfMatchHeader = None,
) -> Response[Commitment]:
    """Create (201) or replace (200) a site's commitment: the lead partner (for any site), the site's partner or an admin."""
    commitment, version, was_created = await service.put_commitment(
        conn, actor, principal, id, siteCode.upper(), data, if_match
    )
    headers = {"ETag": etag(version)}
    if was_created:
        headers["Location"] = f"/v1/campaigns/{id}/commitments/{commitment.site_code}"
    return Response(content=commitment, headers=headers, status_code=HTTP_201_CREATED if was_created else HTTP_200_OK)


@get(
    "/campaigns/{id:uuid}/commitments",
    operation_id="ListCommitments",
    tags=["campaigns"],
    summary="A campaign's commitments and how its aim is apportioned",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_commitments(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: CampaignId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[CommitmentPage]:
    """Commitments by site code, and `apportionment`: the sum of every commitment's target against the campaign's."""
    await campaign_exists(conn, id)
    decoded = decode_cursor(cursor, 1)
    items, summary = await queries.list_commitments(conn, id, str(decoded[0]) if decoded else None, limit)
    next_cursor = encode_cursor([items[-1].site_code]) if len(items) == limit else None
    page = CommitmentPage(items=items, apportionment=summary, next_cursor=next_cursor)
    return paged(request, page, next_cursor)


@get(
    "/campaigns/{id:uuid}/commitments/{siteCode:str}",
    operation_id="GetCommitment",
    tags=["campaigns"],
    summary="One site's commitment",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_commitment(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: CampaignId,
    siteCode: SiteCodePath,
) -> Response[Commitment]:
    """The site's commitment to the campaign, with an ETag."""
    await campaign_exists(conn, id)
    found = await queries.get_commitment(conn, id, siteCode.upper())
    if found is None:
        raise NotFoundError(f"{siteCode.upper()} has not committed to campaign {id}")
    return record(request, found[0], found[1])


# --- impediments -----------------------------------------------------------------------------


@post(
    "/campaigns/{id:uuid}/impediments",
    operation_id="CreateImpediment",
    tags=["campaigns"],
    summary="Report what is holding a site back",
    responses=responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
)
async def create_impediment(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: CampaignId,
    data: Annotated[
        ImpedimentCreate,
        json_body(
            Example(
                summary="No one to read the remote monitoring at weekends",
                value={
                    "siteCode": "RXN",
                    "description": "No clinician to review remote-monitoring alerts at weekends.",
                    "category": "workforce",
                },
            )
        ),
    ],
) -> Response[Impediment]:
    """An impediment at a committed site: by the site's partner, the lead partner or an admin."""
    impediment, version = await service.create_impediment(conn, actor, principal, id, data)
    return created(impediment, f"/v1/impediments/{impediment.id}", version)


@get(
    "/campaigns/{id:uuid}/impediments",
    operation_id="ListImpediments",
    tags=["campaigns"],
    summary="A campaign's impediments",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_impediments(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: CampaignId,
    site: Annotated[str | None, QueryParameter(description="Only this site's", **CODE_QUERY)] = None,
    status: Annotated[ImpedimentStatus | None, QueryParameter(description="Only in this status")] = None,
    category: Annotated[ImpedimentCategory | None, QueryParameter(description="Only this category")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ImpedimentPage]:
    """Impediments, newest first, by site, status or category."""
    await campaign_exists(conn, id)
    rows = await queries.list_impediments(
        conn,
        id,
        site=site.upper() if site else None,
        status=status,
        category=category,
        after=decode_time_cursor(cursor),
        limit=limit,
    )
    next_cursor = None
    if len(rows) == limit:
        last, created_at = rows[-1]
        next_cursor = encode_cursor([created_at.isoformat(), str(last.id)])
    return paged(request, ImpedimentPage(items=[i for i, _ in rows], next_cursor=next_cursor), next_cursor)


@get(
    "/impediments/{id:uuid}",
    operation_id="GetImpediment",
    tags=["campaigns"],
    summary="Get one impediment",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_impediment(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: ImpedimentId
) -> Response[Impediment]:
    """One impediment, with an ETag."""
    found = await queries.get_impediment(conn, id)
    if found is None:
        raise NotFoundError(f"no impediment has id {id}")
    return record(request, found[0], found[1])


@patch(
    "/impediments/{id:uuid}",
    operation_id="UpdateImpediment",
    tags=["campaigns"],
    summary="Offer support for, or resolve, an impediment",
    responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503),
)
async def update_impediment(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: ImpedimentId,
    data: Annotated[
        ImpedimentUpdate,
        json_body(
            Example(
                summary="The lead partner offers support",
                value={"status": "support_offered", "supportOffered": "Weekend cover from the regional hub."},
            )
        ),
    ],
    if_match: IfMatchHeader = None,
) -> Response[Impediment]:
    """Partial update by the site's partner, the lead partner or an admin; honours If-Match."""
    impediment, version = await service.update_impediment(conn, actor, principal, id, data, if_match)
    return tagged(impediment, version)


# --- breakthroughs ---------------------------------------------------------------------------


@post(
    "/campaigns/{id:uuid}/breakthroughs",
    operation_id="CreateBreakthrough",
    tags=["campaigns"],
    summary="Celebrate a site's breakthrough",
    responses=responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
)
async def create_breakthrough(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: CampaignId,
    data: Annotated[
        BreakthroughCreate,
        json_body(
            Example(
                summary="An idea worth spreading",
                value={
                    "siteCode": "RXN",
                    "title": "Pharmacist on the daily huddle",
                    "story": "A pharmacist joins the huddle and reviews medicines on day one; step-ups fell by a third.",
                    "celebratedOn": "2025-10-02",
                },
            )
        ),
    ],
) -> Response[Breakthrough]:
    """A committed site's idea worth spreading (by its partner, the lead partner or an admin), optionally from an adaptation."""
    breakthrough, version = await service.create_breakthrough(conn, actor, principal, id, data)
    return created(breakthrough, f"/v1/breakthroughs/{breakthrough.id}", version)


@get(
    "/campaigns/{id:uuid}/breakthroughs",
    operation_id="ListBreakthroughs",
    tags=["campaigns"],
    summary="A campaign's breakthroughs",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_breakthroughs(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: CampaignId,
    site: Annotated[str | None, QueryParameter(description="Only this site's", **CODE_QUERY)] = None,
    q: Annotated[
        str | None,
        QueryParameter(
            min_length=1,
            max_length=200,
            pattern=LINE,
            description='Full-text search of title and story (web syntax: words, "phrases", -not, or).',
        ),
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[BreakthroughPage]:
    """Breakthroughs, most recently celebrated first; `q` searches their titles and stories."""
    await campaign_exists(conn, id)
    decoded = decode_cursor(cursor, 2)
    after = None
    if decoded:
        try:
            after = dt.date.fromisoformat(str(decoded[0])), uuid.UUID(str(decoded[1]))
        except ValueError:
            raise InvalidInputError(
                "cursor does not fit this listing; start again without it", field="cursor"
            ) from None
    items = await queries.list_breakthroughs(
        conn, id, site=site.upper() if site else None, q=q, after=after, limit=limit
    )
    next_cursor = None
    if len(items) == limit:
        next_cursor = encode_cursor([items[-1].celebrated_on.isoformat(), str(items[-1].id)])
    return paged(request, BreakthroughPage(items=items, next_cursor=next_cursor), next_cursor)


@get(
    "/breakthroughs/{id:uuid}",
    operation_id="GetBreakthrough",
    tags=["campaigns"],
    summary="Get one breakthrough",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_breakthrough(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: BreakthroughId
) -> Response[Breakthrough]:
    """One breakthrough, with an ETag."""
    found = await queries.get_breakthrough(conn, id)
    if found is None:
        raise NotFoundError(f"no breakthrough has id {id}")
    return record(request, found[0], found[1])


route_handlers = [
    put_commitment,
    list_commitments,
    get_commitment,
    create_impediment,
    list_impediments,
    get_impediment,
    update_impediment,
    create_breakthrough,
    list_breakthroughs,
    get_breakthrough,
]
