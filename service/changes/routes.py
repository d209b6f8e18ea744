"""``GET /v1/changes``: the feed; ``history_handler`` builds ``GET /v1/<things>/{id}/history``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from service.auth.schemas import Principal
from service.changes import queries
from service.changes.schemas import ChangePage
from service.db import Connection
from service.errors import responses
from service.http import paged
from service.types import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor, encode_cursor

Entity = Literal[
    "site",
    "innovation",
    "adoption",
    "adoption_source",
    "adoption_review",
    "review_overdue",
    "complexity_assessment",
    "adaptation",
    "measure",
    "observation",
    "aim",
    "campaign",
    "commitment",
    "impediment",
    "breakthrough",
    "webhook",
    "submission",
]


def page_of(request: Request[Any, Any, Any], items: list[Any], limit: int) -> Response[ChangePage]:
    last = items[-1].seq if items else None
    cursor = encode_cursor([last]) if len(items) == limit and last is not None else None
    return paged(request, ChangePage(items=items, next_cursor=cursor, last_seq=last), cursor)


def viewer(request: Request[Any, Any, Any]) -> uuid.UUID | None:
    """Whose private changes the caller may see: its partner's, or (an admin) everyone's."""
    principal: Principal = request.scope["user"]
    return None if principal.is_admin else principal.partner_id


def start_seq(after: int | None, cursor: str | None) -> int:
    decoded = decode_cursor(cursor, 1)
    if decoded is not None:
        if not isinstance(decoded[0], int):
            from service.errors import InvalidInputError

            raise InvalidInputError("cursor is not one this API issued; start again without it", field="cursor")
        return decoded[0]
    return after or 0


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


async def history_page(
    request: Request[Any, Any, Any],
    conn: Connection,
    entity: str,
    entity_id: str,
    limit: int,
    cursor: str | None,
) -> Response[ChangePage]:
    """One record's changes, oldest first (used by each resource's history endpoint)."""
    items = await queries.history(conn, entity, entity_id, start_seq(None, cursor), limit, viewer(request))
    return page_of(request, items, limit)


route_handlers = [list_changes]
