"""SQL for the words of a query: typo correction over the vocabulary, and the filter checks."""

from __future__ import annotations

import asyncpg
import msgspec

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
    assert row is not None  # one row of scalar look-ups, always
    return FilterCheck(row["region_kind"], row["icb_kind"], row["icb_region"], row["theme_known"])
