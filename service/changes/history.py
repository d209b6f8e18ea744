"""One record's change history, shared by every resource's ``GET /v1/<things>/{id}/history``.

Below the route modules that use it (they import this, never ``service.changes.routes``).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response

from service.auth.schemas import Principal
from service.changes import queries
from service.changes.schemas import ChangePage
from service.db import Connection
from service.errors import InvalidInputError
from service.http import paged
from service.types import decode_cursor, encode_cursor


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
            raise InvalidInputError("cursor is not one this API issued; start again without it", field="cursor")
        return decoded[0]
    return after or 0


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
