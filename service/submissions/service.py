"""Writing a batch of adoption reports: fetch and lock the facts, plan, then write in bulk.

The route parses the body into rows (``formats``) and hands them over as a ``Batch``. One
transaction per batch, in the write shape every write follows: the innovations the batch names
are locked (``FOR SHARE``, so their core components stay as checked, and the advisory lock the
learned-from trigger takes, in id order), then a few set-based look-ups fetch the sites (locked
``FOR SHARE`` with the caller's right to write for them), the measures, and every adoption and
learned-from link of those innovations. The pure planner (``planner``, ``lineage``, ``diff``)
applies the same rules and wording as the single-record endpoints to every row, propagates
rejections through in-batch links once, and returns typed row plans; the writer (``writer``)
applies them a statement per kind. The database triggers still check every link and log every
change, attributed by ``write_transaction``.

A dry run (``dryRun=true``) does all of that, then rolls the transaction back: the per-row
report is exactly what the batch would do, and nothing is written (no adoption, no change-log
row and so no webhook delivery, no stored submission, no idempotency key used).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import anyio.to_thread
import asyncpg
import msgspec

from service.adoptions.service import map_db_error
from service.auth.schemas import Principal
from service.authz import sites_writable
from service.db import Actor, write_transaction
from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.outcomes import queries as outcome_queries
from service.submissions import planner, queries, writer
from service.submissions.diff import AdaptationKey
from service.submissions.formats import RowInput
from service.submissions.planner import Facts, Registry, Row
from service.submissions.plans import WritePlan
from service.submissions.schemas import Mode, RowResult, Submission, Summary

_ATTEMPTS = 3


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed batch: its rows, how to write them, and the fingerprint its idempotency key keeps."""

    rows: list[RowInput]
    mode: Mode
    fingerprint: bytes
    idempotency_key: str | None = None
    dry_run: bool = False


class _KeyTaken(Exception):
    """A concurrent batch with the same Idempotency-Key committed first."""


class _DryRunDone(Exception):
    """Not an error: leaving the transaction by it rolls a dry run back."""

    def __init__(self, answer: Submission) -> None:
        self.answer = answer


async def stored_answer(
    conn: asyncpg.Connection, principal: Principal, key: str, fingerprint: bytes
) -> Submission | None:
    """The answer stored for this partner's live use of ``key``, if any (a replay)."""
    stored = await queries.lookup_key(conn, principal.partner_id, key)
    return None if stored is None else await _replay(conn, stored, fingerprint, key)


async def submit(conn: asyncpg.Connection, actor: Actor, principal: Principal, batch: Batch) -> tuple[Submission, bool]:
    """Write a batch (or try it, for a dry run); returns its answer and whether it is a replay."""
    for attempt in range(_ATTEMPTS):
        try:
            return await _attempt(conn, actor, principal, batch), False
        except _DryRunDone as done:
            return done.answer, False
        except _KeyTaken:
            assert batch.idempotency_key is not None
            stored = await stored_answer(conn, principal, batch.idempotency_key, batch.fingerprint)
            if stored is not None:
                return stored, True
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            if attempt == _ATTEMPTS - 1:
                raise ConflictError(
                    "Other writes to the same innovations kept colliding with this batch. Send it again."
                ) from None
        except asyncpg.ForeignKeyViolationError as exc:
            if getattr(exc, "constraint_name", None) == "observations_measure_code_fkey":  # deleted meanwhile
                raise InvalidInputError(
                    "a measure named in the batch's observations no longer exists", field="observations"
                ) from exc
            raise map_db_error(exc, field="learnedFrom") from exc
        except asyncpg.PostgresError as exc:
            raise map_db_error(exc, field="learnedFrom") from exc
    raise ConflictError("This batch collided with a concurrent one using the same Idempotency-Key. Send it again.")


async def _attempt(conn: asyncpg.Connection, actor: Actor, principal: Principal, batch: Batch) -> Submission:
    """One try, in one transaction; a dry run leaves it by ``_DryRunDone``, which rolls it back."""
    submission_id = uuid.uuid4()
    async with write_transaction(conn, actor):
        await queries.use_cached_plans(conn)
        key = batch.idempotency_key
        if key is not None and not batch.dry_run:
            if not await queries.claim_key(conn, principal.partner_id, key, batch.fingerprint, submission_id):
                raise _KeyTaken
            await queries.expire_keys(conn)
        answer = await _process(conn, principal, batch, submission_id)
        if batch.dry_run:
            raise _DryRunDone(answer)
        await queries.insert_submission(conn, _stored(answer, principal, len(batch.rows)))
    return answer


async def _replay(conn: asyncpg.Connection, stored: queries.StoredKey, digest: bytes, key: str) -> Submission:
    if stored.body_hash != digest:
        raise InvalidInputError(
            f"Idempotency-Key '{key}' was used in the last 24 hours for a different batch (another body, "
            "format or mode). Use a new key for a new batch.",
            field="Idempotency-Key",
        )
    found = await queries.get_submission(conn, stored.submission_id)
    assert found is not None
    return msgspec.convert(found.result, Submission)


async def get_submission(conn: asyncpg.Connection, principal: Principal, submission_id: uuid.UUID) -> Submission:
    found = await queries.get_submission(conn, submission_id)
    if found is None or (not principal.is_admin and found.partner_id != principal.partner_id):
        raise NotFoundError(f"no submission has id {submission_id}")
    return msgspec.convert(found.result, Submission)


# --- the steps of one batch ------------------------------------------------------------------


async def _facts(conn: asyncpg.Connection, principal: Principal, rows: list[Row]) -> Facts:
    """Fetch and lock what the rules need: the innovations, the sites, the measures."""
    reports = [r.report for r in rows if r.report is not None]
    refs = sorted({planner.innovation_key(rep.innovation) for rep in reports})
    ids = [uuid.UUID(ref) for ref in refs if _is_uuid(ref)]
    infos = await queries.resolve_innovations(conn, ids, refs)
    await queries.lock_innovations(conn, [info.id for info in infos])
    codes = {rep.site_code for rep in reports} | {lf.site_code for rep in reports for lf in rep.learned_from}
    known, covered = await sites_writable(conn, principal, sorted(codes))
    measure_codes = sorted({o.measure_code for rep in reports for o in rep.observations})
    measures = await outcome_queries.measures_meta(conn, measure_codes) if measure_codes else {}
    return Facts(
        innovations={str(info.id): info for info in infos} | {info.slug: info for info in infos},
        known_sites=frozenset(known),
        covered_sites=frozenset(covered),
        measures=measures,
    )


def _check_and_match(rows: list[Row], facts: Facts, reg: Registry, principal: Principal) -> None:
    """The pure part of a batch, linear in rows and links: run in a worker thread, so a
    10,000-row batch does not stall the other requests this process serves."""
    readable = [r for r in rows if r.report is not None]
    planner.check_rows(readable, facts, principal, dt.date.today())
    planner.plan(rows, readable, reg, set(facts.known_sites))


async def _existing_adaptations(conn: asyncpg.Connection, rows: list[Row]) -> dict[uuid.UUID, Counter[AdaptationKey]]:
    """The adaptations already recorded for the adoptions the batch's rows update."""
    targets = [r.target.id for r in rows if r.target is not None and not r.errors and r.report and r.report.adaptations]
    have: dict[uuid.UUID, Counter[AdaptationKey]] = {}
    for existing in await queries.adaptations_of(conn, targets):
        have.setdefault(existing.adoption_id, Counter())[existing.key] += 1
    return have


async def _process(
    conn: asyncpg.Connection, principal: Principal, batch: Batch, submission_id: uuid.UUID
) -> Submission:
    rows = [Row(i.row, i.report, list(i.errors), i.external_id) for i in batch.rows]
    facts = await _facts(conn, principal, rows)
    innovation_ids = sorted({info.id for info in facts.innovations.values()})
    reg = Registry(
        await queries.adoptions_of(conn, innovation_ids),
        await queries.links_of(conn, innovation_ids),
        principal.partner_id,
    )
    await anyio.to_thread.run_sync(_check_and_match, rows, facts, reg, principal)
    plan: WritePlan = planner.write_plan(rows, reg, await _existing_adaptations(conn, rows), principal)
    rejected = [r for r in rows if r.report is None or r.errors]
    if batch.mode == "atomic" and rejected and not batch.dry_run:
        raise _atomic_failure(rows, rejected)
    observed = await writer.apply(conn, plan, reg.links, principal.partner_id, dry_run=batch.dry_run)
    for r in rows:
        if r.status == "unchanged" and observed.get(r.n):
            r.status = "updated"  # its adoption is unchanged but its observations are not
    return _answer(submission_id, batch, rows)


def _answer(submission_id: uuid.UUID, batch: Batch, rows: list[Row]) -> Submission:
    results = [_result(r) for r in rows]
    counts = Counter(r.status for r in results)
    return Submission(
        id=submission_id,
        mode=batch.mode,
        summary=Summary(
            created=counts["created"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            rejected=counts["rejected"],
        ),
        rows=results,
        created_at=dt.datetime.now(dt.UTC),
        dry_run=batch.dry_run,
    )


def _stored(answer: Submission, principal: Principal, row_count: int) -> queries.StoredSubmission:
    return queries.StoredSubmission(
        id=answer.id,
        partner_id=principal.partner_id,
        key_id=principal.key_id,
        mode=answer.mode,
        row_count=row_count,
        created=answer.summary.created,
        updated=answer.summary.updated,
        unchanged=answer.summary.unchanged,
        rejected=answer.summary.rejected,
        result=answer,
        created_at=answer.created_at,
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _result(r: Row) -> RowResult:
    rejected = r.report is None or bool(r.errors)
    return RowResult(
        row=r.n,
        external_id=r.external_id,
        status="rejected" if rejected else r.status,
        adoption_id=None if rejected else r.adoption_id,
        errors=r.errors,
        warnings=r.warnings,
    )


def _atomic_failure(rows: list[Row], rejected: list[Row]) -> InvalidInputError:
    first = rejected[0]
    shown = f"row {first.n}, {first.errors[0].field}: {first.errors[0].detail}" if first.errors else f"row {first.n}"
    more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
    return InvalidInputError(
        f"{len(rejected)} of {len(rows)} rows were rejected, so nothing was written (mode=atomic): {shown}{more}. "
        "Fix the rows listed in `rows` and send the batch again, or send mode=partial to write the valid rows.",
        extra={"rows": [msgspec.to_builtins(_result(r)) for r in rejected]},
    )
