"""Who is calling: the principal a key resolves to, and the /v1/me answer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from service.types import ReadBase

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[str, ...] = ("read", "write", "admin")


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, attached to the request as ``request.user``."""

    key_id: uuid.UUID
    partner_id: uuid.UUID
    partner_name: str
    scopes: tuple[str, ...]
    expires_at: dt.datetime | None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    def has(self, scope: str) -> bool:
        # admin implies write implies read
        order = {"read": 0, "write": 1, "admin": 2}
        return any(order[s] >= order[scope] for s in self.scopes if s in order)


class Me(ReadBase, frozen=True):
    """The calling key, so a partner can check its setup."""

    key_id: uuid.UUID
    partner_id: uuid.UUID
    partner: str
    scopes: list[Scope]
    expires_at: dt.datetime | None
    sites: list[str] = msgspec.field(default_factory=list)
