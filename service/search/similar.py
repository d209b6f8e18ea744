"""SQL for ``GET /v1/innovations/{id}/similar``: innovations like one, by title words, themes and category."""

from __future__ import annotations

import uuid

import asyncpg

from service.search.schemas import SimilarInnovation

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
