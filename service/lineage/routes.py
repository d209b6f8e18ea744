"""Lineage: how an innovation travelled from site to site, and how it changed on the way.

``GET /v1/innovations/{id}/lineage``, ``GET /v1/adoptions/{id}/lineage`` and
``GET /v1/innovations/{id}/family``. The two lineage operations also answer as PROV-JSON,
GeoJSON or a Mermaid flowchart, chosen by ``format`` or by the ``Accept`` header.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from service.db import Connection
from service.errors import responses
from service.http import also_answers
from service.lineage import service
from service.lineage.cache import MIN_COMPRESS, Answer, AnswerCache
from service.lineage.formats import MEDIA_TYPES
from service.lineage.schemas import AdoptionLineage, Direction, Format, InnovationFamily, InnovationLineage
from service.vocab import Stage

InnovationPath = Annotated[uuid.UUID, PathParameter(description="Innovation id")]
AdoptionPath = Annotated[uuid.UUID, PathParameter(description="Adoption id")]
DepthQuery = Annotated[
    int | None,
    QueryParameter(ge=1, le=100, description="Generations to include (1 to 100); default all."),
]
FormatQuery = Annotated[
    Format | None,
    QueryParameter(
        description="json (default), prov (W3C PROV-JSON), geojson (FeatureCollection) or mermaid "
        "(a text/plain flowchart). Overrides the Accept header."
    ),
]

_BY_MEDIA = {
    "application/json": "json",
    "application/provenance+json": "prov",
    "application/geo+json": "geojson",
    "text/plain": "mermaid",
}

_FORMATS_NOTE = (
    " Also answers as W3C PROV-JSON (`format=prov` or `Accept: application/provenance+json`), "
    "GeoJSON (`format=geojson` or `Accept: application/geo+json`) and a Mermaid flowchart "
    "(`format=mermaid` or `Accept: text/plain`). A graph over 20,000 adoptions is refused with "
    "a 422 saying how to narrow it."
)

LINEAGE_FORMATS = also_answers(
    ("application/provenance+json", "object", "W3C PROV-JSON (format=prov)"),
    ("application/geo+json", "object", "A GeoJSON FeatureCollection (format=geojson)"),
    ("text/plain", "string", "A Mermaid flowchart (format=mermaid)"),
)


def _format(request: Request[Any, Any, Any], fmt: str | None) -> str:
    """``format`` when given, else the best match for ``Accept`` (JSON when nothing better fits)."""
    if fmt is not None:
        return fmt
    if "accept" not in request.headers:
        return "json"
    best = request.accept.best_match(list(_BY_MEDIA), default="application/json")
    return _BY_MEDIA.get(best, "json")


def _answer(body: Any, fmt: str) -> Response[Any]:
    if isinstance(body, bytes):
        return Response(content=body, media_type=MEDIA_TYPES[fmt], headers={"Vary": "Accept"})
    return Response(content=body, headers={"Vary": "Accept"})


@get(
    "/innovations/{id:uuid}/lineage",
    operation_id="GetInnovationLineage",
    opt={"skip_compression": True},  # compressed by the handler, once per kept answer
    operation_class=LINEAGE_FORMATS,
    tags=["lineage"],
    summary="How an innovation spread",
    description="The whole spread of one innovation: adoptions (nodes) with their generation, learned-from "
    "links (edges) with their channel, and spread statistics. `stage`, `region` and `since` pick "
    "adoptions; generations stay those of the whole spread." + _FORMATS_NOTE,
    responses=responses(401, 404, 422, 429, 503),
)
async def innovation_lineage(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: InnovationPath,
    depth: DepthQuery = None,
    stage: Annotated[Stage | None, QueryParameter(description="Only adoptions at this stage")] = None,
    region: Annotated[
        str | None,
        QueryParameter(
            min_length=3,
            max_length=3,
            pattern=r"^[Yy][0-9]{2}$(?!\n)",
            description="Only sites in this region, e.g. Y56",
        ),
    ] = None,
    since: Annotated[dt.date | None, QueryParameter(description="Only adoptions started on or after this date")] = None,
    format: FormatQuery = None,
) -> Response[InnovationLineage]:
    """The spread of one innovation as a graph of who learned from whom, with statistics."""
    fmt = _format(request, format)
    state = request.app.state
    cache = state.get("lineage_answers")
    if cache is None:
        cache = state["lineage_answers"] = AnswerCache()
    region = region.upper() if region else None
    answer = await service.innovation_lineage(
        conn, id, depth=depth, stage=stage, region=region, since=since, fmt=fmt, cache=cache
    )
    return await _compressed(request, answer)


async def _compressed(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """The answer gzipped when the client takes gzip (as the app's compression layer would,
    which this route skips): made once per kept answer, at a level chosen by size."""
    body = answer.body
    if len(body) >= MIN_COMPRESS:
        accept = next((v for k, v in request.scope["headers"] if k == b"accept-encoding"), b"")
        if b"gzip" in accept:
            return Response(
                content=answer.gzipped or await anyio.to_thread.run_sync(answer.gzip),
                media_type=answer.media_type,
                headers={"Vary": "Accept, Accept-Encoding", "Content-Encoding": "gzip"},
            )
    return Response(content=body, media_type=answer.media_type, headers={"Vary": "Accept"})


@get(
    "/adoptions/{id:uuid}/lineage",
    operation_id="GetAdoptionLineage",
    operation_class=LINEAGE_FORMATS,
    tags=["lineage"],
    summary="One adoption's place in the spread",
    description="Where this adoption came from (`upstream`), who learned from it (`downstream`), or both. "
    "Upstream answers carry every chain from a root to this adoption (`paths`) and the `variant`: the "
    "innovation's core components as this site runs them, each with the adaptations that changed it "
    "along the way (inherited first, then its own)." + _FORMATS_NOTE,
    responses=responses(401, 404, 422, 429, 503),
)
async def adoption_lineage(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: AdoptionPath,
    direction: Annotated[
        Direction, QueryParameter(description="upstream (where it came from), downstream (who learned from it), both")
    ] = "both",
    depth: Annotated[
        int | None,
        QueryParameter(ge=1, le=100, description="Steps from this adoption to include (1 to 100); default all."),
    ] = None,
    format: FormatQuery = None,
) -> Response[AdoptionLineage]:
    """One adoption's lineage: its sources up to the roots, its learners, the paths and its variant."""
    fmt = _format(request, format)
    body = await service.adoption_lineage(conn, id, direction=direction, depth=depth, fmt=fmt)
    return _answer(body, fmt)


@get(
    "/innovations/{id:uuid}/family",
    operation_id="GetInnovationFamily",
    tags=["lineage"],
    summary="An innovation's family tree",
    responses=responses(401, 404, 429, 503),
)
async def innovation_family(conn: NamedDependency[Connection], id: InnovationPath) -> InnovationFamily:
    """The innovations this one derives from and those derived from it, as a tree from the oldest ancestor."""
    return await service.innovation_family(conn, id)


route_handlers = [innovation_lineage, adoption_lineage, innovation_family]
