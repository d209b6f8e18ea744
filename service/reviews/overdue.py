"""Noticing overdue sustainment reviews, once each, so the webhook event ``review.overdue`` fires.

The webhook worker calls :func:`notice_overdue` before each fan-out (at most once a minute per
worker); ``spread reviews overdue`` runs it by hand or from cron. Two runs at once are safe: a
milestone is noticed once (``review_overdue_once``), and the loser's insert does nothing.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Actor, write_transaction
from service.reviews import queries

ACTOR = Actor(partner_name="Spread", request_id="spread-review-overdue")


async def notice_overdue(conn: asyncpg.Connection, today: dt.date | None = None) -> int:
    """Record every review milestone that has passed its due date unmet and was not noticed yet."""
    async with write_transaction(conn, ACTOR):
        return await queries.mark_overdue(conn, today or dt.date.today())
