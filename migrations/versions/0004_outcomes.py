"""Outcomes: measures, observations (one value per adoption, measure and period) and aims.

- ``measures``: outcome definitions addressed by ``code`` (``AE_4HR``), with the improvement
  direction SPC needs and the RE-AIM dimension they evidence.
- ``observations``: one value per (adoption, measure, period kind, period start). Writes are
  upserts on that key; a resubmission that changes a value updates the row, and the change
  trigger keeps the old value in ``changes.before``. Values are finite (no NaN or infinity),
  period starts are aligned to their period (first of the month, Monday, first of a quarter).
- ``aims``: for an adoption, a measure, baseline, target and due date, with an optional
  trajectory of interim targets (a JSON list of ``{periodStart, target}``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DIRECTIONS = "'increase', 'decrease', 'neutral'"
DIMENSIONS = "'reach', 'effectiveness', 'adoption', 'implementation', 'maintenance'"
NOT_FINITE = "'NaN'::float8, 'Infinity'::float8, '-Infinity'::float8"


def upgrade() -> None:
    execute_script(
        f"""
        CREATE TABLE measures (
            code                   text PRIMARY KEY,
            name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
            unit                   text NOT NULL DEFAULT '' CHECK (length(unit) <= 60),
            improvement_direction  text NOT NULL CHECK (improvement_direction IN ({DIRECTIONS})),
            reaim_dimension        text NOT NULL DEFAULT 'effectiveness' CHECK (reaim_dimension IN ({DIMENSIONS})),
            description            text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
            source                 text NOT NULL DEFAULT '' CHECK (length(source) <= 2000),
            innovation_id          uuid REFERENCES innovations (id),
            created_by_partner_id  uuid REFERENCES partners (id),
            created_at             timestamptz NOT NULL DEFAULT now(),
            updated_at             timestamptz NOT NULL DEFAULT now(),
            version                integer NOT NULL DEFAULT 1,
            CONSTRAINT measures_code_format CHECK (code ~ '^[A-Z][A-Z0-9_]{{1,39}}$')
        );
        CREATE INDEX measures_innovation_idx ON measures (innovation_id, code) WHERE innovation_id IS NOT NULL;
        CREATE INDEX measures_dimension_idx ON measures (reaim_dimension, code);
        CREATE INDEX measures_direction_idx ON measures (improvement_direction, code);
        CREATE TRIGGER measures_changes_insert AFTER INSERT ON measures REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('measure', 'code', 'created_by_partner_id');
        CREATE TRIGGER measures_changes_update AFTER UPDATE ON measures REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('measure', 'code', 'created_by_partner_id');
        CREATE TRIGGER measures_changes_delete AFTER DELETE ON measures REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('measure', 'code', 'created_by_partner_id');

        CREATE TABLE observations (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            adoption_id   uuid NOT NULL REFERENCES adoptions (id),
            measure_code  text NOT NULL REFERENCES measures (code),
            period        text NOT NULL CHECK (period IN ('week', 'month', 'quarter')),
            period_start  date NOT NULL,
            value         double precision NOT NULL CHECK (value NOT IN ({NOT_FINITE})),
            numerator     double precision CHECK (numerator NOT IN ({NOT_FINITE}) AND numerator >= 0),
            denominator   double precision CHECK (denominator NOT IN ({NOT_FINITE}) AND denominator > 0),
            partner_id    uuid REFERENCES partners (id),
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            version       integer NOT NULL DEFAULT 1,
            CONSTRAINT observations_period_key UNIQUE (adoption_id, measure_code, period, period_start),
            CONSTRAINT observations_period_aligned CHECK (
                CASE period
                    WHEN 'month' THEN extract(day FROM period_start) = 1
                    WHEN 'week' THEN extract(isodow FROM period_start) = 1
                    ELSE extract(day FROM period_start) = 1 AND extract(month FROM period_start) IN (1, 4, 7, 10)
                END)
        );
        -- The unique key serves "this adoption's series of this measure" in time order; the
        -- second index serves the insight scans ("every adoption's series of this measure").
        CREATE INDEX observations_adoption_time_idx ON observations (adoption_id, period_start, measure_code);
        CREATE INDEX observations_measure_idx ON observations (measure_code, adoption_id, period, period_start)
            INCLUDE (value);
        CREATE TRIGGER observations_changes_insert AFTER INSERT ON observations REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('observation', 'id');
        CREATE TRIGGER observations_changes_update AFTER UPDATE ON observations REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('observation', 'id');
        CREATE TRIGGER observations_changes_delete AFTER DELETE ON observations REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('observation', 'id');

        CREATE TABLE aims (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            adoption_id   uuid NOT NULL REFERENCES adoptions (id),
            measure_code  text NOT NULL REFERENCES measures (code),
            baseline      double precision NOT NULL CHECK (baseline NOT IN ({NOT_FINITE})),
            target        double precision NOT NULL CHECK (target NOT IN ({NOT_FINITE})),
            due_on        date NOT NULL,
            trajectory    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(trajectory) = 'array'),
            partner_id    uuid REFERENCES partners (id),
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            version       integer NOT NULL DEFAULT 1
        );
        CREATE INDEX aims_adoption_idx ON aims (adoption_id, measure_code, created_at, id);
        CREATE INDEX aims_measure_idx ON aims (measure_code, adoption_id);
        CREATE TRIGGER aims_changes_insert AFTER INSERT ON aims REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('aim', 'id');
        CREATE TRIGGER aims_changes_update AFTER UPDATE ON aims REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('aim', 'id');
        CREATE TRIGGER aims_changes_delete AFTER DELETE ON aims REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('aim', 'id');
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE aims;
        DROP TABLE observations;
        DROP TABLE measures;
        """
    )
