"""Campaigns: ``/v1/campaigns`` with commitments, impediments, breakthroughs and progress."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import QueryParameter

from service.auth.schemas import Principal
from service.campaigns import commitment_routes, queries, service
from service.campaigns.params import CampaignId, campaign_exists
from service.campaigns.progress_queries import progress as progress_query
from service.campaigns.schemas import (
    Campaign,
    CampaignCreate,
    CampaignKind,
    CampaignPage,
    CampaignStatus,
    CampaignUpdate,
    Progress,
    ProgressFilter,
    SeriesPeriod,
    SiteProgress,
)
from service.campaigns.svg import render_progress_svg
from service.changes.history import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import also_answers, created, negotiate, tagged
from service.shaping import (
    CSV,
    CSV_ALTERNATIVE,
    JSON,
    LIST_MEDIA,
    AllQuery,
    FieldsQuery,
    FormatQuery,
    listing,
    one,
    shape_of,
    table,
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
    data: Annotated[CampaignCreate, json_body(CAMPAIGN_EXAMPLE)],
) -> Response[Campaign]:
    """Admin only: a time-bound aim on one measure, spreading some innovations; led by `leadPartner` (default: the caller's)."""
    campaign, version = await service.create_campaign(conn, actor, principal, data)
    return created(campaign, f"/v1/campaigns/{campaign.id}", version)


@get(
    "/campaigns",
    operation_id="ListCampaigns",
    tags=["campaigns"],
    summary="List campaigns",
    responses=responses(401, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
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
    fields: FieldsQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[CampaignPage]:
    """Campaigns, newest first, by status, kind, innovation or committed site."""
    shape = shape_of(request, "campaign", Campaign, fields=fields, format=format_, all=all_, offers=LIST_MEDIA)

    async def fetch(after: str | None, size: int) -> tuple[list[Campaign], str | None]:
        rows = await queries.list_campaigns(
            conn,
            status=status,
            kind=kind,
            innovation=innovation,
            site=site.upper() if site else None,
            after=decode_time_cursor(after),
            limit=size,
        )
        next_cursor = None
        if len(rows) == size:
            last, created_at = rows[-1]
            next_cursor = encode_cursor([created_at.isoformat(), str(last.id)])
        return [c for c, _ in rows], next_cursor

    return await listing(request, conn, shape, fetch, _campaign_page, cursor=cursor, limit=limit, item_type=Campaign)


def _campaign_page(items: list[Campaign], next_cursor: str | None) -> CampaignPage:
    return CampaignPage(items=items, next_cursor=next_cursor)


@get(
    "/campaigns/{id:uuid}",
    operation_id="GetCampaign",
    tags=["campaigns"],
    summary="Get one campaign",
    responses=responses(401, 404, 429, 503),
)
async def get_campaign(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], id: CampaignId, fields: FieldsQuery = None
) -> Response[Campaign]:
    """One campaign with its aim and milestones, with an ETag."""
    shape = shape_of(request, "campaign", Campaign, fields=fields)
    found = await queries.get_campaign(conn, id)
    if found is None:
        raise NotFoundError(f"no campaign has id {id}")
    return await one(request, conn, shape, found[0], found[1])


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
    data: Annotated[CampaignUpdate, json_body(Example(summary="Launch it", value={"status": "active"}))],
    if_match: IfMatchHeader = None,
) -> Response[Campaign]:
    """Partial update by the lead partner or an admin (only an admin changes the lead); honours If-Match. Closed: 409."""
    campaign, version = await service.update_campaign(conn, actor, principal, id, data, if_match)
    return tagged(campaign, version)


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
    await campaign_exists(conn, id)
    return await history_page(request, conn, "campaign", str(id), limit, cursor)


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
  trajectory's expectation then. `format=svg` draws it as an image (`image/svg+xml`); `format=csv`
  (or `Accept: text/csv`) answers the per-site rows as CSV (docs/response-shaping.md).
"""


_JsonOrSvg = also_answers(
    ("image/svg+xml", "string", "An SVG chart (with format=svg)."),
    ("text/csv", "string", "The per-site rows (`sites`) as CSV (format=csv or Accept: text/csv)."),
)
_PROGRESS_MEDIA = (JSON, CSV, "image/svg+xml")


@get(
    "/campaigns/{id:uuid}/progress",
    operation_id="GetCampaignProgress",
    tags=["campaigns"],
    summary="A campaign's progress against its aim, per site and over time",
    description=PROGRESS_DESCRIPTION,
    responses=responses(401, 404, 406, 422, 429, 503),
    operation_class=_JsonOrSvg,
)
async def campaign_progress(
    request: Request[Any, Any, Any],
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
        Literal["json", "svg", "csv"] | None,
        QueryParameter(description="json (default), svg (a chart, image/svg+xml) or csv (the per-site rows)"),
    ] = None,
) -> Response[Progress]:
    """Overall and per-site progress against the aim, the cumulative series, or (format=svg) a chart of it."""
    campaign = await campaign_exists(conn, id)
    when = as_of or dt.date.today()
    if not dt.date(1900, 1, 1) <= when <= dt.date(2999, 12, 31):
        raise InvalidInputError("asOf must be a date between 1900 and 2999", field="asOf")
    chosen = {"json": JSON, "csv": CSV, "svg": "image/svg+xml"}.get(format) if format else None
    media = negotiate(request, _PROGRESS_MEDIA, chosen)
    result = await progress_query(conn, id, campaign.aim.measure_code, when, period, filter)
    if media == CSV:
        return table(result.sites, SiteProgress)
    if media != JSON:
        unit = await queries.measure_unit(conn, campaign.aim.measure_code)
        svg = render_progress_svg(result, campaign, unit)
        return Response(content=svg.encode(), media_type="image/svg+xml")  # type: ignore[arg-type]  # the chart as SVG; the spec describes the JSON
    return Response(content=result)


route_handlers = [
    create_campaign,
    list_campaigns,
    get_campaign,
    update_campaign,
    campaign_history,
    commitment_routes.put_commitment,
    commitment_routes.list_commitments,
    commitment_routes.get_commitment,
    commitment_routes.create_impediment,
    commitment_routes.list_impediments,
    commitment_routes.get_impediment,
    commitment_routes.update_impediment,
    commitment_routes.create_breakthrough,
    commitment_routes.list_breakthroughs,
    commitment_routes.get_breakthrough,
    campaign_progress,
]
