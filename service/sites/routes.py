"""``/v1/sites``: list, create, read, update and history of sites, addressed by code."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.auth.schemas import Principal
from service.changes.history import history_page
from service.changes.schemas import ChangePage
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotAcceptableError, NotFoundError, responses
from service.http import also_answers, created, tagged
from service.shaping import CSV_ALTERNATIVE, LIST_MEDIA, AllQuery, FieldsQuery, FormatQuery, listing, one, shape_of
from service.sites import queries, service
from service.sites.fhir import FHIR_MEDIA_TYPE, fhir_alternative, fhir_record
from service.sites.schemas import Site, SiteCreate, SiteKind, SiteNear, SitePage, SiteUpdate
from service.types import (
    CODE_QUERY,
    DEFAULT_LIMIT,
    LINE,
    CursorQuery,
    IfMatchHeader,
    LimitQuery,
    decode_cursor,
    encode_cursor,
    json_body,
)

CodePath = Annotated[
    str, PathParameter(min_length=3, max_length=12, pattern=r"^[A-Za-z0-9-]{3,12}$(?!\n)", description="Site code")
]


def _near(raw: str | None) -> tuple[float, float] | None:
    if raw is None:
        return None
    try:
        lat_s, lon_s = raw.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InvalidInputError("near must be 'latitude,longitude', e.g. near=53.48,-2.24", field="near") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInputError("near is outside the valid latitude/longitude range", field="near")
    return lat, lon


@get(
    "/sites",
    operation_id="ListSites",
    tags=["sites"],
    summary="List and find sites",
    responses=responses(401, 406, 422, 429, 503),
    operation_class=also_answers(CSV_ALTERNATIVE),
)
async def list_sites(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    kind: Annotated[SiteKind | None, QueryParameter()] = None,
    region: Annotated[str | None, QueryParameter(description="Region code, e.g. Y62", **CODE_QUERY)] = None,
    icb: Annotated[str | None, QueryParameter(description="ICB code, e.g. QE1", **CODE_QUERY)] = None,
    parent: Annotated[str | None, QueryParameter(description="Parent code, e.g. a trust", **CODE_QUERY)] = None,
    q: Annotated[
        str | None, QueryParameter(min_length=1, max_length=100, pattern=LINE, description="Name or code")
    ] = None,
    near: Annotated[
        str | None,
        QueryParameter(
            max_length=60,
            pattern=r"^-?[0-9]{1,3}(\.[0-9]{1,12})?,-?[0-9]{1,3}(\.[0-9]{1,12})?$(?!\n)",
            description="'latitude,longitude': order by distance",
            examples=[],
        ),
    ] = None,
    radius_km: Annotated[
        float,
        QueryParameter(name="radiusKm", ge=0.01, le=1000, description="With near: kilometres, 0.01 (10 m) to 1,000"),
    ] = 25.0,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    fields: FieldsQuery = None,
    format_: FormatQuery = None,
    all_: AllQuery = False,
) -> Response[SitePage]:
    """Sites by kind, region, ICB, parent, name or code; with `near`, the nearest first within `radiusKm`."""
    shape = shape_of(request, "site", SiteNear, fields=fields, format=format_, all=all_, offers=LIST_MEDIA)
    point = _near(near)

    async def fetch(cursor: str | None, size: int) -> tuple[list[SiteNear], str | None]:
        after_code: str | None = None
        after_distance: float | None = None
        if point is None:
            decoded = decode_cursor(cursor, 1)
            after_code = str(decoded[0]) if decoded else None
        else:
            decoded = decode_cursor(cursor, 2)
            if decoded:
                if not isinstance(decoded[0], int | float):
                    raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor")
                after_distance, after_code = float(decoded[0]), str(decoded[1])
        items = await queries.list_sites(
            conn,
            kind=kind,
            region=region.upper() if region else None,
            icb=icb.upper() if icb else None,
            parent=parent.upper() if parent else None,
            q=q,
            after_code=after_code,
            limit=size,
            near=point,
            radius_km=radius_km,
            after_distance=after_distance,
        )
        next_cursor = None
        if len(items) == size:
            last = items[-1]
            next_cursor = encode_cursor([last.distance_km, last.code] if point else [last.code])
        return items, next_cursor

    return await listing(request, conn, shape, fetch, _page, cursor=cursor, limit=limit, item_type=SiteNear)


def _page(items: list[SiteNear], next_cursor: str | None) -> SitePage:
    return SitePage(items=items, next_cursor=next_cursor)


@post(
    "/sites",
    operation_id="CreateSite",
    tags=["sites"],
    summary="Add a site",
    responses=responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
)
async def create_site(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    data: Annotated[
        SiteCreate,
        json_body(
            Example(
                summary="A charity partner (the registry issues its code)",
                value={"name": "Lancashire Carers Network", "kind": "other", "postcode": "PR1 2HE"},
            )
        ),
    ],
) -> Response[Site]:
    """Add a site: an NHS organisation by ODS code (admin), or a non-NHS partner (`kind: other`, code issued if absent)."""
    site, version = await service.create_site(conn, actor, principal, data)
    return created(site, f"/v1/sites/{site.code}", version)


@get(
    "/sites/{code:str}",
    operation_id="GetSite",
    tags=["sites"],
    summary="Get one site",
    description=(
        "One site by its code, with an ETag. With `Accept: application/fhir+json` the site is a FHIR R4 "
        "`Organization` (regions, ICBs, trusts, PCNs, GP practices: ODS organisation code, `partOf` the "
        "organisation above) or `Location` (hospital sites: ODS site code, `managingOrganization` its trust), "
        'with a weak ETag `W/"<versionId>"` as FHIR servers send. An `Accept` that allows neither JSON '
        "nor FHIR JSON is refused with 406."
    ),
    responses=responses(401, 404, 406, 422, 429, 503),
    operation_class=fhir_alternative(),
)
async def get_site(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], code: CodePath, fields: FieldsQuery = None
) -> Response[Site]:
    """One site by its code, with an ETag."""
    shape = shape_of(request, "site", Site, fields=fields)
    wants_fhir = _wants_fhir(request)
    found = await queries.get_site(conn, code.upper())
    if found is None:
        raise NotFoundError(f"no site has code '{code.upper()}'")
    if wants_fhir:
        return cast("Response[Site]", fhir_record(request, found[0], found[1]))
    return await one(request, conn, shape, found[0], found[1])


def _wants_fhir(request: Request[Any, Any, Any]) -> bool:
    """Whether the client asked for FHIR JSON; 406 when it accepts neither JSON nor FHIR JSON."""
    accept = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"accept"), None)
    if accept is None or not accept.strip():
        return False
    best = request.accept.best_match(["application/json", FHIR_MEDIA_TYPE])
    if best is None:
        raise NotAcceptableError(
            f"This site is available as application/json or {FHIR_MEDIA_TYPE}; the Accept header allows neither."
        )
    return best == FHIR_MEDIA_TYPE


@patch(
    "/sites/{code:str}",
    operation_id="UpdateSite",
    tags=["sites"],
    summary="Update a site",
    responses=responses(400, 401, 403, 404, 412, 413, 415, 422, 429, 503),
)
async def update_site(
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    code: CodePath,
    data: Annotated[
        SiteUpdate, json_body(Example(summary="Record a merger", value={"status": "closed", "successorCode": "RQM"}))
    ],
    if_match: IfMatchHeader = None,
) -> Response[Site]:
    """Partial update (absent fields untouched); honours If-Match. Moving a site needs admin; its partner edits the rest."""
    site, version = await service.update_site(conn, actor, principal, code.upper(), data, if_match)
    return tagged(site, version)


@get(
    "/sites/{code:str}/history",
    operation_id="GetSiteHistory",
    tags=["sites", "changes"],
    summary="A site's change history",
    responses=responses(401, 404, 422, 429, 503),
)
async def site_history(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    code: CodePath,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every change to this site, oldest first."""
    if await queries.get_site(conn, code.upper()) is None:
        raise NotFoundError(f"no site has code '{code.upper()}'")
    return await history_page(request, conn, "site", code.upper(), limit, cursor)


route_handlers = [list_sites, create_site, get_site, update_site, site_history]
