"""The shape of a demo innovation: what it is, its components, its adaptations, its spread."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from service.vocab import Category, EvidenceLevel


class DemoAdaptation(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    phase: str
    what_modified: str
    planning: str
    decided_by: list[str]
    level: str
    fidelity: str
    goals: list[str]
    reasons: list[str]
    nature: str | None = None
    context_changes: list[str] = []
    keys: list[str] = []
    outcome_notes: str = ""


class DemoInnovation(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    title: str
    summary: str
    description: str
    category: Category
    care_settings: list[str]
    themes: list[str]
    evidence_level: EvidenceLevel
    origin_site: str | None  # None: chosen from the parent's adopters (derived innovations)
    originated_on: dt.date | None
    components: list[tuple[str, str, str]]
    adaptations: list[DemoAdaptation]
    discontinue_reasons: list[str]
    adoptions: int
    pool: str  # "acute" trusts, any English "trust", or "icb"
    links: list[tuple[str, str]] = []
    derived_from: str | None = None


def adaptation(
    description: str, phase: str, what: str, planning: str, decided: str, level: str, fidelity: str, **kw: Any
) -> DemoAdaptation:
    return DemoAdaptation(
        description=description,
        phase=phase,
        what_modified=what,
        planning=planning,
        decided_by=decided.split(","),
        level=level,
        fidelity=fidelity,
        goals=kw.pop("goals").split(","),
        reasons=kw.pop("reasons").split(","),
        **kw,
    )
