"""The rules of campaign writes, as pure functions over fetched facts (one wording each).

The services fetch the facts inside the write transaction (:mod:`service.campaigns.service`,
:mod:`service.campaigns.commitment_service`), run these, then write.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.auth.schemas import Principal
from service.campaigns.commitment_queries import ImpedimentFacts
from service.campaigns.queries import CampaignFacts
from service.campaigns.schemas import Milestone
from service.errors import ConflictError, FieldError, ForbiddenError, InvalidInputError

MAX_SPAN_DAYS = 3653  # ten years: keeps a weekly series under 530 points
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInputError("; ".join(f"{e.field}: {e.detail}" for e in errors), errors=errors)


def check_milestones(
    milestones: list[Milestone],
    *,
    after: dt.date,
    before: dt.date,
    target: float,
    floor: float,
    prefix: str,
    what: str,
) -> list[FieldError]:
    """Milestones lie strictly between ``after`` and ``before``, in date order, one per date,
    with targets above ``floor``, never falling, and at most ``target``."""
    errors: list[FieldError] = []
    previous: Milestone | None = None
    for i, m in enumerate(milestones):
        at = f"{prefix}[{i}]"
        if not after < m.on < before:
            errors.append(
                FieldError(
                    field=f"{at}.on",
                    detail=f"{m.on} is outside {what}: a milestone falls after {after} and before {before}",
                )
            )
        if previous is not None and m.on <= previous.on:
            errors.append(
                FieldError(field=f"{at}.on", detail=f"{m.on} is not after the previous milestone ({previous.on})")
            )
        if m.target > target:
            errors.append(FieldError(field=f"{at}.target", detail=f"{m.target:g} is above the target ({target:g})"))
        if m.target <= floor:
            errors.append(FieldError(field=f"{at}.target", detail=f"{m.target:g} must be above {floor:g}"))
        if previous is not None and m.target < previous.target:
            errors.append(
                FieldError(
                    field=f"{at}.target",
                    detail=f"{m.target:g} is below the previous milestone ({previous.target:g}); the value is cumulative",
                )
            )
        previous = m
    return errors


def milestones_json(milestones: list[Milestone]) -> list[dict[str, Any]]:
    return [{"on": m.on.isoformat(), "target": m.target} for m in milestones]


def is_lead_or_admin(principal: Principal, meta: CampaignFacts) -> bool:
    return principal.is_admin or meta.lead_partner_id == principal.partner_id


def check_lead_change(principal: Principal, current: uuid.UUID, proposed: uuid.UUID) -> None:
    """The lead decides who apportions the aim, so only an admin names or changes it."""
    if proposed != current and not principal.is_admin:
        raise ForbiddenError("only an administrator may change a campaign's lead partner; leave leadPartner out")


def require_open(meta: CampaignFacts) -> None:
    if meta.status == "closed":
        raise ConflictError(
            f"campaign {meta.id} is closed, and read-only; an administrator may reopen it "
            '(PATCH {"status": "active"})'
        )


def impediment_dates(current: ImpedimentFacts, changes: dict[str, Any]) -> list[FieldError]:
    """Date the status moves, clear dates a reopening undoes, and check the order of dates."""
    today = dt.date.today()
    status = changes.get("status", current.status)
    if "status" in changes and changes["status"] != current.status:
        if status == "support_offered" and "support_offered_on" not in changes:
            changes["support_offered_on"] = current.support_offered_on or today
        if status == "resolved" and "resolved_on" not in changes:
            changes["resolved_on"] = today
        if status != "resolved":
            changes.setdefault("resolved_on", None)
    errors: list[FieldError] = []
    resolved_on = changes.get("resolved_on", current.resolved_on)
    offered_on = changes.get("support_offered_on", current.support_offered_on)
    if status == "resolved" and resolved_on is None:
        errors.append(FieldError(field="resolvedOn", detail="a resolved impediment needs resolvedOn"))
    if status != "resolved" and resolved_on is not None:
        errors.append(
            FieldError(field="resolvedOn", detail=f"only a resolved impediment has resolvedOn (status is {status})")
        )
    for field, value in (("supportOfferedOn", offered_on), ("resolvedOn", resolved_on)):
        if value is not None and value < current.raised_on:
            errors.append(
                FieldError(field=field, detail=f"{value} is before the impediment was raised ({current.raised_on})")
            )
        if value is not None and value > today:
            errors.append(FieldError(field=field, detail=f"{value} is in the future"))
    return errors
