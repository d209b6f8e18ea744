"""Change-log records as the feed and history endpoints return them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from service.types import ReadBase

ChangeAction = Literal["create", "update", "delete"]

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


class ChangeActor(ReadBase, frozen=True):
    """Who made the change: the key and its partner (null for system work such as imports)."""

    key_id: str | None
    partner_id: str | None
    partner: str | None


class Change(ReadBase, frozen=True):
    """One write: the record before and after, who made it and in which request."""

    seq: int
    at: dt.datetime
    actor: ChangeActor
    entity: str
    entity_id: str
    action: ChangeAction
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class ChangePage(ReadBase, frozen=True):
    """A page of the feed. Poll again with ``after`` = ``lastSeq`` (or follow ``nextCursor``)."""

    items: list[Change]
    next_cursor: str | None
    last_seq: int | None
