"""SQL for search. Records never leave this module.

Everything reads ``search_documents`` (migration 0003): one row per innovation, adaptation and
site with a weighted ``tsvector`` and the denormalised facts behind every filter, facet and
sort, kept current by triggers. One statement answers a page: it returns a single row with
the page's items (``json_agg``), the facets and the capped total.

Parameters shared by the search statements (every filter is ``($n IS NULL OR ...)``; the pool
sets ``plan_cache_mode=force_custom_plan``, so each execution is planned with its values and
the ``IS NULL`` arms fold away, and ``websearch_to_tsquery`` (immutable) folds to a constant
the planner can estimate from the column statistics):

    $1 q   $2 types   $3 category   $4 theme   $5 evidenceLevel   $6 status   $7 region   $8 icb
    $9 stage   $10 channel   $11 nature   $12 fidelity   $13 adoptedSince
    $14 true when two or more adoption filters (region, icb, stage, channel, adoptedSince) are
        combined: the arrays then only pre-filter and an EXISTS checks one adoption meets all
    $15-$17 cursor (sort value, type, key)   $18 page size + 1   $19 ranking candidate cap

Measured plans (bench/search.py --scale 0.1 --explain: 10k innovations, 30k adaptations, 636
sites, 100k adoptions; 2 cores, PostgreSQL 15). See README "Search" for the figures.

* ``matched`` (total and facets), common word "care"::

    Limit (rows=10001)
      -> Bitmap Heap Scan on search_documents d (rows=10001)
           Recheck Cond: (vector @@ '''care'''::tsquery)
           -> Bitmap Index Scan on search_documents_vector_idx (rows=10117; 30 ms, 1,972 heap pages)

  The bitmap is built for every match, but the heap is only read until 10,001 rows: the cap
  bounds the facet work, and is why ``total`` becomes a floor past 10,000.

* ``candidates`` for the same word: the planner walks the adoption-count index and filters,
  stopping at the cap, instead of ranking 241k rows::

    Limit (rows=500)
      -> Index Scan using search_documents_adopted_idx on search_documents d
           Filter: (vector @@ '''care'''::tsquery)

  (1.5 ms for 500 rows.) For a rare word ("telederm") it switches to Bitmap Index Scan on
  search_documents_vector_idx + top-N sort, and every match is ranked.

* A filtered query (``q=falls&category=education&region=Y62``) combines the text GIN with the
  array GIN (BitmapAnd of search_documents_vector_idx and search_documents_arrays_idx) and
  rechecks category on the heap.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Any

import asyncpg
import msgspec

from service.search.schemas import Facets, SearchHit, SimilarInnovation

# Only the most-adopted matches are ranked when a word is very common (ranking costs grow with
# the number of rows ranked: STYLE.md "Measured"); below the cap every match is ranked.
RANK_CANDIDATES = 500
# total and facets are exact up to TOTAL_CAP matches; past it they count the first matches.
MATCH_CAP = 10_001

_TSQ = "websearch_to_tsquery('english', $1::text)"

_ADOPTION_MATCHES = """
    ($7::text IS NULL OR s.region_code = $7)
    AND ($8::text IS NULL OR s.icb_code = $8)
    AND ($9::text IS NULL OR a.stage = $9)
    AND ($13::date IS NULL OR a.started_on >= $13)
    AND ($10::text IS NULL OR EXISTS (
        SELECT 1 FROM adoption_sources src WHERE src.adoption_id = a.id AND src.channel = $10))
"""

_FILTERS = f"""
    d.doc_type = ANY ($2::text[])
    AND ($1::text IS NULL OR d.vector @@ {_TSQ})
    AND ($3::text IS NULL OR d.category = $3)
    AND ($4::text IS NULL OR d.themes @> ARRAY[$4::text])
    AND ($5::text IS NULL OR d.evidence_level = $5)
    AND ($6::text IS NULL OR d.status = $6)
    AND ($7::text IS NULL OR d.regions @> ARRAY[$7::text])
    AND ($8::text IS NULL OR d.icbs @> ARRAY[$8::text])
    AND ($9::text IS NULL OR d.stages @> ARRAY[$9::text])
    AND ($10::text IS NULL OR d.channels @> ARRAY[$10::text])
    AND ($11::text IS NULL OR d.nature = $11)
    AND ($12::text IS NULL OR d.fidelity = $12)
    AND ($13::date IS NULL OR d.last_adopted_on >= $13)
    AND (NOT $14::bool
         OR d.doc_type = 'adaptation'
         OR (d.doc_type = 'innovation' AND EXISTS (
                SELECT 1 FROM adoptions a JOIN sites s ON s.code = a.site_code
                 WHERE a.innovation_id = d.innovation_id AND {_ADOPTION_MATCHES}))
         OR (d.doc_type = 'site' AND EXISTS (
                SELECT 1 FROM adoptions a JOIN sites s ON s.code = a.site_code
                 WHERE a.site_code = d.site_code AND {_ADOPTION_MATCHES})))
"""

# ts_rank weights {D, C, B, A}: title (A) > summary (B) > description and themes (C). Repeats
# add with diminishing returns, so a single title hit beats any number of description hits.
# Sustaining adoptions add a few per cent (log-damped): a tie-breaker, not a weight class.
_SCORE = (
    "(ts_rank('{{0.1, 0.2, 0.4, 1.0}}', {d}.vector, " + _TSQ + ") * (1 + 0.05 * ln(1 + {d}.sustaining_count)))::float8"
)

_MATCHED = f"""
matched AS MATERIALIZED (
    SELECT d.doc_type, d.category, d.evidence_level, d.regions, d.stages
    FROM search_documents d
    WHERE {_FILTERS}
    LIMIT {MATCH_CAP}
)"""

# One pass over the (first 10,000) matches: a grouping set per facet. Region and stage group whole
# arrays (few distinct combinations); the service adds each array's count to its members.
# Measured 5x cheaper than unnest() per row (a function scan per row).
_FACETS = f"""
(SELECT coalesce(json_agg(json_build_array(g.facet, g.doc_type, g.category, g.evidence_level, g.regions, g.stages, g.n)),
                 '[]')
 FROM (SELECT CASE GROUPING(m.doc_type, m.category, m.evidence_level, m.regions, m.stages)
                  WHEN 15 THEN 'type' WHEN 23 THEN 'category' WHEN 27 THEN 'evidenceLevel'
                  WHEN 29 THEN 'region' ELSE 'stage' END AS facet,
              m.doc_type, m.category, m.evidence_level, m.regions, m.stages, count(*) AS n
       FROM (SELECT * FROM matched LIMIT {MATCH_CAP - 1}) m
       GROUP BY GROUPING SETS ((m.doc_type), (m.category), (m.evidence_level), (m.regions), (m.stages))) g)"""


def facets_from_groups(groups: list[list[Any]]) -> Facets:
    """Facet counts from the grouping-set rows: [facet, type, category, evidence, regions, stages, n]."""
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
    return msgspec.convert(counts, Facets)


def _headline(text_sql: str) -> str:
    # Marker bytes \x02 / \x03 cannot come from the document (they are stripped first); the
    # service HTML-escapes the snippet and only then turns the markers into <mark> tags.
    clean = f"translate({text_sql}, E'\\x02\\x03', '')"
    return f"""CASE WHEN $1::text IS NULL THEN left({clean}, 240)
        ELSE ts_headline('english', {clean}, {_TSQ},
            E'StartSel="\\x02", StopSel="\\x03", MaxWords=35, MinWords=15, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "')
        END"""


def _items(score_sql: str, order_sql: str) -> str:
    return f"""
(SELECT coalesce(json_agg(
    CASE d.doc_type
    WHEN 'innovation' THEN json_build_object(
        'type', 'innovation', 'id', d.doc_key, 'title', i.title,
        'snippet', {_headline("concat_ws(' ', i.summary, i.description)")},
        'score', {score_sql}, 'category', i.category, 'evidenceLevel', i.evidence_level, 'status', i.status,
        'adoptionCount', d.adoption_count, 'sustainingCount', d.sustaining_count)
    WHEN 'adaptation' THEN json_build_object(
        'type', 'adaptation', 'id', d.doc_key, 'title', i.title || ' at ' || s.name,
        'snippet', {_headline("concat_ws(' ', ad.description, ad.outcome_notes)")},
        'score', {score_sql}, 'innovation', json_build_object('id', i.id, 'title', i.title),
        'site', json_build_object('code', s.code, 'name', s.name), 'nature', ad.nature,
        'fidelity', ad.fidelity, 'stage', d.stages[1])
    ELSE json_build_object(
        'type', 'site', 'id', d.doc_key, 'title', s.name,
        'snippet', {_headline("s.name")},
        'score', {score_sql}, 'kind', s.kind, 'regionCode', s.region_code, 'regionName', rg.name,
        'adoptionCount', d.adoption_count)
    END ORDER BY {order_sql}), '[]')
 FROM page p
 JOIN search_documents d ON d.doc_type = p.doc_type AND d.doc_key = p.doc_key
 LEFT JOIN innovations i ON i.id = d.innovation_id
 LEFT JOIN adaptations ad ON ad.id = d.adaptation_id
 LEFT JOIN sites s ON s.code = d.site_code
 LEFT JOIN sites rg ON rg.code = s.region_code)"""


def _statement(page_cte: str, score_sql: str, order_sql: str) -> str:
    return f"""
WITH {_MATCHED},
{page_cte}
SELECT (SELECT count(*) FROM matched) AS matches, {_FACETS} AS facets, {_items(score_sql, order_sql)} AS items,
       (SELECT coalesce(json_agg(json_build_array(p.sort_value, p.doc_type, p.doc_key) ORDER BY {order_sql}), '[]')
          FROM page p) AS keys
"""


# Relevance: rank the candidates (all matches, or the most-adopted RANK_CANDIDATES of a very
# common word), keyset on (score, type, key) descending.
SEARCH_RELEVANCE = _statement(
    f"""
candidates AS MATERIALIZED (
    SELECT d.doc_type, d.doc_key, d.vector, d.sustaining_count
    FROM search_documents d
    WHERE {_FILTERS}
    ORDER BY d.adoption_count DESC, d.doc_type DESC, d.doc_key DESC
    LIMIT $19
),
ranked AS (
    SELECT c.doc_type, c.doc_key, {_SCORE.format(d="c")} AS score FROM candidates c
),
page AS (
    SELECT r.doc_type, r.doc_key, r.score AS sort_value
    FROM ranked r
    WHERE ($16::text IS NULL OR (r.score, r.doc_type, r.doc_key) < ($15::float8, $16::text, $17::text))
    ORDER BY r.score DESC, r.doc_type DESC, r.doc_key DESC
    LIMIT $18
)""",
    "p.sort_value",
    "p.sort_value DESC, p.doc_type DESC, p.doc_key DESC",
)

SEARCH_NEWEST = _statement(
    f"""
page AS (
    SELECT d.doc_type, d.doc_key, d.created_at AS sort_value
    FROM search_documents d
    WHERE {_FILTERS}
      AND ($16::text IS NULL OR (d.created_at, d.doc_type, d.doc_key) < ($15::timestamptz, $16::text, $17::text))
    ORDER BY d.created_at DESC, d.doc_type DESC, d.doc_key DESC
    LIMIT $18
)""",
    _SCORE.format(d="d"),
    "p.sort_value DESC, p.doc_type DESC, p.doc_key DESC",
)

SEARCH_MOST_ADOPTED = _statement(
    f"""
page AS (
    SELECT d.doc_type, d.doc_key, d.adoption_count AS sort_value
    FROM search_documents d
    WHERE {_FILTERS}
      AND ($16::text IS NULL OR (d.adoption_count, d.doc_type, d.doc_key) < ($15::int, $16::text, $17::text))
    ORDER BY d.adoption_count DESC, d.doc_type DESC, d.doc_key DESC
    LIMIT $18
)""",
    _SCORE.format(d="d"),
    "p.sort_value DESC, p.doc_type DESC, p.doc_key DESC",
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


class Page(msgspec.Struct, frozen=True, kw_only=True):
    matches: int
    facets: Facets
    items: list[SearchHit]
    keys: list[tuple[Any, str, str]]


def render_snippet(raw: str) -> str:
    """HTML-escape a headline, then turn its \\x02 / \\x03 markers into ``<mark>`` tags."""
    return html.escape(raw, quote=True).replace("\x02", "<mark>").replace("\x03", "</mark>")


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
    row = await conn.fetchrow(
        STATEMENTS[sort],
        q,
        list(filters.types),
        filters.category,
        filters.theme,
        filters.evidence_level,
        filters.status,
        filters.region,
        filters.icb,
        filters.stage,
        filters.channel,
        filters.nature,
        filters.fidelity,
        filters.adopted_since,
        filters.adoption_filters >= 2,
        *(after if after is not None else (None, None, None)),
        limit + 1,
        *((RANK_CANDIDATES,) if sort == "relevance" else ()),
    )
    items = row["items"]
    for item in items:
        item["snippet"] = render_snippet(item["snippet"] or "")
    return Page(
        matches=row["matches"],
        facets=facets_from_groups(row["facets"]),
        items=msgspec.convert(items, list[SearchHit]),
        keys=[(k[0], k[1], k[2]) for k in row["keys"]],
    )


# Typo correction: a word is known when its lexeme is in the vocabulary (stop words count as
# known); an unknown word gets the five most similar surface words (pg_trgm, GIN, default
# threshold 0.3), and the caller keeps the first within a small edit distance.
CORRECTIONS = """
SELECT u.word, k.known,
       ARRAY(SELECT w.word FROM search_words w
              WHERE NOT k.known AND w.word % u.word
              ORDER BY similarity(w.word, u.word) DESC, w.word
              LIMIT 5) AS suggestions
FROM unnest($1::text[]) WITH ORDINALITY AS u(word, n)
CROSS JOIN LATERAL (SELECT (tsvector_to_array(to_tsvector('english', u.word)))[1] AS lexeme) l
CROSS JOIN LATERAL (
    SELECT l.lexeme IS NULL OR EXISTS (SELECT 1 FROM search_words w WHERE w.lexeme = l.lexeme) AS known) k
ORDER BY u.n
"""


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: Levenshtein plus adjacent transpositions ("frialty")."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _close_enough(word: str, suggestion: str) -> bool:
    # One edit per four letters (at least one): "vitual"->"virtual", "frialty"->"frailty" pass;
    # "drop"->"drove", "table"->"dunstable" do not.
    return edit_distance(word, suggestion) <= max(1, len(word) // 4)


async def corrections(conn: asyncpg.Connection, words: list[str]) -> dict[str, str]:
    """Unknown word -> the registry word it most likely meant (words with no likely match are left out)."""
    rows = await conn.fetch(CORRECTIONS, words)
    fixes: dict[str, str] = {}
    for r in rows:
        if r["known"]:
            continue
        for suggestion in r["suggestions"]:
            if _close_enough(r["word"], suggestion):
                fixes[r["word"]] = suggestion
                break
    return fixes


CHECK_FILTERS = """
SELECT (SELECT kind FROM sites WHERE code = $1) AS region_kind,
       (SELECT kind FROM sites WHERE code = $2) AS icb_kind,
       (SELECT region_code FROM sites WHERE code = $2) AS icb_region,
       ($3::text IS NULL OR EXISTS (SELECT 1 FROM innovations WHERE themes @> ARRAY[$3::text])) AS theme_known
"""


class FilterCheck(msgspec.Struct, frozen=True):
    region_kind: str | None
    icb_kind: str | None
    icb_region: str | None
    theme_known: bool


async def check_filters(
    conn: asyncpg.Connection, region: str | None, icb: str | None, theme: str | None
) -> FilterCheck:
    row = await conn.fetchrow(CHECK_FILTERS, region, icb, theme)
    return FilterCheck(row["region_kind"], row["icb_kind"], row["icb_region"], row["theme_known"])


# Similar innovations, in two statements so the second is planned with the real tsquery. The
# text part is built from the innovation's own title lexemes (the A-weighted part of its
# vector), any two of them together, so one common word alone does not make a candidate.
# Lexemes are limited to [a-z0-9], so quote_literal is all the quoting they need.
SIMILAR_TERMS = """
WITH me AS (
    SELECT d.vector, d.themes FROM search_documents d
    WHERE d.doc_type = 'innovation' AND d.innovation_id = $1
),
t AS (
    SELECT u.lexeme FROM me, unnest(ts_filter(me.vector, '{a}')) AS u(lexeme, positions, weights)
    WHERE u.lexeme ~ '^[a-z0-9]+$'
    ORDER BY u.positions[1], u.lexeme
    LIMIT 8
)
SELECT me.themes,
       coalesce((SELECT string_agg(format('(%s & %s)', quote_literal(x.lexeme), quote_literal(y.lexeme)), ' | ')
                   FROM t x JOIN t y ON x.lexeme < y.lexeme),
                (SELECT quote_literal(min(t.lexeme)) FROM t)) AS terms
FROM me
"""

# Score: text likeness (ts_rank of the title pairs), + 0.5 x theme overlap (Jaccard), + 0.2 for
# the same category. Candidates are capped: similarity is a suggestion list, not an index.
SIMILAR = """
WITH me AS (
    SELECT d.category FROM search_documents d WHERE d.doc_type = 'innovation' AND d.innovation_id = $1
),
candidates AS (
    SELECT d.innovation_id, d.vector, d.category, d.themes, d.adoption_count
    FROM search_documents d
    WHERE d.doc_type = 'innovation' AND d.innovation_id <> $1
      AND (d.vector @@ $2::tsquery OR d.themes && $3::text[])
    LIMIT 2000
),
scored AS (
    SELECT c.innovation_id, c.adoption_count, sh.shared,
           (coalesce(ts_rank('{0.1, 0.2, 0.4, 1.0}', c.vector, $2::tsquery), 0)
            + 0.5 * cardinality(sh.shared)::float8
                  / greatest(cardinality(c.themes) + cardinality($3::text[]) - cardinality(sh.shared), 1)
            + CASE WHEN c.category = me.category THEN 0.2 ELSE 0 END)::float8 AS score
    FROM candidates c
    CROSS JOIN me
    CROSS JOIN LATERAL (
        SELECT ARRAY(SELECT DISTINCT t FROM unnest(c.themes) AS t WHERE t = ANY ($3::text[]) ORDER BY t) AS shared) sh
)
SELECT s.innovation_id AS id, i.title, i.category, i.evidence_level, s.adoption_count, s.shared AS shared_themes,
       s.score
FROM scored s JOIN innovations i ON i.id = s.innovation_id
ORDER BY s.score DESC, s.adoption_count DESC, s.innovation_id
LIMIT $4
"""


async def similar_innovations(
    conn: asyncpg.Connection, innovation_id: uuid.UUID, limit: int
) -> list[SimilarInnovation] | None:
    """The innovations most like this one; None when it does not exist."""
    me = await conn.fetchrow(SIMILAR_TERMS, innovation_id)
    if me is None:
        return None
    rows = await conn.fetch(SIMILAR, innovation_id, me["terms"], me["themes"], limit)
    return [
        SimilarInnovation(
            id=r["id"],
            title=r["title"],
            category=r["category"],
            evidence_level=r["evidence_level"],
            adoption_count=r["adoption_count"],
            shared_themes=list(r["shared_themes"]),
            score=r["score"],
        )
        for r in rows
    ]
