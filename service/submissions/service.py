"""Writing a batch of adoption reports: resolve, validate every row, then write in bulk.

One transaction per batch: the innovations it touches are locked (the advisory lock the
learned-from trigger takes, in id order), then a few set-based look-ups fetch the
innovations, sites, authorisation and every adoption and learned-from link of those
innovations. Every row is checked in Python against the same rules and texts as the
single-record endpoints (``service.adoptions.service``, ``service.adaptations.service``),
including the lineage rules over the graph the batch would leave behind (sources started
first, no cycles), so order within the batch does not matter. Rejections cascade to rows
that learn from a rejected row, propagated once over the reverse graph (``planner``); matching
and those checks run in a worker thread. Then ``INSERT ... SELECT FROM unnest(...)`` writes adoptions,
links and adaptations a statement each; the database triggers still check every link and
log every change, attributed by ``write_transaction``.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import hashlib
import uuid
from collections import Counter
from typing import Any

import anyio.to_thread
import asyncpg
import msgspec

from service.adaptations.queries import FIELDS as ADAPTATION_FIELDS
from service.adaptations.service import check_component_keys
from service.adoptions.service import map_db_error
from service.auth.schemas import Principal
from service.authz import not_site_writer, sites_writable
from service.db import Actor, write_transaction
from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.outcomes import queries as outcome_queries
from service.outcomes.service import check_observations
from service.submissions import formats, queries
from service.submissions.formats import RowInput
from service.submissions.planner import Registry, Row, plan
from service.submissions.schemas import RowResult, Submission, Summary

_ATTEMPTS = 3


class _KeyTaken(Exception):
    """A concurrent batch with the same Idempotency-Key committed first."""


def body_hash(mode: str, media_type: str, body: bytes) -> bytes:
    return hashlib.sha256(f"{mode}\n{media_type}\n".encode() + body).digest()


async def submit(
    conn: asyncpg.Connection,
    actor: Actor,
    principal: Principal,
    body: bytes,
    media_type: str,
    mode: str,
    idempotency_key: str | None,
    max_mb: float,
) -> tuple[Submission, bool]:
    """Write a batch; returns its answer and whether it is a replay of an earlier one."""
    digest = body_hash(mode, media_type, body)
    if idempotency_key is not None:
        stored = await queries.lookup_key(conn, principal.partner_id, idempotency_key)
        if stored is not None:
            return await _replay(conn, stored, digest, idempotency_key), True
    inputs = formats.read_body(body, media_type, max_mb)
    submission_id = uuid.uuid4()
    for attempt in range(_ATTEMPTS):
        try:
            async with write_transaction(conn, actor):
                await queries.use_cached_plans(conn)
                if idempotency_key is not None:
                    if not await queries.claim_key(conn, principal.partner_id, idempotency_key, digest, submission_id):
                        raise _KeyTaken
                    await queries.expire_keys(conn)
                return await _process(conn, principal, inputs, mode, submission_id), False
        except _KeyTaken:
            assert idempotency_key is not None
            stored = await queries.lookup_key(conn, principal.partner_id, idempotency_key)
            if stored is not None:
                return await _replay(conn, stored, digest, idempotency_key), True
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


async def _replay(conn: asyncpg.Connection, stored: queries.StoredKey, digest: bytes, key: str) -> Submission:
    if stored.body_hash != digest:
        raise InvalidInputError(
            f"Idempotency-Key '{key}' was used in the last 24 hours for a different batch (another body, "
            "format or mode). Use a new key for a new batch.",
            field="Idempotency-Key",
        )
    found = await queries.get_submission(conn, stored.submission_id)
    assert found is not None
    return msgspec.convert(found[1], Submission)


async def get_submission(conn: asyncpg.Connection, principal: Principal, submission_id: uuid.UUID) -> Submission:
    found = await queries.get_submission(conn, submission_id)
    if found is None or (not principal.is_admin and found[0] != principal.partner_id):
        raise NotFoundError(f"no submission has id {submission_id}")
    return msgspec.convert(found[1], Submission)


# --- the checks ---------------------------------------------------------------------------


def _check_alone(r: Row, today: dt.date) -> None:
    """What a row breaks on its own, before any look-up."""
    rep = r.report
    assert rep is not None
    if rep.started_on > today:
        r.fail("startedOn", "startedOn cannot be in the future")
    seen: set[str] = set()
    for i, lf in enumerate(rep.learned_from):
        at = f"learnedFrom[{i}]"
        if lf.site_code == rep.site_code:
            r.fail(f"{at}.siteCode", "an adoption cannot learn from itself")
        elif lf.site_code in seen:
            r.fail(f"{at}.siteCode", "the same source is listed twice")
        seen.add(lf.site_code)
        if lf.on is not None and lf.on > today:
            r.fail(f"{at}.on", f"{lf.on} is in the future")


def _innovation_key(ref: str) -> str:
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        return ref


def _adaptation_key(values: Any) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def _notes_md5(notes: str) -> str:
    return hashlib.md5(notes.encode(), usedforsecurity=False).hexdigest()


async def _process(
    conn: asyncpg.Connection, principal: Principal, inputs: list[RowInput], mode: str, submission_id: uuid.UUID
) -> Submission:
    rows = [Row(i.row, i.report, list(i.errors), i.external_id) for i in inputs]
    today = dt.date.today()
    readable = [r for r in rows if r.report is not None]
    for r in readable:
        assert r.report is not None
        r.external_id = r.report.external_id
        _check_alone(r, today)

    # Innovations, by id or slug; then lock them, so the look-ups below stay true until commit.
    keys = {ref: _innovation_key(ref) for ref in {r.report.innovation for r in readable if r.report}}
    refs = set(keys.values())
    ids = [uuid.UUID(ref) for ref in refs if _is_uuid(ref)]
    infos = await queries.resolve_innovations(conn, ids, sorted(refs))
    by_ref = {str(info.id): info for info in infos} | {info.slug: info for info in infos}
    for r in readable:
        assert r.report is not None
        r.innovation = by_ref.get(keys[r.report.innovation])
        if r.innovation is None:
            r.fail("innovation", f"no innovation has id or slug '{r.report.innovation}'")
    innovation_ids = sorted({info.id for info in infos})
    await queries.lock_innovations(conn, innovation_ids)

    # Sites and authorisation.
    codes = {r.report.site_code for r in readable if r.report}
    codes |= {lf.site_code for r in readable if r.report for lf in r.report.learned_from}
    known, covered = await sites_writable(conn, principal, sorted(codes))
    for r in readable:
        rep = r.report
        assert rep is not None
        if rep.site_code not in known:
            r.fail("siteCode", f"no site has code '{rep.site_code}'")
        elif rep.site_code not in covered:
            r.fail("siteCode", not_site_writer(principal, rep.site_code))
        for i, lf in enumerate(rep.learned_from):
            if lf.site_code not in known:
                r.fail(f"learnedFrom[{i}].siteCode", f"no site has code '{lf.site_code}'")
        if r.innovation is not None:
            for j, adaptation in enumerate(rep.adaptations):
                try:
                    check_component_keys(
                        adaptation.core_component_keys,
                        set(r.innovation.component_keys),
                        field=f"adaptations[{j}].coreComponentKeys",
                    )
                except InvalidInputError as exc:
                    r.errors.extend(exc.errors or [])

    # Observations: the same rules and messages as POST /v1/adoptions/{id}/observations, named
    # `observations[i].field`; the measures of the whole batch in one look-up.
    codes = sorted({o.measure_code for r in readable if r.report for o in r.report.observations})
    if codes:
        measures = await outcome_queries.measures_meta(conn, codes)
        for r in readable:
            assert r.report is not None
            for error in check_observations(r.report.observations, measures, today):
                r.fail(f"observations{error.field}", error.detail)

    # Match each row to the adoption it updates; one row per adoption.
    reg = Registry(
        await queries.adoptions_of(conn, innovation_ids),
        await queries.links_of(conn, innovation_ids),
        principal.partner_id,
    )
    # Matching and the lineage rules are pure Python, linear in rows and links: in a worker
    # thread, so a 10,000-row batch does not stall the other requests this process serves.
    await anyio.to_thread.run_sync(plan, rows, readable, reg, known)

    # What each surviving row changes.
    creates: list[list[Any]] = [[] for _ in range(8)]
    updates: list[tuple[Row, list[Any]]] = []
    new_links: list[list[Any]] = [[] for _ in range(4)]
    changed_links: list[list[Any]] = [[] for _ in range(3)]
    adaptations: list[dict[str, Any]] = []
    live = [r for r in rows if r.report is not None and not r.errors]
    targets = [r.target.id for r in live if r.target is not None and r.report and r.report.adaptations]
    existing_adaptations: dict[uuid.UUID, Counter[tuple[Any, ...]]] = {}
    for values in await queries.adaptations_of(conn, targets):
        existing_adaptations.setdefault(values[0], Counter())[_adaptation_key(values[1:])] += 1

    for r in live:
        rep, inn, t = r.report, r.innovation, r.target
        assert rep is not None and inn is not None and r.adoption_id is not None
        changed = False
        if t is None:
            for column, value in zip(
                creates,
                (
                    r.adoption_id,
                    inn.id,
                    rep.site_code,
                    rep.stage,
                    rep.started_on,
                    rep.notes or "",
                    r.reason,
                    rep.external_id,
                ),
                strict=True,
            ):
                column.append(value)
            r.status = "created"
        else:
            external_id = None
            own = principal.is_admin or t.partner_id == principal.partner_id
            if rep.external_id is not None and not own:
                # another partner's reference: neither set nor shown (issue 12)
                r.warnings.append("externalId not set: only the partner that recorded this adoption may set it")
            elif rep.external_id is not None and t.external_id is None:
                if (t.partner_id, inn.id, rep.external_id) in reg.external_taken:
                    r.warnings.append(f"externalId '{rep.external_id}' is taken by another adoption; not set")
                else:
                    external_id = rep.external_id
            elif rep.external_id is not None and t.external_id != rep.external_id:
                r.warnings.append(f"this adoption's externalId is '{t.external_id}'; kept it")
            if (
                rep.stage != t.stage
                or rep.started_on != t.started_on
                or (rep.notes is not None and _notes_md5(rep.notes) != t.notes_md5)
                or r.reason != t.discontinued_reason
                or external_id is not None
            ):
                updates.append((r, [r.adoption_id, rep.stage, rep.started_on, rep.notes, r.reason, external_id]))
                changed = True
        for planned in r.links:
            source, channel, on = planned.source, planned.channel, planned.on
            link = reg.pairs.get((r.adoption_id, source))
            if link is None:
                for column, value in zip(new_links, (r.adoption_id, source, channel, on), strict=True):
                    column.append(value)
                changed = True
            elif channel != link.channel or (on is not None and on != link.learned_on):
                for column, value in zip(
                    changed_links, (link.id, channel, on if on is not None else link.learned_on), strict=True
                ):
                    column.append(value)
                changed = True
        have = existing_adaptations.get(r.adoption_id)
        for adaptation in rep.adaptations:
            if have:
                key = _adaptation_key(getattr(adaptation, f) for f in ADAPTATION_FIELDS)
                if have[key] > 0:
                    have[key] -= 1
                    continue
            item = {f: getattr(adaptation, f) for f in ADAPTATION_FIELDS}
            item["adoption_id"] = r.adoption_id
            item["innovation_id"] = inn.id
            adaptations.append(item)
            changed = True
        if t is not None:
            r.status = "updated" if changed else "unchanged"

    rejected = [r for r in rows if r.report is None or r.errors]
    if mode == "atomic" and rejected:
        raise _atomic_failure(rows, rejected)

    await queries.insert_adoptions(conn, creates, principal.partner_id)
    await _write_updates(conn, updates, reg)
    await queries.insert_links(conn, new_links)
    await queries.update_links(conn, changed_links)
    await queries.insert_adaptations(conn, adaptations, principal.partner_id)
    # Observations after the adoptions they belong to: one upsert for the whole batch. A row whose
    # adoption is unchanged but whose observations are not counts as updated.
    observed = [(r, o) for r in live if r.report is not None for o in r.report.observations]
    outcomes = await outcome_queries.upsert_observations_many(
        conn, [r.adoption_id for r, _ in observed], [o for _, o in observed], principal.partner_id
    )
    for (r, _), outcome in zip(observed, outcomes, strict=True):
        if outcome != "unchanged" and r.status == "unchanged":
            r.status = "updated"

    results = [_result(r) for r in rows]
    counts = Counter(r.status for r in results)
    answer = Submission(
        id=submission_id,
        mode=mode,  # type: ignore[arg-type]
        summary=Summary(
            created=counts["created"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            rejected=counts["rejected"],
        ),
        rows=results,
        created_at=dt.datetime.now(dt.UTC),
    )
    await queries.insert_submission(
        conn,
        {
            "id": submission_id,
            "partner_id": principal.partner_id,
            "key_id": principal.key_id,
            "mode": mode,
            "row_count": len(rows),
            "created": answer.summary.created,
            "updated": answer.summary.updated,
            "unchanged": answer.summary.unchanged,
            "rejected": answer.summary.rejected,
            "result": answer,
            "created_at": answer.created_at,
        },
    )
    return answer


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _write_updates(conn: asyncpg.Connection, updates: list[tuple[Row, list[Any]]], reg: Registry) -> None:
    """Adoption updates: one statement for those that keep their start date; the others one by
    one, in an order that keeps every link valid at each step (the start-move trigger checks
    each row as it goes): moves earlier sources first, then moves later learners first."""
    still = [values for r, values in updates if r.target and values[2] == r.target.started_on]
    if still:
        await queries.update_adoptions(conn, [list(c) for c in zip(*still, strict=True)])
    moving = {values[0]: (r, values) for r, values in updates if r.target and values[2] != r.target.started_on}
    if not moving:
        return
    earlier = {node for node, (r, v) in moving.items() if r.target and v[2] < r.target.started_on}
    later = set(moving) - earlier
    order: list[uuid.UUID] = []
    for group, reverse in ((earlier, False), (later, True)):
        graph: dict[uuid.UUID, set[uuid.UUID]] = {node: set() for node in group}
        for link in reg.links:
            if link.adoption_id in group and link.source_adoption_id in group:
                graph[link.adoption_id].add(link.source_adoption_id)
        ordered = list(graphlib.TopologicalSorter(graph).static_order())
        order += reversed(ordered) if reverse else ordered
    for node in order:
        await queries.update_adoptions(conn, [[v] for v in moving[node][1]])


def _result(r: Row) -> RowResult:
    rejected = r.report is None or bool(r.errors)
    return RowResult(
        row=r.n,
        external_id=r.external_id,
        status="rejected" if rejected else r.status,  # type: ignore[arg-type]
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
