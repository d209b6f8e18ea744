"""Issuing and revoking API keys. The secret is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import asyncpg

from service.auth import queries
from service.auth.schemas import SCOPES

KEY_PREFIX = "spr_"


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_scopes(raw: str) -> list[str]:
    scopes = {s.strip() for s in raw.split(",") if s.strip()}
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValueError(f"scopes must be a comma-separated list of {', '.join(SCOPES)}; got {raw!r}")
    return [s for s in SCOPES if s in scopes]


async def create_key(
    conn: asyncpg.Connection,
    partner: str,
    scopes: list[str],
    expires_at: dt.datetime | None = None,
) -> tuple[uuid.UUID, str]:
    """Create a key for the partner (created if new); returns its id and the secret."""
    secret = new_secret()
    async with conn.transaction():
        partner_id = await queries.ensure_partner(conn, partner)
        key_id = await queries.insert_key(conn, partner_id, secret[:12], hash_secret(secret), scopes, expires_at)
    return key_id, secret
