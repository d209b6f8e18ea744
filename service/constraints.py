"""The one table from database constraint names to problems.

The services check every rule first, inside the write transaction, and word each refusal
themselves; the database's constraints and triggers are the last line of defence (a race, a
path the checks missed). When one fires, :func:`refusal_for` turns its name into the problem a
client sees, worded once here. ``{message}`` in a detail is the trigger's own message (the
lineage triggers say which link failed); an entry without a field takes the caller's.
"""

from __future__ import annotations

import asyncpg
import msgspec

from service.errors import ConflictError, InvalidInputError, ProblemError

# One wording per rule: the service checks and the database constraint say the same.
DISCONTINUED_NEEDS_REASON = "stage 'discontinued' needs a reason"


class Refusal(msgspec.Struct, frozen=True):
    kind: type[ProblemError]
    detail: str
    field: str | None = None


CONSTRAINTS: dict[str, Refusal] = {
    # sites
    "sites_code_format": Refusal(InvalidInputError, "the code does not match its kind", "code"),
    "sites_coordinates_pair": Refusal(InvalidInputError, "give both latitude and longitude, or neither", "latitude"),
    "sites_not_own_parent": Refusal(InvalidInputError, "a site cannot be its own parent or successor", "parentCode"),
    "sites_not_own_successor": Refusal(
        InvalidInputError, "a site cannot be its own parent or successor", "successorCode"
    ),
    # innovations
    "innovations_slug_key": Refusal(
        ConflictError, "another innovation already has that slug; choose another or leave it out"
    ),
    "innovations_not_own_parent": Refusal(
        InvalidInputError, "an innovation cannot derive from itself", "derivedFromId"
    ),
    # adoptions and their learned-from links
    "adoptions_one_open_per_site": Refusal(
        ConflictError, "this site already has an open adoption of this innovation; update that one instead"
    ),
    "adoptions_external_id_key": Refusal(
        ConflictError, "your partner already used that externalId for another adoption of this innovation"
    ),
    "adoptions_discontinued_reason": Refusal(InvalidInputError, DISCONTINUED_NEEDS_REASON, "discontinuedReason"),
    "adoptions_replaced_by_other": Refusal(
        InvalidInputError, "an innovation cannot be replaced by itself", "replacedBy.innovationId"
    ),
    "adoptions_replaced_by_needs_replaced": Refusal(
        InvalidInputError, "replacedBy needs discontinuedOutcome 'replaced'", "discontinuedOutcome"
    ),
    "adoption_sources_pair_key": Refusal(ConflictError, "this adoption already learned from that source"),
    "adoption_sources_no_cycle": Refusal(ConflictError, "that learned-from link would make a cycle: {message}"),
    "adoption_sources_not_self": Refusal(InvalidInputError, "an adoption cannot learn from itself"),
    "adoption_sources_same_family": Refusal(
        InvalidInputError, "{message}; a source must be an adoption of the same innovation"
    ),
    "adoption_sources_source_started_first": Refusal(
        InvalidInputError, "{message}; a source must start on or before its learner"
    ),
    "adoption_sources_on_not_future": Refusal(InvalidInputError, "{message}"),
    # measures
    "measures_innovation_id_fkey": Refusal(InvalidInputError, "no innovation has that id", "innovationId"),
    "measures_code_format": Refusal(
        InvalidInputError, "code must be upper-case letters, digits and underscores", "code"
    ),
    # campaigns
    "campaigns_closed_read_only": Refusal(ConflictError, "the campaign is closed, and read-only"),
    "commitments_campaign_site_key": Refusal(
        ConflictError, "that site committed to this campaign at the same moment; GET it and retry"
    ),
    "campaigns_measure_code_fkey": Refusal(InvalidInputError, "no measure has that code", "aim.measureCode"),
    "campaign_innovations_innovation_id_fkey": Refusal(
        InvalidInputError, "an innovation in the list does not exist", "innovationIds"
    ),
    "campaigns_due_inside": Refusal(InvalidInputError, "aim.dueOn must lie between startsOn and endsOn", "aim.dueOn"),
    "campaigns_dates_order": Refusal(InvalidInputError, "aim.dueOn must lie between startsOn and endsOn", "aim.dueOn"),
    "campaigns_target_above_baseline": Refusal(
        InvalidInputError, "aim.target must be above aim.baseline", "aim.target"
    ),
    "commitments_agreed_before_due": Refusal(InvalidInputError, "agreedOn must be on or before dueOn", "agreedOn"),
}
# Every impediments_* check constraint is about the impediment's dates or status.
_PREFIXES = {
    "impediments_": Refusal(InvalidInputError, "the impediment's dates or status do not fit ({constraint})", "status"),
}


def refusal_for(exc: asyncpg.PostgresError, field: str | None = None) -> ProblemError | None:
    """The problem for a named constraint in the table (``field`` for entries without one), else None."""
    constraint = getattr(exc, "constraint_name", None) or ""
    refusal = CONSTRAINTS.get(constraint)
    if refusal is None:
        refusal = next((r for prefix, r in _PREFIXES.items() if constraint.startswith(prefix)), None)
    if refusal is None:
        return None
    detail = refusal.detail.format(message=getattr(exc, "message", str(exc)), constraint=constraint)
    where = refusal.field or field
    if refusal.kind is InvalidInputError:
        return InvalidInputError(detail, field=where)
    return refusal.kind(detail)
