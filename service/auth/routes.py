"""``GET /v1/me``: the calling key, its partner, scopes, expiry and authorised sites."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from service.auth import queries
from service.auth.schemas import Me, Principal
from service.db import Connection
from service.errors import responses


@get(
    "/me",
    operation_id="GetMe",
    tags=["keys"],
    summary="Describe the calling API key",
    responses=responses(401, 429, 503),
)
async def get_me(conn: NamedDependency[Connection], principal: NamedDependency[Principal]) -> Me:
    """The calling key's id, partner, scopes, expiry and the sites its partner may write for."""
    sites = await queries.partner_sites(conn, principal.partner_id)
    return Me(
        key_id=principal.key_id,
        partner_id=principal.partner_id,
        partner=principal.partner_name,
        scopes=list(principal.scopes),  # type: ignore[arg-type]  # a key's scopes are checked on creation
        expires_at=principal.expires_at,
        sites=sites,
    )


route_handlers = [get_me]
