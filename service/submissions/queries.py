"""SQL for submissions: set-based look-ups for a whole batch and ``unnest`` writes.

Every statement here takes arrays, so a batch of 10,000 rows costs a handful of round trips.
Records never leave this module: look-ups return frozen Structs.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from service.adaptations.queries import FIELDS as ADAPTATION_FIELDS

# --- idempotency keys ------------------------------------------------------------------------

KEY_TTL = "24 hours"


class StoredKey(msgspec.Struct, frozen=True):
    body_hash: bytes
    submission_id: uuid.UUID


LOOKUP_KEY = f"""
SELECT body_hash, submission_id FROM submission_keys
WHERE partner_id = $1 AND idempotency_key = $2 AND created_at > now() - interval '{KEY_TTL}'
"""


async def lookup_key(conn: asyncpg.Connection, partner_id: uuid.UUID, key: str) -> StoredKey | None:
    """The live (under 24 hours old) use of this key by this partner, if any."""
    row = await conn.fetchrow(LOOKUP_KEY, partner_id, key)
    return StoredKey(row["body_hash"], row["submission_id"]) if row else None


# Claims the key for this batch; an expired use of the same key is taken over. Returns NULL
# when a live use exists (perhaps committed a moment ago by a concurrent retry).
CLAIM_KEY = f"""
INSERT INTO submission_keys AS k (partner_id, idempotency_key, body_hash, submission_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (partner_id, idempotency_key) DO UPDATE
    SET body_hash = excluded.body_hash, submission_id = excluded.submission_id, created_at = now()
    WHERE k.created_at <= now() - interval '{KEY_TTL}'
RETURNING true
"""


async def claim_key(
    conn: asyncpg.Connection, partner_id: uuid.UUID, key: str, body_hash: bytes, submission_id: uuid.UUID
) -> bool:
    return bool(await conn.fetchval(CLAIM_KEY, partner_id, key, body_hash, submission_id))


# Opportunistic clean-up, bounded so one request never pays for a long backlog.
EXPIRE_KEYS = f"""
DELETE FROM submission_keys WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM submission_keys WHERE created_at <= now() - interval '{KEY_TTL}' LIMIT 1000))
"""


async def expire_keys(conn: asyncpg.Connection) -> None:
    await conn.execute(EXPIRE_KEYS)


# --- stored submissions -------------------------------------------------------------------

INSERT_SUBMISSION = """
WITH submission AS (
    INSERT INTO submissions (id, partner_id, key_id, mode, row_count, created, updated, unchanged, rejected,
                             created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11)
    RETURNING id
)
INSERT INTO submission_results (submission_id, result) SELECT id, $10 FROM submission
"""


class StoredSubmission(msgspec.Struct, frozen=True, kw_only=True):
    """A batch's answer as stored, with who sent it (``result`` is the Submission's JSON)."""

    id: uuid.UUID
    partner_id: uuid.UUID | None
    key_id: uuid.UUID | None
    mode: str
    row_count: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    result: object
    created_at: dt.datetime


async def insert_submission(conn: asyncpg.Connection, s: StoredSubmission) -> None:
    await conn.execute(
        INSERT_SUBMISSION,
        s.id,
        s.partner_id,
        s.key_id,
        s.mode,
        s.row_count,
        s.created,
        s.updated,
        s.unchanged,
        s.rejected,
        s.result,
        s.created_at,
    )


GET_SUBMISSION = """
SELECT s.partner_id, r.result FROM submissions s JOIN submission_results r ON r.submission_id = s.id WHERE s.id = $1
"""


class SubmissionOwner(msgspec.Struct, frozen=True):
    partner_id: uuid.UUID | None
    result: object


async def get_submission(conn: asyncpg.Connection, submission_id: uuid.UUID) -> SubmissionOwner | None:
    row = await conn.fetchrow(GET_SUBMISSION, submission_id)
    return SubmissionOwner(row["partner_id"], row["result"]) if row else None


# --- batch look-ups -------------------------------------------------------------------------

# FOR SHARE, in id order: the innovations' core components cannot change (an innovation PATCH
# locks it FOR NO KEY UPDATE) until the adaptations that name them have committed, as for the
# single-record adaptation routes (``adaptations.queries.ADOPTION_CONTEXT``).
RESOLVE_INNOVATIONS = """
SELECT i.id, i.slug,
       coalesce((SELECT array_agg(c ->> 'key') FROM jsonb_array_elements(i.core_components) c), '{}') AS component_keys
FROM innovations i
WHERE i.id = ANY($1::uuid[]) OR i.slug = ANY($2::text[])
ORDER BY i.id
FOR SHARE OF i
"""


class InnovationInfo(msgspec.Struct, frozen=True):
    id: uuid.UUID
    slug: str
    component_keys: frozenset[str]


async def resolve_innovations(conn: asyncpg.Connection, ids: list[uuid.UUID], slugs: list[str]) -> list[InnovationInfo]:
    rows = await conn.fetch(RESOLVE_INNOVATIONS, ids, slugs)
    return [InnovationInfo(r["id"], r["slug"], frozenset(r["component_keys"])) for r in rows]


# The pool plans every statement afresh (plan_cache_mode=force_custom_plan, see service/db.py),
# which suits the API's optional-filter queries but makes the row triggers a batch fires
# (change log, stage history, learned-from checks: tens of thousands of executions of the same
# few statements) re-plan each time. For this transaction only, let them keep cached plans.
CACHED_PLANS = "SELECT set_config('plan_cache_mode', 'auto', true)"


async def use_cached_plans(conn: asyncpg.Connection) -> None:
    await conn.execute(CACHED_PLANS)


# Serialises batches (and learned-from writes, whose trigger takes the same lock) per
# innovation, in id order so two batches cannot deadlock; held to the end of the transaction.
LOCK_INNOVATIONS = """
SELECT count(pg_advisory_xact_lock(hashtextextended(s.id::text, 42)))
FROM (SELECT id FROM unnest($1::uuid[]) AS u(id) ORDER BY id) AS s
"""


async def lock_innovations(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
    await conn.fetchval(LOCK_INNOVATIONS, sorted(ids))


class ExistingAdoption(msgspec.Struct, frozen=True):
    id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    stage: str
    started_on: dt.date
    notes_md5: str
    discontinued_reason: str | None
    external_id: str | None
    partner_id: uuid.UUID | None
    created_at: dt.datetime


# Every adoption of the batch's innovations: what matching, unchanged-detection and the
# lineage rules need (notes by hash: they can be long, and equality is all that matters).
ADOPTIONS_OF = """
SELECT a.id, a.innovation_id, a.site_code, a.stage, a.started_on, md5(a.notes) AS notes_md5,
       a.discontinued_reason, a.external_id, a.partner_id, a.created_at
FROM adoptions a WHERE a.innovation_id = ANY($1::uuid[])
"""


async def adoptions_of(conn: asyncpg.Connection, innovation_ids: list[uuid.UUID]) -> list[ExistingAdoption]:
    return [ExistingAdoption(*r) for r in await conn.fetch(ADOPTIONS_OF, innovation_ids)]


class ExistingLink(msgspec.Struct, frozen=True):
    id: uuid.UUID
    adoption_id: uuid.UUID
    source_adoption_id: uuid.UUID
    channel: str
    learned_on: dt.date | None
    learner_started_on: dt.date
    source_started_on: dt.date


# Learned-from links touching the batch's innovations: learners among them (sources may be in
# an ancestor innovation) and learners elsewhere (derived innovations) of adoptions among them.
LINKS_OF = """
SELECT s.id, s.adoption_id, s.source_adoption_id, s.channel, s.learned_on, la.started_on, sa.started_on
FROM adoption_sources s
JOIN adoptions la ON la.id = s.adoption_id
JOIN adoptions sa ON sa.id = s.source_adoption_id
WHERE la.innovation_id = ANY($1::uuid[])
UNION ALL
SELECT s.id, s.adoption_id, s.source_adoption_id, s.channel, s.learned_on, la.started_on, sa.started_on
FROM adoption_sources s
JOIN adoptions sa ON sa.id = s.source_adoption_id
JOIN adoptions la ON la.id = s.adoption_id
WHERE sa.innovation_id = ANY($1::uuid[]) AND la.innovation_id <> ALL ($1::uuid[])
"""


async def links_of(conn: asyncpg.Connection, innovation_ids: list[uuid.UUID]) -> list[ExistingLink]:
    return [ExistingLink(*r) for r in await conn.fetch(LINKS_OF, innovation_ids)]


ADAPTATIONS_OF = f"""
SELECT adoption_id, {", ".join(ADAPTATION_FIELDS)} FROM adaptations WHERE adoption_id = ANY($1::uuid[])
"""


class ExistingAdaptation(msgspec.Struct, frozen=True):
    """An adaptation already recorded: its adoption and its fields (ADAPTATION_FIELDS order, lists as tuples)."""

    adoption_id: uuid.UUID
    key: tuple[object, ...]


async def adaptations_of(conn: asyncpg.Connection, adoption_ids: list[uuid.UUID]) -> list[ExistingAdaptation]:
    if not adoption_ids:
        return []
    rows = await conn.fetch(ADAPTATIONS_OF, adoption_ids)
    return [
        ExistingAdaptation(r["adoption_id"], tuple(tuple(v) if isinstance(v, list) else v for v in tuple(r)[1:]))
        for r in rows
    ]
