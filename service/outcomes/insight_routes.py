"""Routes for an adoption's SPC chart and the insight endpoints.

- ``/v1/adoptions/{id}/measures/{code}/spc``: the adoption's XmR chart (JSON or SVG);
- ``/v1/insights/exceptional``, ``/v1/innovations/{id}/peers``, ``/v1/innovations/{id}/reaim``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from service.analysis.schemas import VALUE_BOUND
from service.analysis.svg import render_spc_svg
from service.db import Connection
from service.errors import responses
from service.http import also_answers
from service.outcomes import insight, spc_service
from service.outcomes.insight_schemas import ExceptionalPage, PeerPage, Reaim
from service.outcomes.params import CODE, SITE, AdoptionId, CodePath, InnovationId
from service.outcomes.schemas import AdoptionSpc, Period

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
    chart, site_name, measure_name = await spc_service.adoption_spc(
        conn,
        id,
        code.upper(),
        rebase_at_adoption=rebase_at_adoption,
        target=target,
        screen_outliers=screen_outliers,
        period=period,
    )
    if fmt == "svg":
        svg = render_spc_svg(chart, f"{measure_name}: {site_name}", unit=chart.unit or None, target=chart.target)  # type: ignore[arg-type]  # AdoptionSpc has every SpcResult field the chart reads
        return Response(content=svg, media_type="image/svg+xml")  # type: ignore[arg-type]  # the chart as SVG; the spec describes the JSON
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
    measure: Annotated[str, QueryParameter(description="The measure's code, e.g. AE_4HR.", **CODE)],
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
    responses=responses(401, 404, 422, 429, 503),
)
async def get_reaim(conn: NamedDependency[Connection], id: InnovationId) -> Reaim:
    """Reach, effectiveness, adoption, implementation and maintenance, as far as the registry can count them."""
    return await insight.reaim(conn, id)


route_handlers = [
    adoption_spc,
    list_exceptional,
    list_peers,
    get_reaim,
]
