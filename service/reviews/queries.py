"""SQL for sustainment reviews, reviews due and the sustainment summary. Records never leave it."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.reviews.schemas import FACTOR_COLUMNS, DueReview, Replacement, Review, ReviewCreate

_FACTORS_JSON = ", ".join(f"'{wire}', r.{col}" for wire, col in FACTOR_COLUMNS.items())
_SELECT = f"""
SELECT r.id, r.adoption_id, r.reviewed_on, r.still_in_use, json_build_object({_FACTORS_JSON}) AS factors,
       r.notes, p.name AS partner, r.created_at, r.version
FROM adoption_reviews r
LEFT JOIN partners p ON p.id = r.partner_id
"""


class AdoptionFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the review rules need about the adoption under review."""

    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    started_on: dt.date
    stage: str


# Inside the write: the adoption row locked, so its start date cannot move under the check.
ADOPTION_FACTS = """
SELECT a.id, a.innovation_id, a.site_code, a.started_on, a.stage
FROM adoptions a WHERE a.id = $1
FOR UPDATE
"""


async def adoption_facts(conn: asyncpg.Connection, adoption_id: uuid.UUID) -> AdoptionFacts | None:
    row = await conn.fetchrow(ADOPTION_FACTS, adoption_id)
    return None if row is None else msgspec.convert(row, AdoptionFacts)


_COLUMNS = ", ".join(FACTOR_COLUMNS.values())
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(6, 6 + len(FACTOR_COLUMNS)))
INSERT_REVIEW = f"""
INSERT INTO adoption_reviews (adoption_id, reviewed_on, still_in_use, notes, partner_id, {_COLUMNS})
VALUES ($1, $2, $3, $4, $5, {_PLACEHOLDERS})
RETURNING id
"""


async def insert_review(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, data: ReviewCreate, partner_id: uuid.UUID | None
) -> uuid.UUID:
    levels = msgspec.to_builtins(data.factors)
    values = [levels[wire] for wire in FACTOR_COLUMNS]
    review_id: uuid.UUID = await conn.fetchval(
        INSERT_REVIEW, adoption_id, data.reviewed_on, data.still_in_use, data.notes, partner_id, *values
    )
    return review_id


GET_REVIEW = _SELECT + "WHERE r.id = $1"


async def get_review(conn: asyncpg.Connection, review_id: uuid.UUID) -> tuple[Review, int] | None:
    """The review and its version (for the ETag)."""
    row = await conn.fetchrow(GET_REVIEW, review_id)
    return None if row is None else (msgspec.convert(row, Review), row["version"])


# Keyset on (reviewed_on, id) within one adoption: adoption_reviews_adoption_idx.
LIST_REVIEWS = (
    _SELECT
    + """
WHERE r.adoption_id = $1
  AND ($2::date IS NULL OR (r.reviewed_on, r.id) > ($2, $3::uuid))
ORDER BY r.reviewed_on, r.id
LIMIT $4
"""
)


async def list_reviews(
    conn: asyncpg.Connection, adoption_id: uuid.UUID, after: tuple[dt.date, uuid.UUID] | None, limit: int
) -> list[Review]:
    rows = await conn.fetch(LIST_REVIEWS, adoption_id, after[0] if after else None, after[1] if after else None, limit)
    return [msgspec.convert(r, Review) for r in rows]


# Review milestones: 6, 12 and 24 months after the adoption first reached implementing (or went
# straight to sustaining), from its stage history. A milestone is met by any review dated no
# more than 30 days before it or later; discontinued adoptions need no more reviews.
# A partner sees the sites it covers (the rule of service/authz.py) unless it asks for all.
LIST_DUE = """
WITH reached AS (
    SELECT a.id AS adoption_id, a.innovation_id, a.site_code, s.name AS site_name, s.region_code,
           min(h.on_date) AS implementing_on
    FROM adoptions a
    JOIN sites s ON s.code = a.site_code
    JOIN adoption_stages h ON h.adoption_id = a.id AND h.stage IN ('implementing', 'sustaining')
    WHERE a.stage <> 'discontinued'
      AND ($2::text IS NULL OR s.region_code = $2)
      AND ($3::uuid IS NULL OR EXISTS (
            SELECT 1 FROM partner_sites ps
            WHERE ps.partner_id = $3 AND ps.site_code IN (s.code, s.parent_code, s.icb_code, s.region_code)))
    GROUP BY a.id, a.innovation_id, a.site_code, s.name, s.region_code
), due AS (
    SELECT reached.*, m.months, (reached.implementing_on + make_interval(months => m.months))::date AS due_on
    FROM reached CROSS JOIN (VALUES (6), (12), (24)) AS m (months)
)
SELECT d.adoption_id, d.innovation_id, d.site_code, d.site_name, d.region_code, d.implementing_on,
       d.months, d.due_on, d.due_on < current_date AS overdue
FROM due d
WHERE d.due_on <= $1
  AND NOT EXISTS (SELECT 1 FROM adoption_reviews r
                  WHERE r.adoption_id = d.adoption_id AND r.reviewed_on >= d.due_on - 30)
  AND ($4::date IS NULL OR (d.due_on, d.adoption_id, d.months) > ($4, $5::uuid, $6::int))
ORDER BY d.due_on, d.adoption_id, d.months
LIMIT $7
"""


async def list_due(
    conn: asyncpg.Connection,
    before: dt.date,
    region: str | None,
    partner_id: uuid.UUID | None,
    after: tuple[dt.date, uuid.UUID, int] | None,
    limit: int,
) -> list[DueReview]:
    rows = await conn.fetch(
        LIST_DUE,
        before,
        region,
        partner_id,
        after[0] if after else None,
        after[1] if after else None,
        after[2] if after else None,
        limit,
    )
    return [msgspec.convert(r, DueReview) for r in rows]


class SurvivalRow(msgspec.Struct, frozen=True, kw_only=True):
    """One adoption that reached implementing, and when it stopped being in use (if it did)."""

    implementing_on: dt.date
    ended_on: dt.date | None


# An adoption stops being in use at its first "no" review or its discontinuation, whichever is
# first (and not before it reached implementing).
SURVIVAL_ROWS = """
WITH reached AS (
    SELECT a.id, min(h.on_date) AS implementing_on
    FROM adoptions a
    JOIN adoption_stages h ON h.adoption_id = a.id AND h.stage IN ('implementing', 'sustaining')
    WHERE a.innovation_id = $1
    GROUP BY a.id
)
SELECT r.implementing_on,
       (SELECT min(e.on_date) FROM (
            SELECT h.on_date FROM adoption_stages h WHERE h.adoption_id = r.id AND h.stage = 'discontinued'
            UNION ALL
            SELECT v.reviewed_on FROM adoption_reviews v WHERE v.adoption_id = r.id AND v.still_in_use = 'no'
        ) e WHERE e.on_date >= r.implementing_on) AS ended_on
FROM reached r
ORDER BY r.implementing_on, r.id
"""


async def survival_rows(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> list[SurvivalRow]:
    rows = await conn.fetch(SURVIVAL_ROWS, innovation_id)
    return [msgspec.convert(r, SurvivalRow) for r in rows]


REPLACED_BY = """
SELECT a.replaced_by_innovation_id AS innovation_id, count(*)::int AS adoptions
FROM adoptions a WHERE a.innovation_id = $1 AND a.replaced_by_innovation_id IS NOT NULL
GROUP BY a.replaced_by_innovation_id ORDER BY count(*) DESC, a.replaced_by_innovation_id
"""
REPLACED = """
SELECT a.innovation_id, count(*)::int AS adoptions
FROM adoptions a WHERE a.replaced_by_innovation_id = $1
GROUP BY a.innovation_id ORDER BY count(*) DESC, a.innovation_id
"""


async def replacements(
    conn: asyncpg.Connection, innovation_id: uuid.UUID
) -> tuple[list[Replacement], list[Replacement]]:
    """What replaced this innovation's adoptions, and which innovations it replaced."""
    by = await conn.fetch(REPLACED_BY, innovation_id)
    of = await conn.fetch(REPLACED, innovation_id)
    return [msgspec.convert(r, Replacement) for r in by], [msgspec.convert(r, Replacement) for r in of]


# Every milestone past its due date and unmet (the rule of LIST_DUE), noticed once: the insert
# is the change-log row the webhook event `review.overdue` is made from (migration 0017).
MARK_OVERDUE = """
WITH reached AS (
    SELECT a.id AS adoption_id, min(h.on_date) AS implementing_on
    FROM adoptions a
    JOIN adoption_stages h ON h.adoption_id = a.id AND h.stage IN ('implementing', 'sustaining')
    WHERE a.stage <> 'discontinued'
    GROUP BY a.id
), due AS (
    SELECT reached.adoption_id, m.months,
           (reached.implementing_on + make_interval(months => m.months))::date AS due_on
    FROM reached CROSS JOIN (VALUES (6), (12), (24)) AS m (months)
)
INSERT INTO review_overdue (adoption_id, months, due_on)
SELECT d.adoption_id, d.months, d.due_on
FROM due d
WHERE d.due_on < $1
  AND NOT EXISTS (SELECT 1 FROM adoption_reviews r
                  WHERE r.adoption_id = d.adoption_id AND r.reviewed_on >= d.due_on - 30)
  AND NOT EXISTS (SELECT 1 FROM review_overdue o WHERE o.adoption_id = d.adoption_id AND o.months = d.months)
ORDER BY d.due_on, d.adoption_id, d.months
ON CONFLICT ON CONSTRAINT review_overdue_once DO NOTHING
"""


async def mark_overdue(conn: asyncpg.Connection, today: dt.date) -> int:
    """Record each newly overdue review milestone; how many."""
    status: str = await conn.execute(MARK_OVERDUE, today)
    return int(status.rsplit(" ", 1)[-1])
