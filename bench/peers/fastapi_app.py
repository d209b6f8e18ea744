"""Peer (b): the same two reads as a user would write them with FastAPI, pydantic v2 and asyncpg.

An API-key check on every request (a lookup query on the request's connection: the key's
hash, not revoked, not expired), pydantic response models, one pooled connection per
request through a dependency. ``/v1/me`` is the "who am I" endpoint: the key's partner and
its sites. Run by bench/compare.py under granian (one worker), as Spread is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CoreComponent(Model):
    key: str
    name: str
    description: str = ""


class LinkItem(Model):
    title: str
    url: str


class Contact(Model):
    name: str
    role: str | None = None
    email: str | None = None
    organisation: str | None = None


class Innovation(Model):
    id: uuid.UUID
    slug: str
    title: str
    summary: str
    description: str
    category: str
    care_settings: list[str]
    themes: list[str]
    evidence_level: str
    origin_site_code: str
    originated_on: dt.date
    core_components: list[CoreComponent]
    links: list[LinkItem]
    contacts: list[Contact]
    status: str
    derived_from_id: uuid.UUID | None
    derived_from_adoption_id: uuid.UUID | None
    is_demo: bool
    adoption_count: int
    site_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class Me(Model):
    key_id: uuid.UUID
    partner_id: uuid.UUID
    partner: str
    scopes: list[str]
    expires_at: dt.datetime | None
    sites: list[str]


GET_INNOVATION = """
SELECT i.id, i.slug, i.title, i.summary, i.description, i.category, i.care_settings, i.themes,
       i.evidence_level, i.origin_site_code, i.originated_on, i.core_components, i.links, i.contacts,
       i.status, i.derived_from_id, i.derived_from_adoption_id, i.is_demo, i.adoption_count, i.site_count,
       i.created_at, i.updated_at, i.version
FROM innovations i WHERE i.id = $1
"""

KEY = """
SELECT k.id, k.partner_id, p.name AS partner_name, k.scopes, k.expires_at
FROM api_keys k JOIN partners p ON p.id = k.partner_id
WHERE k.secret_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
"""

SITES = "SELECT coalesce(array_agg(site_code ORDER BY site_code), '{}') FROM partner_sites WHERE partner_id = $1"


async def init(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, schema="pg_catalog", encoder=json.dumps, decoder=json.loads)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=10, init=init)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


async def get_conn() -> AsyncIterator[asyncpg.Connection]:
    async with app.state.pool.acquire() as conn:
        yield conn


async def get_key(
    conn: Annotated[asyncpg.Connection, Depends(get_conn)], authorization: Annotated[str | None, Header()] = None
) -> asyncpg.Record:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing API key")
    key = await conn.fetchrow(KEY, hashlib.sha256(authorization[7:].encode()).digest())
    if key is None:
        raise HTTPException(401, "invalid API key")
    return key


@app.get("/v1/innovations/{innovation_id}", response_model=Innovation, response_model_by_alias=True)
async def get_innovation(
    innovation_id: uuid.UUID,
    conn: Annotated[asyncpg.Connection, Depends(get_conn)],
    key: Annotated[asyncpg.Record, Depends(get_key)],
) -> Innovation:
    row = await conn.fetchrow(GET_INNOVATION, innovation_id)
    if row is None:
        raise HTTPException(404, "not found")
    return Innovation.model_validate(dict(row))


@app.get("/v1/me", response_model=Me, response_model_by_alias=True)
async def me(
    conn: Annotated[asyncpg.Connection, Depends(get_conn)],
    key: Annotated[asyncpg.Record, Depends(get_key)],
) -> Me:
    sites = await conn.fetchval(SITES, key["partner_id"])
    return Me(
        key_id=key["id"],
        partner_id=key["partner_id"],
        partner=key["partner_name"],
        scopes=list(key["scopes"]),
        expires_at=key["expires_at"],
        sites=list(sites),
    )
