"""SQL for ``GET /v1/search``: the page statements (``queries.search`` runs them).

Everything reads ``search_documents`` (migration 0003): one row per innovation, adaptation and
site with a weighted ``tsvector`` and the denormalised facts behind every filter, facet and
sort, kept current by triggers. One statement answers a page: it returns a single row with
the page's items (``json_agg``), the facets and the total of a capped sample of the matches
(``EXACT_CAP``); past the cap ``ESTIMATE`` asks the planner for the number of matches.

Parameters shared by the search statements (every filter is ``($n IS NULL OR ...)``; the pool
sets ``plan_cache_mode=force_custom_plan``, so each execution is planned with its values and
the ``IS NULL`` arms fold away, and ``websearch_to_tsquery`` (immutable) folds to a constant
the planner can estimate from the column statistics):

    $1 q   $2 types   $3 category   $4 theme   $5 evidenceLevel   $6 status   $7 region   $8 icb
    $9 stage   $10 channel   $11 nature   $12 fidelity   $13 adoptedSince
    $14 true when two or more adoption filters (region, icb, stage, channel, adoptedSince) are
        combined: the arrays then only pre-filter and an EXISTS checks one adoption meets all
    $15-$17 cursor (sort value, type, key)   $18 page size + 1

Measured plans (bench/search.py --explain at full scale: 100k innovations, 300k adaptations,
636 sites, 1M adoptions; 2 cores shared with other work, load average 6-7, PostgreSQL 15).

* ``matched`` (sample, total, facets and, for relevance, the ranked rows) for a common word,
  "care" (100k matches): a sequential scan that stops at the cap, 8 ms::

    Limit (rows=1001) -> Seq Scan on search_documents d (rows=1001)

  Before, ``matched`` read up to 10,001 rows for an exact total (and the candidates were a
  second scan): 500+ ms p95.

* A filtered query (``q=falls&category=education&region=Y62``, 2,907 matches): one scan of
  the multi-column GIN index (migration 0013) intersects word, category and region, 16 ms;
  the heap is read only for the first 1,001::

    Limit (rows=1001)
      -> Bitmap Heap Scan on search_documents d (rows=1001)
           -> Bitmap Index Scan on search_documents_filters_idx (rows=2907)
                Index Cond: vector @@ 'fall' AND category = 'education' AND regions @> '{Y62}'

  With two indexes (text; arrays) and the category btree it was a BitmapAnd of 40k, 100k and
  116k-row bitmaps, 40-80 ms, done twice (``matched`` and the ranking candidates).

* Rare word ("telederm", 100 matches): the same index scan, every match ranked; most of the
  time is reading 100 rows and the page's 21 records from disk when they are not cached.

* Ordering the sample by adoption count instead (most-adopted first, as the ranking candidates
  were chosen before) doubled the statement for medium result sets (filtered 64 vs 35 ms,
  "virtual wards" 76 vs 30 ms p50): it must read and sort every match.
"""

from __future__ import annotations

# total and facets are exact up to EXACT_CAP matches. Past it, the facets are counted over the
# first EXACT_CAP matches (a sample) and the total is the planner's estimate (ESTIMATE).
EXACT_CAP = 1_000

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
    LIMIT {EXACT_CAP + 1}
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
       FROM (SELECT * FROM matched LIMIT {EXACT_CAP}) m
       GROUP BY GROUPING SETS ((m.doc_type), (m.category), (m.evidence_level), (m.regions), (m.stages))) g)"""


def _headline(text_sql: str) -> str:
    # Marker bytes \x02 / \x03 cannot come from the document (they are stripped first); the
    # service HTML-escapes the snippet and only then turns the markers into <mark> tags.
    clean = f"translate({text_sql}, E'\\x02\\x03', '')"
    return f"""CASE WHEN $1::text IS NULL THEN left({clean}, 240)
        ELSE ts_headline('english', {clean}, {_TSQ},
            E'StartSel="\\x02", StopSel="\\x03", MaxWords=35, MinWords=15, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "')
        END"""


def _title_html(text_sql: str) -> str:
    # The whole title with every matched word between the markers (null without q).
    clean = f"translate({text_sql}, E'\\x02\\x03', '')"
    return f"""CASE WHEN $1::text IS NOT NULL THEN
        ts_headline('english', {clean}, {_TSQ}, E'StartSel="\\x02", StopSel="\\x03", HighlightAll=true')
        END"""


def _items(score_sql: str, order_sql: str) -> str:
    return f"""
(SELECT coalesce(json_agg(
    CASE p.doc_type
    WHEN 'innovation' THEN json_build_object(
        'type', 'innovation', 'id', p.doc_key, 'title', i.title, 'titleHtml', {_title_html("i.title")},
        'snippet', {_headline("concat_ws(' ', i.summary, i.description)")},
        'score', {score_sql}, 'category', i.category, 'evidenceLevel', i.evidence_level, 'status', i.status,
        'adoptionCount', p.adoption_count, 'sustainingCount', p.sustaining_count)
    WHEN 'adaptation' THEN json_build_object(
        'type', 'adaptation', 'id', p.doc_key, 'title', i.title || ' at ' || s.name,
        'titleHtml', {_title_html("i.title || ' at ' || s.name")},
        'snippet', {_headline("concat_ws(' ', ad.description, ad.outcome_notes)")},
        'score', {score_sql}, 'innovation', json_build_object('id', i.id, 'title', i.title),
        'site', json_build_object('code', s.code, 'name', s.name), 'nature', ad.nature,
        'fidelity', ad.fidelity, 'stage', p.stages[1])
    ELSE json_build_object(
        'type', 'site', 'id', p.doc_key, 'title', s.name, 'titleHtml', {_title_html("s.name")},
        'snippet', {_headline("s.name")},
        'score', {score_sql}, 'kind', s.kind, 'regionCode', s.region_code, 'regionName', rg.name,
        'adoptionCount', p.adoption_count)
    END ORDER BY {order_sql}), '[]')
 FROM page p
 LEFT JOIN innovations i ON i.id = p.innovation_id
 LEFT JOIN adaptations ad ON ad.id = p.adaptation_id
 LEFT JOIN sites s ON s.code = p.site_code
 LEFT JOIN sites rg ON rg.code = s.region_code)"""


# What the page's items need from their documents, carried by the page so the documents are
# not fetched again by key.
_PAGE_DOC = "d.innovation_id, d.adaptation_id, d.site_code, d.adoption_count, d.sustaining_count, d.stages, d.vector"


def _statement(page_cte: str, score_sql: str, order_sql: str, matched: str = _MATCHED) -> str:
    return f"""
WITH {matched},
{page_cte}
SELECT (SELECT count(*) FROM matched) AS matches, {_FACETS} AS facets, {_items(score_sql, order_sql)} AS items,
       (SELECT coalesce(json_agg(json_build_array(p.sort_value, p.doc_type, p.doc_key) ORDER BY {order_sql}), '[]')
          FROM page p) AS keys
"""


# Relevance: one scan takes the first EXACT_CAP + 1 matches it finds (an unordered sample: for a
# common word a sequential or index scan that stops early, otherwise one GIN bitmap), with what
# ranking needs. The same rows give the total and the facets, and all of them are ranked, so
# every match is ranked when at most EXACT_CAP match; keyset on (score, type, key) descending.
_MATCHED_RANKED = f"""
matched AS MATERIALIZED (
    SELECT d.doc_type, d.doc_key, d.category, d.evidence_level, d.regions, d.stages, d.vector, d.sustaining_count,
           d.innovation_id, d.adaptation_id, d.site_code, d.adoption_count
    FROM search_documents d
    WHERE {_FILTERS}
    LIMIT {EXACT_CAP + 1}
)"""

SEARCH_RELEVANCE = _statement(
    """
ranked AS (
    SELECT m.doc_type, m.doc_key, m.innovation_id, m.adaptation_id, m.site_code, m.adoption_count,
           m.sustaining_count, m.stages, """
    + _SCORE.format(d="m")
    + """ AS score FROM matched m
),
page AS (
    SELECT r.doc_type, r.doc_key, r.innovation_id, r.adaptation_id, r.site_code, r.adoption_count,
           r.sustaining_count, r.stages, r.score AS sort_value
    FROM ranked r
    WHERE ($16::text IS NULL OR (r.score, r.doc_type, r.doc_key) < ($15::float8, $16::text, $17::text))
    ORDER BY r.score DESC, r.doc_type DESC, r.doc_key DESC
    LIMIT $18
)""",
    "p.sort_value",
    "p.sort_value DESC, p.doc_type DESC, p.doc_key DESC",
    matched=_MATCHED_RANKED,
)

SEARCH_NEWEST = _statement(
    f"""
page AS (
    SELECT d.doc_type, d.doc_key, {_PAGE_DOC}, d.created_at AS sort_value
    FROM search_documents d
    WHERE {_FILTERS}
      AND ($16::text IS NULL OR (d.created_at, d.doc_type, d.doc_key) < ($15::timestamptz, $16::text, $17::text))
    ORDER BY d.created_at DESC, d.doc_type DESC, d.doc_key DESC
    LIMIT $18
)""",
    _SCORE.format(d="p"),
    "p.sort_value DESC, p.doc_type DESC, p.doc_key DESC",
)

SEARCH_MOST_ADOPTED = _statement(
    f"""
page AS (
    SELECT d.doc_type, d.doc_key, {_PAGE_DOC}, d.adoption_count AS sort_value
    FROM search_documents d
    WHERE {_FILTERS}
      AND ($16::text IS NULL OR (d.adoption_count, d.doc_type, d.doc_key) < ($15::int, $16::text, $17::text))
    ORDER BY d.adoption_count DESC, d.doc_type DESC, d.doc_key DESC
    LIMIT $18
)""",
    _SCORE.format(d="p"),
    "p.sort_value DESC, p.doc_type DESC, p.doc_key DESC",
)

STATEMENTS = {"relevance": SEARCH_RELEVANCE, "newest": SEARCH_NEWEST, "mostAdopted": SEARCH_MOST_ADOPTED}

# The planner's row estimate for the filters ($1-$14 as above), run as EXPLAIN (FORMAT JSON)
# when more than EXACT_CAP match: no row is read.
ESTIMATE = f"""EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents d WHERE {_FILTERS}"""
