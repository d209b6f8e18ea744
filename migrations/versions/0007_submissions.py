"""Bulk submissions: the stored answer of every batch, and idempotency keys.

``submissions`` records each written batch (who, mode, counts; in the change log) and
``submission_results`` keeps its answer for ``GET /v1/submissions/{id}``. The answer (a
result per row, up to 10,000) lives apart because the change-log trigger copies the whole row
twice even for hidden columns (measured at 180 ms for a 10,000-row answer), and the
adoptions, links and adaptations a batch wrote are logged on their own anyway; like stage
history, the results table is derived from a logged write and has no trigger of its own. ``submission_keys`` remembers an
``Idempotency-Key`` for 24 hours: the partner, the key, a hash of what was sent and the
submission it produced. It is a cache, not a record anyone reads, so it has no change
trigger; expired keys are ignored on read and deleted by later keyed submissions.

An atomic batch with a bad row writes nothing, so it leaves neither a submission nor a key.

The learned-from trigger (``spread_check_source``, 0002) is replaced by an equivalent that
prunes its cycle search. The original walks every ancestor of the new source looking for the
learner: measured at 84 s for the 13,392 links of the 10,000-row benchmark (each link walks
hundreds of ancestors), against well under a second pruned. The pruning changes no outcome:
the same trigger refuses a source that started after its learner before it looks for cycles,
and ``spread_check_start_moves`` keeps that true when dates move, so start dates never
increase going up a lineage. A path from the source up to the learner therefore passes only
through adoptions started on the learner's start date, and none exists at all when the source
started strictly earlier. Downgrade restores the 0002 body.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHECK_SOURCE_BODY = """
DECLARE
    learner  adoptions%ROWTYPE;
    src      adoptions%ROWTYPE;
BEGIN
    SELECT * INTO learner FROM adoptions WHERE id = NEW.adoption_id;
    SELECT * INTO src FROM adoptions WHERE id = NEW.source_adoption_id;
    IF learner.id IS NULL OR src.id IS NULL THEN
        RETURN NEW;  -- the foreign keys report it
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(learner.innovation_id::text, 42));
    %(family)s
    IF src.started_on > learner.started_on THEN
        RAISE EXCEPTION 'source % started on %, after the learner (%)', src.id, src.started_on, learner.started_on
            USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_source_started_first';
    END IF;
    IF NEW.learned_on IS NOT NULL AND NEW.learned_on > current_date THEN
        RAISE EXCEPTION 'learned-from date % is in the future', NEW.learned_on
            USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_on_not_future';
    END IF;
    %(cycle)s
    RETURN NEW;
END
"""

# 0002: the family look-up for every link.
FAMILY_0002 = """IF src.innovation_id NOT IN (SELECT id FROM spread_innovation_family_up(learner.innovation_id)) THEN
        RAISE EXCEPTION 'source % is an adoption of another innovation', src.id
            USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_same_family';
    END IF;"""

# 0007: a source of the same innovation (nearly every link) needs no family look-up, which as a
# set-returning SQL function is planned afresh on every call.
FAMILY_FAST = """IF src.innovation_id <> learner.innovation_id THEN
        IF src.innovation_id NOT IN (SELECT id FROM spread_innovation_family_up(learner.innovation_id)) THEN
            RAISE EXCEPTION 'source % is an adoption of another innovation', src.id
                USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_same_family';
        END IF;
    END IF;"""

# 0002: every ancestor of the source.
CYCLE_0002 = """IF EXISTS (
        WITH RECURSIVE up(id) AS (
            SELECT NEW.source_adoption_id
            UNION
            SELECT s.source_adoption_id FROM adoption_sources s JOIN up ON s.adoption_id = up.id)
        SELECT 1 FROM up WHERE id = NEW.adoption_id) THEN
        RAISE EXCEPTION 'learning from % would make a cycle', NEW.source_adoption_id
            USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_no_cycle';
    END IF;"""

# 0007: only ancestors started on the learner's start date (see the module docstring).
CYCLE_PRUNED = """IF src.started_on = learner.started_on AND EXISTS (
        WITH RECURSIVE up(id) AS (
            SELECT NEW.source_adoption_id
            UNION
            SELECT s.source_adoption_id FROM adoption_sources s JOIN up ON s.adoption_id = up.id
              JOIN adoptions a ON a.id = s.source_adoption_id AND a.started_on >= learner.started_on)
        SELECT 1 FROM up WHERE id = NEW.adoption_id) THEN
        RAISE EXCEPTION 'learning from % would make a cycle', NEW.source_adoption_id
            USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_no_cycle';
    END IF;"""


def _check_source(family: str, cycle: str) -> str:
    body = CHECK_SOURCE_BODY.replace("%(family)s", family).replace("%(cycle)s", cycle)
    return f"CREATE OR REPLACE FUNCTION spread_check_source() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$;"


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE submissions (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            partner_id  uuid NOT NULL REFERENCES partners (id),
            key_id      uuid REFERENCES api_keys (id),
            mode        text NOT NULL CHECK (mode IN ('atomic', 'partial')),
            row_count   integer NOT NULL CHECK (row_count BETWEEN 0 AND 10000),
            created     integer NOT NULL CHECK (created >= 0),
            updated     integer NOT NULL CHECK (updated >= 0),
            unchanged   integer NOT NULL CHECK (unchanged >= 0),
            rejected    integer NOT NULL CHECK (rejected >= 0),
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX submissions_partner_idx ON submissions (partner_id, created_at DESC);
        CREATE TRIGGER submissions_changes_insert AFTER INSERT ON submissions REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('submission', 'id');
        CREATE TRIGGER submissions_changes_update AFTER UPDATE ON submissions REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('submission', 'id');
        CREATE TRIGGER submissions_changes_delete AFTER DELETE ON submissions REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('submission', 'id');

        CREATE TABLE submission_results (
            submission_id  uuid PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
            result         jsonb NOT NULL
        );

        CREATE TABLE submission_keys (
            partner_id       uuid NOT NULL REFERENCES partners (id),
            idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            body_hash        bytea NOT NULL,
            -- Claimed first in the batch's transaction (so a concurrent retry with the same key
            -- waits for it), before the submission row exists.
            submission_id    uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE
                             DEFERRABLE INITIALLY DEFERRED,
            created_at       timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (partner_id, idempotency_key)
        );
        CREATE INDEX submission_keys_created_idx ON submission_keys (created_at);
        """
    )
    execute_script(_check_source(FAMILY_FAST, CYCLE_PRUNED))


def downgrade() -> None:
    execute_script(_check_source(FAMILY_0002, CYCLE_0002))
    execute_script(
        """
        DROP TABLE submission_keys;
        DROP TABLE submission_results;
        DROP TABLE submissions;
        """
    )
