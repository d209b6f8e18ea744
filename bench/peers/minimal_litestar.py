"""Peer (a): the least a Litestar app can do for Spread's two reads. No auth, no middleware.

The same SQL and output structs as Spread (``GET_INNOVATION`` into ``Innovation``; the
partner's sites into ``Me``), the same pool settings and JSON codecs, one connection per
request from the pool. ``/v1/me`` answers for the partner in ``BENCH_PARTNER_ID`` (there is
no key to say who is calling). Run by bench/compare.py under granian, one worker.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

from litestar import Litestar, get
from litestar.exceptions import NotFoundException

from service.auth.queries import partner_sites
from service.auth.schemas import Me
from service.config import load_settings
from service.db import create_pool
from service.innovations.queries import get_innovation
from service.innovations.schemas import Innovation

PARTNER_ID = uuid.UUID(os.environ.get("BENCH_PARTNER_ID", str(uuid.UUID(int=0))))


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    settings = load_settings()
    assert settings.database_url
    app.state.pool = await create_pool(settings.database_url, settings)
    try:
        yield
    finally:
        await app.state.pool.close()


@get("/v1/innovations/{id:uuid}")
async def innovation(id: uuid.UUID) -> Innovation:
    async with app.state.pool.acquire() as conn:
        found = await get_innovation(conn, id)
    if found is None:
        raise NotFoundException()
    return found[0]


@get("/v1/me")
async def me() -> Me:
    async with app.state.pool.acquire() as conn:
        sites = await partner_sites(conn, PARTNER_ID)
    return Me(key_id=PARTNER_ID, partner_id=PARTNER_ID, partner="bench", scopes=["read"], expires_at=None, sites=sites)


app = Litestar(route_handlers=[innovation, me], lifespan=[lifespan])
