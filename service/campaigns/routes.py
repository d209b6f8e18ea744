"""Campaigns: ``/v1/campaigns`` with commitments, impediments, breakthroughs and progress."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.auth.schemas import Principal
from service.campaigns import queries, service
from service.campaigns.schemas import (
    Breakthrough,
    BreakthroughCreate,
    BreakthroughPage,
    Campaign,
    CampaignCreate,
    CampaignKind,
    CampaignPage,
    CampaignStatus,
    CampaignUpdate,
    Commitment,
    CommitmentIn,
    CommitmentPage,
    Impediment,
    ImpedimentCategory,
    ImpedimentCreate,
    ImpedimentPage,
    ImpedimentStatus,
    ImpedimentUpdate,
    Progress,
    ProgressFilter,
    SeriesPeriod,
)
from service.campaigns.svg import render_progress_svg
from service.changes.routes import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import also_answers, created, paged, record
from service.types import (
    CODE_QUERY,
    DEFAULT_LIMIT,
    LINE,
    CursorQuery,
    IfMatchHeader,
    JSONBodyOf,
    LimitQuery,
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    etag,
)

CampaignId = Annotated[uuid.UUID, PathParameter(description="Campaign id")]
ImpedimentId = Annotated[uuid.UUID, PathParameter(description="Impediment id")]
BreakthroughId = Annotated[uuid.UUID, PathParameter(description="Breakthrough id")]
SiteCodePath = Annotated[
    str,
    PathParameter(
        min_length=3, max_length=12, pattern=r"^[A-Za-z0-9-]{3,12}$", description="Site (or ICB, region) code"
    ),
]

CAMPAIGN_EXAMPLE = Example(
    summary="A national campaign on virtual wards",
    value={
        "name": "100,000 days at home",
        "kind": "campaign",
        "description": "Treat patients on virtual wards instead of in hospital: 100,000 patient-days by March 2026.",
        "innovationIds": ["2f1d1c52-3b8e-4a8e-9a51-7d0c2b7e9a10"],
        "startsOn": "2025-04-01",
        "endsOn": "2026-06-30",
        "aim": {"measureCode": "VW_PATIENT_DAYS", "baseline": 0, "target": 100000, "dueOn": "2026-03-31"},
        "milestones": [{"on": "2025-09-30", "target": 30000}, {"on": "2025-12-31", "target": 60000}],
        "status": "active",
    },
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


async def _campaign_exists(conn: Connection, campaign_id: uuid.UUID) -> Campaign:
    found = await queries.get_campaign(conn, campaign_id)
    if found is None:
        raise NotFoundError(f"no campaign has id {campaign_id}")
    return found[0]


# --- campaigns -------------------------------------------------------------------------------


@post(
    "/campaigns",
    operation_id="CreateCampaign",
    tags=["campaigns"],
    summary="Start a campaign",
    responses=responses(400, 401, 403, 413, 415, 422, 429, 503),
    opt={"scope": "admin"},
)
async def create_campaign(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    data: JSONBodyOf[CampaignCreate, CAMPAIGN_EXAMPLE],
) -> Response[Campaign]:
    """Admin only: a time-bound aim on one measure, spreading some innovations; led by `leadPartner` (default: the caller's)."""
    campaign, version = await service.create_campaign(conn, actor, principal, data)
    return created(campaign, f"/v1/campaigns/{campaign.id}", version)


@get(
    "/campaigns",
    operation_id="ListCampaigns",
    tags=["campaigns"],
    summary="List campaigns",
    responses=responses(401, 422, 429, 503),
)
async def list_campaigns(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    status: Annotated[CampaignStatus | None, QueryParameter(description="Only campaigns in this status")] = None,
    kind: Annotated[CampaignKind | None, QueryParameter(description="Only this kind")] = None,
    innovation: Annotated[
        uuid.UUID | None, QueryParameter(description="Only campaigns spreading this innovation")
    ] = None,
    site: Annotated[
        str | None, QueryParameter(description="Only campaigns this site committed to", **CODE_QUERY)
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[CampaignPage]:
    """Campaigns, newest first, by status, kind, innovation or committed site."""
    rows = await queries.list_campaigns(
        conn,
        status=status,
        kind=kind,
        innovation=innovation,
        site=site.upper() if site else None,
        after=decode_time_cursor(cursor),
        limit=limit,
    )
    next_cursor = None
    if len(rows) == limit:
        last, created_at = rows[-1]
        next_cursor = encode_cursor([created_at.isoformat(), str(last.id)])
    return paged(request, CampaignPage(items=[c for c, _ in rows], next_cursor=next_cursor), next_cursor)


@get(
    "/campaigns/{id:uuid}",
    operation_id="GetCampaign",
    tags=["campaigns"],
    summary="Get one campaign",
    responses=responses(401, 404, 429, 503),
)
async def get_campaign(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: CampaignId
) -> Response[Campaign]:
    """One campaign with its aim and milestones, with an ETag."""
    found = await queries.get_campaign(conn, id)
    if found is None:
        raise NotFoundError(f"no campaign has id {id}")
    return record(request, found[0], found[1])


@patch(
    "/campaigns/{id:uuid}",
    operation_id="UpdateCampaign",
    tags=["campaigns"],
    summary="Update a campaign",
    responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503),
)
async def update_campaign(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: CampaignId,
    data: JSONBodyOf[CampaignUpdate, Example(summary="Launch it", value={"status": "active"})],
    if_match: IfMatchHeader = None,
) -> Response[Campaign]:
    """Partial update by the lead partner or an admin (only an admin changes the lead); honours If-Match. Closed: 409."""
    campaign, version = await service.update_campaign(conn, actor, principal, id, data, if_match)
    return Response(content=campaign, headers={"ETag": etag(version)})


@get(
    "/campaigns/{id:uuid}/history",
    operation_id="GetCampaignHistory",
    tags=["campaigns", "changes"],
    summary="A campaign's change history",
    responses=responses(401, 404, 422, 429, 503),
)
async def campaign_history(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: CampaignId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every change to this campaign (its aim, milestones, innovations and status), oldest first."""
    await _campaign_exists(conn, id)
    return await history_page(request, conn, "campaign", str(id), limit, cursor)


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
    data: JSONBodyOf[CommitmentIn, COMMITMENT_EXAMPLE],
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
    await _campaign_exists(conn, id)
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
    await _campaign_exists(conn, id)
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
    data: JSONBodyOf[
        ImpedimentCreate,
        Example(
            summary="No one to read the remote monitoring at weekends",
            value={
                "siteCode": "RXN",
                "description": "No clinician to review remote-monitoring alerts at weekends.",
                "category": "workforce",
            },
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
    await _campaign_exists(conn, id)
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
    responses=responses(401, 404, 429, 503),
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
    data: JSONBodyOf[
        ImpedimentUpdate,
        Example(
            summary="The lead partner offers support",
            value={"status": "support_offered", "supportOffered": "Weekend cover from the regional hub."},
        ),
    ],
    if_match: IfMatchHeader = None,
) -> Response[Impediment]:
    """Partial update by the site's partner, the lead partner or an admin; honours If-Match."""
    impediment, version = await service.update_impediment(conn, actor, principal, id, data, if_match)
    return Response(content=impediment, headers={"ETag": etag(version)})


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
    data: JSONBodyOf[
        BreakthroughCreate,
        Example(
            summary="An idea worth spreading",
            value={
                "siteCode": "RXN",
                "title": "Pharmacist on the daily huddle",
                "story": "A pharmacist joins the huddle and reviews medicines on day one; step-ups fell by a third.",
                "celebratedOn": "2025-10-02",
            },
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
    await _campaign_exists(conn, id)
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
    responses=responses(401, 404, 429, 503),
)
async def get_breakthrough(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: BreakthroughId
) -> Response[Breakthrough]:
    """One breakthrough, with an ETag."""
    found = await queries.get_breakthrough(conn, id)
    if found is None:
        raise NotFoundError(f"no breakthrough has id {id}")
    return record(request, found[0], found[1])


# --- progress --------------------------------------------------------------------------------

PROGRESS_DESCRIPTION = """\
Where the campaign stands on `asOf` (default today), computed in one SQL statement from the
observations of the campaign's measure on committed sites' adoptions of its innovations.

- An observation counts when its period starts on or after the site's commitment date (and the
  campaign start) and on or before `asOf` (and the campaign end). An adoption counts under the
  most specific commitment covering its site: its own, else its trust's, ICB's or region's.
- `expectedByNow` follows the trajectory: the straight lines from the baseline at `startsOn`
  through each milestone to the target at `aim.dueOn` (for a site: from 0 at its commitment
  date through its milestones to its target at its `dueOn`).
- `status`: `no_data` (nothing counted yet), `met` (value at or above target), `on_track`
  (at or above expected), else `off_track`.
- `projectedCompletion`: when met, the start of the period in which the target was reached;
  otherwise the date the average pace since `startsOn` would reach it (null without progress).
- `openImpediments`: impediments raised by `asOf` and not resolved by then.
- `filter` narrows `sites`: `stalled` (no counted observation in the last two whole periods
  before `asOf`, in the site's own reporting period; months if it has none), `ahead` (value
  above expected), `off_track`.
- `series`: the cumulative total at the end of each `period` (default month), with the
  trajectory's expectation then. `format=svg` draws it as an image (`image/svg+xml`).
"""


_JsonOrSvg = also_answers(("image/svg+xml", "string", "An SVG chart (with format=svg)."))


@get(
    "/campaigns/{id:uuid}/progress",
    operation_id="GetCampaignProgress",
    tags=["campaigns"],
    summary="A campaign's progress against its aim, per site and over time",
    description=PROGRESS_DESCRIPTION,
    responses=responses(401, 404, 422, 429, 503),
    operation_class=_JsonOrSvg,
)
async def campaign_progress(
    conn: NamedDependency[Connection],
    id: CampaignId,
    as_of: Annotated[
        dt.date | None, QueryParameter(name="asOf", description="Judge progress on this date (default today)")
    ] = None,
    filter: Annotated[
        ProgressFilter | None, QueryParameter(description="Only sites that are stalled, ahead or off track")
    ] = None,
    period: Annotated[SeriesPeriod, QueryParameter(description="The series' period (default month)")] = "month",
    format: Annotated[
        Literal["json", "svg"], QueryParameter(description="json (default) or svg (a chart, image/svg+xml)")
    ] = "json",
) -> Response[Progress]:
    """Overall and per-site progress against the aim, the cumulative series, or (format=svg) a chart of it."""
    campaign = await _campaign_exists(conn, id)
    when = as_of or dt.date.today()
    if not dt.date(1900, 1, 1) <= when <= dt.date(2999, 12, 31):
        raise InvalidInputError("asOf must be a date between 1900 and 2999", field="asOf")
    result = await queries.progress(conn, id, campaign.aim.measure_code, when, period, filter)
    if format == "svg":
        unit = await queries.measure_unit(conn, campaign.aim.measure_code)
        svg = render_progress_svg(result, campaign, unit)
        return Response(content=svg.encode(), media_type="image/svg+xml")  # type: ignore[arg-type]
    return Response(content=result)


route_handlers = [
    create_campaign,
    list_campaigns,
    get_campaign,
    update_campaign,
    campaign_history,
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
    campaign_progress,
]
