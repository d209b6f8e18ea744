"""Outcomes and insight routes.

- ``/v1/measures``: outcome definitions (list, create, read, update with ETags, history);
- ``/v1/adoptions/{id}/observations``: upsert a batch, list in time order;
- ``/v1/adoptions/{id}/aims``: create, list with status;
- ``/v1/adoptions/{id}/measures/{code}/spc``: the adoption's XmR chart (JSON or SVG);
- ``/v1/insights/exceptional``, ``/v1/innovations/{id}/peers``, ``/v1/innovations/{id}/reaim``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import Body, PathParameter, QueryParameter

from service.analysis.schemas import VALUE_BOUND
from service.analysis.svg import render_spc_svg
from service.auth.schemas import Principal
from service.changes.routes import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import also_answers, created, paged, record
from service.outcomes import insight, queries, service
from service.outcomes.schemas import (
    MAX_OBSERVATIONS,
    AdoptionAim,
    AdoptionAimCreate,
    AdoptionAimPage,
    AdoptionSpc,
    ExceptionalPage,
    Measure,
    MeasureCreate,
    MeasurePage,
    MeasureUpdate,
    ObservationIn,
    ObservationPage,
    ObservationsWritten,
    PeerPage,
    Period,
    Reaim,
)
from service.types import (
    DEFAULT_LIMIT,
    CursorQuery,
    IfMatchHeader,
    JSONBodyOf,
    LimitQuery,
    decode_cursor,
    encode_cursor,
)
from service.vocab import ImprovementDirection, ReaimDimension

AdoptionId = Annotated[uuid.UUID, PathParameter(description="Adoption id")]
InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]
_CODE = {"min_length": 2, "max_length": 40, "pattern": r"^[A-Za-z][A-Za-z0-9_]{1,39}$"}
CodePath = Annotated[str, PathParameter(description="Measure code, e.g. AE_4HR", **_CODE)]
MeasureQuery = Annotated[
    str | None, QueryParameter(description="Only this measure (its code, e.g. AE_4HR).", examples=[], **_CODE)
]
SITE = {"min_length": 3, "max_length": 12, "pattern": r"^[A-Za-z0-9-]{3,12}$"}


def _bad_cursor() -> InvalidInputError:
    return InvalidInputError("cursor does not fit this listing; start again without it", field="cursor")


# --- measures --------------------------------------------------------------------------------


@get(
    "/measures",
    operation_id="ListMeasures",
    tags=["outcomes"],
    summary="List measures",
    responses=responses(401, 422, 429, 503),
)
async def list_measures(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    innovation: Annotated[uuid.UUID | None, QueryParameter(description="Only measures tied to this innovation")] = None,
    reaim_dimension: Annotated[ReaimDimension | None, QueryParameter(name="reaimDimension")] = None,
    improvement_direction: Annotated[ImprovementDirection | None, QueryParameter(name="improvementDirection")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[MeasurePage]:
    """Measures by code, optionally only an innovation's, one RE-AIM dimension's or one direction's."""
    decoded = decode_cursor(cursor, 1)
    items = await queries.list_measures(
        conn,
        innovation_id=innovation,
        dimension=reaim_dimension,
        direction=improvement_direction,
        after_code=str(decoded[0]) if decoded else None,
        limit=limit,
    )
    next_cursor = encode_cursor([items[-1].code]) if len(items) == limit else None
    return paged(request, MeasurePage(items=items, next_cursor=next_cursor), next_cursor)


@post(
    "/measures",
    operation_id="CreateMeasure",
    tags=["outcomes"],
    summary="Define a measure",
    responses=responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
    opt={"scope": "admin"},
)
async def create_measure(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    data: JSONBodyOf[
        MeasureCreate,
        Example(
            summary="Four-hour A&E performance",
            value={
                "code": "AE_4HR",
                "name": "4-hour A&E performance (type 1)",
                "unit": "proportion",
                "improvementDirection": "increase",
                "reaimDimension": "effectiveness",
                "description": "1 - breaches / attendances at type-1 emergency departments.",
                "source": "NHS England A&E attendances and emergency admissions",
            },
        ),
    ],
) -> Response[Measure]:
    """Admin only: define an outcome measure; its `code` is how every partner's observations and aims name it."""
    found = await service.create_measure(conn, actor, principal, data)
    return created(found.measure, f"/v1/measures/{found.measure.code}", found.version)


@get(
    "/measures/{code:str}",
    operation_id="GetMeasure",
    tags=["outcomes"],
    summary="Get one measure",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_measure(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], code: CodePath
) -> Response[Measure]:
    """One measure by its code, with an ETag."""
    found = await queries.get_measure(conn, code.upper())
    if found is None:
        raise NotFoundError(f"no measure has code '{code.upper()}'")
    return record(request, found.measure, found.version)


@patch(
    "/measures/{code:str}",
    operation_id="UpdateMeasure",
    tags=["outcomes"],
    summary="Update a measure",
    responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503),
)
async def update_measure(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    code: CodePath,
    data: JSONBodyOf[MeasureUpdate, Example(summary="Name the source", value={"source": "NHS England"})],
    if_match: IfMatchHeader = None,
) -> Response[Measure]:
    """Partial update by the defining partner or an admin; honours If-Match. Once observed, unit and direction are fixed (409)."""
    found = await service.update_measure(conn, actor, principal, code.upper(), data, if_match)
    return Response(content=found.measure, headers={"ETag": f'"{found.version}"'})


@get(
    "/measures/{code:str}/history",
    operation_id="GetMeasureHistory",
    tags=["outcomes", "changes"],
    summary="A measure's change history",
    responses=responses(401, 404, 422, 429, 503),
)
async def measure_history(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    code: CodePath,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every change to this measure, oldest first."""
    if await queries.get_measure(conn, code.upper()) is None:
        raise NotFoundError(f"no measure has code '{code.upper()}'")
    return await history_page(request, conn, "measure", code.upper(), limit, cursor)


# --- observations ----------------------------------------------------------------------------

_OBSERVATIONS_EXAMPLE = Example(
    summary="Two months of 4-hour performance",
    value=[
        {
            "measureCode": "AE_4HR",
            "periodStart": "2018-01-01",
            "period": "month",
            "value": 0.8125,
            "numerator": 16250,
            "denominator": 20000,
        },
        {"measureCode": "AE_4HR", "periodStart": "2018-02-01", "period": "month", "value": 0.84},
    ],
)


@post(
    "/adoptions/{id:uuid}/observations",
    operation_id="RecordObservations",
    tags=["outcomes"],
    summary="Record or correct observations",
    status_code=200,
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def record_observations(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: Annotated[
        list[ObservationIn],
        Body(
            media_type=RequestEncodingType.JSON,
            examples=[_OBSERVATIONS_EXAMPLE],
            min_items=1,
            max_items=MAX_OBSERVATIONS,
            description="1 to 1,000 observations.",
        ),
    ],
) -> ObservationsWritten:
    """Upsert a list by adoption, measure and period, all or nothing; a resubmission corrects (the change log keeps the old value)."""
    return await service.write_observations(conn, actor, principal, id, data)


@get(
    "/adoptions/{id:uuid}/observations",
    operation_id="ListObservations",
    tags=["outcomes"],
    summary="An adoption's observations",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_observations(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    measure: MeasureQuery = None,
    period: Annotated[Period | None, QueryParameter(description="Only this period kind.")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ObservationPage]:
    """Observations in time order (period start, then measure code and period kind)."""
    decoded = decode_cursor(cursor, 3)
    after = None
    if decoded:
        try:
            after = (dt.date.fromisoformat(str(decoded[0])), str(decoded[1]), str(decoded[2]))
        except ValueError:
            raise _bad_cursor() from None
    items = await queries.list_observations(conn, id, measure.upper() if measure else None, period, after, limit)
    if not items and await queries.adoption_context(conn, id) is None:
        raise NotFoundError(f"no adoption has id {id}")
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        next_cursor = encode_cursor([last.period_start.isoformat(), last.measure_code, last.period])
    return paged(request, ObservationPage(items=items, next_cursor=next_cursor), next_cursor)


# --- aims ------------------------------------------------------------------------------------


@post(
    "/adoptions/{id:uuid}/aims",
    operation_id="CreateAim",
    tags=["outcomes"],
    summary="Set an aim",
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def create_aim(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    id: AdoptionId,
    data: JSONBodyOf[
        AdoptionAimCreate,
        Example(
            summary="Reach the 95% standard by March 2019, with quarterly milestones",
            value={
                "measureCode": "AE_4HR",
                "baseline": 0.84,
                "target": 0.95,
                "dueOn": "2019-03-31",
                "trajectory": [
                    {"periodStart": "2018-07-01", "target": 0.87},
                    {"periodStart": "2018-10-01", "target": 0.9},
                    {"periodStart": "2019-01-01", "target": 0.93},
                ],
            },
        ),
    ],
) -> Response[AdoptionAim]:
    """A measure, baseline, target and due date (and optional interim targets) for this adoption."""
    aim = await service.create_aim(conn, actor, principal, id, data)
    return created(aim, f"/v1/adoptions/{id}/aims")


@get(
    "/adoptions/{id:uuid}/aims",
    operation_id="ListAims",
    tags=["outcomes"],
    summary="An adoption's aims and how they stand",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_aims(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionId,
    measure: MeasureQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[AdoptionAimPage]:
    """Aims, oldest first, each with `status`: met, on_track, off_track or no_data (see the README)."""
    decoded = decode_cursor(cursor, 2)
    after = None
    if decoded:
        try:
            after = (dt.datetime.fromisoformat(str(decoded[0])), uuid.UUID(str(decoded[1])))
        except ValueError:
            raise _bad_cursor() from None
    rows = await queries.list_aims(conn, id, measure.upper() if measure else None, after, limit)
    if not rows and await queries.adoption_context(conn, id) is None:
        raise NotFoundError(f"no adoption has id {id}")
    items = [service.judge_aim(r) for r in rows]
    next_cursor = None
    if len(rows) == limit:
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    return paged(request, AdoptionAimPage(items=items, next_cursor=next_cursor), next_cursor)


# --- SPC of an adoption ----------------------------------------------------------------------


_JsonOrSvg = also_answers(("image/svg+xml", "string", "An SVG document (with format=svg)."))


@get(
    "/adoptions/{id:uuid}/measures/{code:str}/spc",
    operation_id="GetAdoptionSpc",
    tags=["outcomes", "analysis"],
    summary="SPC chart of an adoption's measure",
    responses=responses(401, 404, 422, 429, 503),
    operation_class=_JsonOrSvg,
)
async def adoption_spc(
    conn: NamedDependency[Connection],
    id: AdoptionId,
    code: CodePath,
    rebase_at_adoption: Annotated[
        bool,
        QueryParameter(
            name="rebaseAtAdoption",
            description="Start a new phase at the first period that begins on or after the adoption's start.",
        ),
    ] = False,
    target: Annotated[
        float | None,
        QueryParameter(
            ge=-VALUE_BOUND, le=VALUE_BOUND, description="Judge assurance against this (default: the latest aim's)."
        ),
    ] = None,
    screen_outliers: Annotated[bool, QueryParameter(name="screenOutliers")] = True,
    period: Annotated[
        Period | None,
        QueryParameter(description="Which series when several period kinds were reported (default: the latest's)."),
    ] = None,
    fmt: Annotated[
        Literal["json", "svg"],
        QueryParameter(name="format", description="`svg` answers an image/svg+xml chart instead of JSON."),
    ] = "json",
) -> Response[AdoptionSpc]:
    """The Making Data Count XmR chart of this adoption's observations of one measure (`format=svg` for a picture)."""
    chart, site_name, measure_name = await service.adoption_spc(
        conn,
        id,
        code.upper(),
        rebase_at_adoption=rebase_at_adoption,
        target=target,
        screen_outliers=screen_outliers,
        period=period,
    )
    if fmt == "svg":
        svg = render_spc_svg(chart, f"{measure_name}: {site_name}", unit=chart.unit or None, target=chart.target)  # type: ignore[arg-type]
        return Response(content=svg, media_type="image/svg+xml")  # type: ignore[return-value]
    return Response(content=chart)


# --- insight ---------------------------------------------------------------------------------


@get(
    "/insights/exceptional",
    operation_id="ListExceptionalAdoptions",
    tags=["insights"],
    summary="Adoptions improving exceptionally on a measure",
    responses=responses(401, 422, 429, 503),
)
async def list_exceptional(
    conn: NamedDependency[Connection],
    measure: Annotated[str, QueryParameter(description="The measure's code, e.g. AE_4HR.", **_CODE)],
    innovation: Annotated[uuid.UUID | None, QueryParameter(description="Only this innovation's adoptions.")] = None,
    region: Annotated[str | None, QueryParameter(description="Only sites in this region, e.g. Y62.", **SITE)] = None,
    since: Annotated[dt.date | None, QueryParameter(description="Only adoptions started on or after.")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100, description="At most this many (default 20).")] = 20,
) -> ExceptionalPage:
    """Adoptions with special-cause improvement after they started, largest shift in the mean first, with their site and adaptations."""
    return await insight.exceptional(
        conn, measure.upper(), innovation, region.upper() if region else None, since, limit
    )


@get(
    "/innovations/{id:uuid}/peers",
    operation_id="ListPeers",
    tags=["insights"],
    summary="Adoptions a site could learn from",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_peers(
    conn: NamedDependency[Connection],
    id: InnovationId,
    site: Annotated[str, QueryParameter(description="The site considering the innovation.", **SITE)],
    limit: Annotated[int, QueryParameter(ge=1, le=100, description="At most this many (default 10).")] = 10,
) -> PeerPage:
    """Best first: sustaining or implementing, improving on its measures, near, the same kind of site; with reasons and distance."""
    return await insight.peers(conn, id, site.upper(), limit)


@get(
    "/innovations/{id:uuid}/reaim",
    operation_id="GetReaim",
    tags=["insights"],
    summary="RE-AIM of an innovation",
    responses=responses(401, 404, 429, 503),
)
async def get_reaim(conn: NamedDependency[Connection], id: InnovationId) -> Reaim:
    """Reach, effectiveness, adoption, implementation and maintenance, as far as the registry can count them."""
    return await insight.reaim(conn, id)


route_handlers = [
    list_measures,
    create_measure,
    get_measure,
    update_measure,
    measure_history,
    record_observations,
    list_observations,
    create_aim,
    list_aims,
    adoption_spc,
    list_exceptional,
    list_peers,
    get_reaim,
]
