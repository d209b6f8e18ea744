"""Sustainment reviews and structured de-adoption.

``adoption_reviews``: one row per sustainment review of an adoption (date, still in use, the ten
NHS Sustainability Model factors as the chosen level 1-4 each, notes), change-logged as
``adoption_review``. ``adoptions`` gains the structured de-adoption fields: why (the published
de-implementation criteria), what happened (removed / replaced / reduced / restricted) and, when
replaced, the innovation and the adoption of it at the same site that took its place. The
existing ``discontinued_reason`` text stays as the free text; a discontinued adoption needs
either it or a criterion.

Revision ID: 0017
Revises: 0010 (the lead re-chains)
Create Date: 2026-12-06
"""

from migrations._sql import execute_script

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

FACTORS = (
    "benefits_beyond_patients",
    "credibility_of_benefits",
    "adaptability",
    "monitoring_progress",
    "staff_involvement",
    "staff_behaviours",
    "senior_leadership",
    "clinical_leadership",
    "fit_with_aims",
    "infrastructure",
)
NASSS_DOMAINS = (
    "condition",
    "technology",
    "value_proposition",
    "adopter_system",
    "organisation",
    "wider_context",
    "embedding_over_time",
)
_NASSS_COLUMNS = ",\n".join(
    f"    {d} text NOT NULL CHECK ({d} IN ('simple', 'complicated', 'complex'))" for d in NASSS_DOMAINS
)
_FACTOR_COLUMNS = ",\n".join(f"    {f} smallint NOT NULL CHECK ({f} BETWEEN 1 AND 4)" for f in FACTORS)


# The event a change becomes (0005), with `review.overdue` for a noticed overdue review.
REVIEW_OVERDUE_EVENT = "CASE WHEN p_entity = 'review_overdue' AND p_action = 'create' THEN 'review.overdue' END,"


def _event_type_function(extra: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION spread_webhook_event_type(patterns text[], p_entity text, p_action text, p_before jsonb, p_after jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u.t
    FROM unnest(ARRAY[
        CASE WHEN p_entity = 'adoption' AND p_action = 'update'
                  AND (p_before -> 'stage') IS DISTINCT FROM (p_after -> 'stage')
             THEN 'adoption.stage_changed' END,
        {extra}
        p_entity || '.' || CASE p_action WHEN 'create' THEN 'created' WHEN 'update' THEN 'updated' ELSE 'deleted' END
    ]) WITH ORDINALITY AS u(t, n)
    WHERE p_entity <> 'webhook'
      AND u.t IS NOT NULL
      AND (u.t = ANY (patterns) OR p_entity || '.*' = ANY (patterns) OR '*' = ANY (patterns))
    ORDER BY u.n
    LIMIT 1
$$;
"""


def upgrade() -> None:
    execute_script(
        f"""
CREATE TABLE adoption_reviews (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    adoption_id  uuid NOT NULL REFERENCES adoptions (id),
    reviewed_on  date NOT NULL,
    still_in_use text NOT NULL CHECK (still_in_use IN ('yes', 'partly', 'no')),
{_FACTOR_COLUMNS},
    notes        text NOT NULL DEFAULT '',
    partner_id   uuid REFERENCES partners (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1
);
CREATE INDEX adoption_reviews_adoption_idx ON adoption_reviews (adoption_id, reviewed_on, id);
CREATE TRIGGER adoption_reviews_changes_insert AFTER INSERT ON adoption_reviews REFERENCING NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption_review', 'id');
CREATE TRIGGER adoption_reviews_changes_update AFTER UPDATE ON adoption_reviews
    REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption_review', 'id');
CREATE TRIGGER adoption_reviews_changes_delete AFTER DELETE ON adoption_reviews REFERENCING OLD TABLE AS spread_old
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption_review', 'id');

ALTER TABLE adoptions
    ADD COLUMN discontinued_criterion text CHECK (discontinued_criterion IN (
        'not_effective_or_harmful', 'not_most_effective_or_efficient', 'no_longer_necessary',
        'not_feasible_to_sustain')),
    ADD COLUMN discontinued_outcome text CHECK (discontinued_outcome IN ('removed', 'replaced', 'reduced', 'restricted')),
    ADD COLUMN replaced_by_innovation_id uuid REFERENCES innovations (id),
    ADD COLUMN replaced_by_adoption_id uuid REFERENCES adoptions (id),
    ADD CONSTRAINT adoptions_replaced_by_needs_replaced
        CHECK (replaced_by_innovation_id IS NULL OR discontinued_outcome = 'replaced'),
    ADD CONSTRAINT adoptions_replaced_by_other
        CHECK (replaced_by_innovation_id IS DISTINCT FROM innovation_id),
    DROP CONSTRAINT adoptions_discontinued_reason,
    ADD CONSTRAINT adoptions_discontinued_reason
        CHECK (stage <> 'discontinued' OR length(discontinued_reason) > 0 OR discontinued_criterion IS NOT NULL);
CREATE INDEX adoptions_replaced_by_idx ON adoptions (replaced_by_innovation_id)
    WHERE replaced_by_innovation_id IS NOT NULL;

-- A review milestone that passed its due date unmet, noticed once (service/reviews/overdue.py):
-- its insert is the change the webhook event `review.overdue` comes from.
CREATE TABLE review_overdue (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    adoption_id  uuid NOT NULL REFERENCES adoptions (id),
    months       smallint NOT NULL CHECK (months IN (6, 12, 24)),
    due_on       date NOT NULL,
    noticed_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_overdue_once UNIQUE (adoption_id, months)
);
CREATE TRIGGER review_overdue_changes_insert AFTER INSERT ON review_overdue REFERENCING NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('review_overdue', 'id');
CREATE TRIGGER review_overdue_changes_update AFTER UPDATE ON review_overdue
    REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('review_overdue', 'id');
CREATE TRIGGER review_overdue_changes_delete AFTER DELETE ON review_overdue REFERENCING OLD TABLE AS spread_old
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('review_overdue', 'id');

-- NASSS complexity assessments (Greenhalgh et al., 2017): the seven domains, each simple,
-- complicated or complex; `phase` is where the adoption stood when assessed.
CREATE TABLE complexity_assessments (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    adoption_id  uuid NOT NULL REFERENCES adoptions (id),
    assessed_on  date NOT NULL,
    phase        text NOT NULL CHECK (phase IN ('adoption', 'sustainment', 'abandonment')),
{_NASSS_COLUMNS},
    notes        text NOT NULL DEFAULT '',
    partner_id   uuid REFERENCES partners (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1
);
CREATE INDEX complexity_assessments_adoption_idx ON complexity_assessments (adoption_id, assessed_on, id);
CREATE TRIGGER complexity_assessments_changes_insert AFTER INSERT ON complexity_assessments
    REFERENCING NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('complexity_assessment', 'id');
CREATE TRIGGER complexity_assessments_changes_update AFTER UPDATE ON complexity_assessments
    REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('complexity_assessment', 'id');
CREATE TRIGGER complexity_assessments_changes_delete AFTER DELETE ON complexity_assessments
    REFERENCING OLD TABLE AS spread_old
    FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('complexity_assessment', 'id');
"""
        + _event_type_function(REVIEW_OVERDUE_EVENT)
    )


def downgrade() -> None:
    execute_script(
        _event_type_function("")
        + """
DROP TABLE complexity_assessments;
DROP TABLE review_overdue;
DROP TABLE adoption_reviews;
UPDATE adoptions SET discontinued_reason = discontinued_criterion
 WHERE stage = 'discontinued' AND coalesce(length(discontinued_reason), 0) = 0;
DROP INDEX adoptions_replaced_by_idx;
ALTER TABLE adoptions
    DROP CONSTRAINT adoptions_discontinued_reason,
    DROP CONSTRAINT adoptions_replaced_by_needs_replaced,
    DROP CONSTRAINT adoptions_replaced_by_other,
    DROP COLUMN discontinued_criterion,
    DROP COLUMN discontinued_outcome,
    DROP COLUMN replaced_by_innovation_id,
    DROP COLUMN replaced_by_adoption_id,
    ADD CONSTRAINT adoptions_discontinued_reason
        CHECK (stage <> 'discontinued' OR length(discontinued_reason) > 0);
"""
    )
