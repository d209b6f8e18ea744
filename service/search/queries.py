"""Search queries: one page of ``GET /v1/search``. Records never leave this module.

The SQL is in ``statements`` (the page statements, with the plans they rely on), ``words``
(typo correction, filter checks) and ``similar`` (similar innovations).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

import asyncpg
import msgspec

from service.search.schemas import Facets, SearchHit
from service.search.statements import (
    ESTIMATE,
    EXACT_CAP,
    SEARCH_MOST_ADOPTED,
    SEARCH_NEWEST,
    SEARCH_RELEVANCE,
)

STATEMENTS = {"relevance": SEARCH_RELEVANCE, "newest": SEARCH_NEWEST, "mostAdopted": SEARCH_MOST_ADOPTED}


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    """The search filters, as the statements take them (None: not filtered)."""

    types: tuple[str, ...]
    category: str | None = None
    theme: str | None = None
    evidence_level: str | None = None
    status: str | None = None
    region: str | None = None
    icb: str | None = None
    stage: str | None = None
    channel: str | None = None
    nature: str | None = None
    fidelity: str | None = None
    adopted_since: dt.date | None = None

    @property
    def adoption_filters(self) -> int:
        return sum(v is not None for v in (self.region, self.icb, self.stage, self.channel, self.adopted_since))

    def arguments(self, q: str | None) -> tuple[Any, ...]:
        """Statement parameters $1-$14."""
        return (
            q,
            list(self.types),
            self.category,
            self.theme,
            self.evidence_level,
            self.status,
            self.region,
            self.icb,
            self.stage,
            self.channel,
            self.nature,
            self.fidelity,
            self.adopted_since,
            self.adoption_filters >= 2,
        )


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page; ``matches`` is exact unless ``estimated`` (then the facets are scaled from a sample)."""

    matches: int
    estimated: bool
    facets: Facets
    items: list[SearchHit]
    keys: list[tuple[Any, str, str]]


def render_snippet(raw: str) -> str:
    """HTML-escape a headline, then turn its \\x02 / \\x03 markers into ``<mark>`` tags."""
    return html.escape(raw, quote=True).replace("\x02", "<mark>").replace("\x03", "</mark>")


def facets_from_groups(groups: list[list[Any]], scale: float = 1.0) -> Facets:
    """Facet counts from the grouping-set rows: [facet, type, category, evidence, regions, stages, n].

    ``scale`` (estimated total / sample size) turns sample counts into estimates for the whole
    result set; every value seen in the sample keeps a count of at least 1.
    """
    counts: dict[str, dict[str, int]] = {"type": {}, "category": {}, "evidenceLevel": {}, "region": {}, "stage": {}}
    for facet, doc_type, category, evidence_level, regions, stages, n in groups:
        if facet in ("region", "stage"):
            values = (regions if facet == "region" else stages) or []
        else:
            value = {"type": doc_type, "category": category, "evidenceLevel": evidence_level}[facet]
            values = [value] if value is not None else []
        bucket = counts[facet]
        for value in values:
            bucket[value] = bucket.get(value, 0) + n
    if scale != 1.0:
        counts = {f: {v: max(1, round(n * scale)) for v, n in bucket.items()} for f, bucket in counts.items()}
    return msgspec.convert(counts, Facets)


async def estimate(conn: asyncpg.Connection, args: tuple[Any, ...]) -> int:
    """The planner's estimate of the number of matches (statistics only, no rows read)."""
    plan = await conn.fetchval(ESTIMATE, *args)
    parsed = json.loads(plan) if isinstance(plan, str) else plan
    return int(parsed[0]["Plan"]["Plan Rows"])


async def search(
    conn: asyncpg.Connection,
    *,
    q: str | None,
    filters: Filters,
    sort: str,
    after: tuple[Any, str, str] | None,
    limit: int,
) -> Page:
    """One page (``limit + 1`` rows, so the caller can tell whether there is a next page)."""
    args = filters.arguments(q)
    row = await conn.fetchrow(
        STATEMENTS[sort],
        *args,
        *(after if after is not None else (None, None, None)),
        limit + 1,
    )
    assert row is not None  # an aggregate over the matches: always one row
    items = row["items"]
    for item in items:
        item["snippet"] = render_snippet(item["snippet"] or "")
        title_html = item.pop("titleHtml", None)
        if title_html is not None:
            item["titleHtml"] = render_snippet(title_html)
    matches: int = row["matches"]
    estimated = matches > EXACT_CAP
    scale = 1.0
    if estimated:
        # At least what the sample saw: the estimate never reports fewer than were counted.
        sample = EXACT_CAP
        matches = max(await estimate(conn, args), EXACT_CAP + 1)
        scale = matches / sample
    return Page(
        matches=matches,
        estimated=estimated,
        facets=facets_from_groups(row["facets"], scale),
        items=msgspec.convert(items, list[SearchHit]),
        keys=[(k[0], k[1], k[2]) for k in row["keys"]],
    )
