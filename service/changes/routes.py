"""``GET /v1/changes``: the feed (each resource's history endpoint uses :mod:`service.changes.history`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from service.changes import queries
from service.changes.history import page_of, start_seq, viewer
from service.changes.schemas import ChangePage, Entity
from service.db import Connection
from service.errors import responses
from service.types import DEFAULT_LIMIT, CursorQuery, LimitQuery


@get(
    "/changes",
    operation_id="ListChanges",
    tags=["changes"],
    summary="The change feed",
    responses=responses(401, 422, 429, 503),
    # On the primary, never a replica: a poller's `after` must already exist where it is looked
    # up, or the feed would restart from an earlier position (see docs/replicas.md).
    opt={"primary": True},
)
async def list_changes(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    # gt=-1, not ge=0: Litestar leaves a zero lower bound of an optional parameter out of the spec.
    after: Annotated[int | None, QueryParameter(gt=-1, le=2**62, description="Changes after this seq.")] = None,
    entity: Annotated[Entity | None, QueryParameter(description="Only this kind of record.")] = None,
    entity_id: Annotated[
        str | None,
        QueryParameter(
            name="entityId",
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9_-]+$(?!\n)",
            description="Only this record.",
        ),
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[ChangePage]:
    """Every write in commit-safe order (submissions only to their partner, webhooks only to admins). Poll with `after`."""
    items = await queries.feed(conn, start_seq(after, cursor), entity, entity_id, limit, viewer(request))
    return page_of(request, items, limit)


route_handlers = [list_changes]
