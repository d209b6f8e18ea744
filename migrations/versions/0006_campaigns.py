"""Campaigns: time-bound aims apportioned between sites, impediments and breakthroughs.

- ``campaigns``: the aim on one measure (``measure_code`` -> ``measures.code``, 0004), its
  baseline, target, due date and interim ``milestones`` (jsonb ``[{"on", "target"}]``).
  ``innovation_ids`` mirrors ``campaign_innovations`` (kept equal by a trigger), so the
  change log shows a campaign's innovations changing as an update of the campaign.
- ``campaign_innovations``: what a campaign spreads (foreign keys, indexed by innovation). It
  has no change trigger of its own: every change to it reaches the log as a campaign update.
- ``commitments``: a site's (or an ICB's, a region's) share of the aim, one per campaign and
  site; observations count from ``agreed_on``.
- ``impediments``: what a site says holds it back, and the support offered.
- ``breakthroughs``: ideas worth spreading, full-text searchable (a generated weighted
  ``tsvector``, GIN-indexed, kept out of the change log).

A closed campaign is read-only: a trigger refuses writes to its commitments, impediments and
breakthroughs (constraint ``campaigns_closed_read_only``), whatever the path. The campaign row
itself, and so its innovations, is guarded by the service (an admin may reopen a campaign, and
a campaign may be closed in the same request that last changes its innovations).

``spread_trajectory_expected`` gives the value a trajectory expects on a date: the straight
lines from the baseline at the start through each milestone to the target at the due date
(the baseline before the start, the target after the due date).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE FUNCTION spread_trajectory_expected(
            p_start date, p_baseline float8, p_due date, p_target float8, p_milestones jsonb, p_on date)
        RETURNS float8 LANGUAGE sql STABLE PARALLEL SAFE AS $$
            WITH points AS (
                SELECT p_start AS on_date, p_baseline AS v
                UNION ALL
                SELECT (m ->> 'on')::date, (m ->> 'target')::float8
                FROM jsonb_array_elements(coalesce(p_milestones, '[]'::jsonb)) AS m
                WHERE (m ->> 'on')::date > p_start AND (m ->> 'on')::date < p_due
                UNION ALL
                SELECT p_due, p_target
            ), segments AS (
                SELECT on_date, v, lead(on_date) OVER w AS next_on, lead(v) OVER w AS next_v
                FROM points WINDOW w AS (ORDER BY on_date)
            )
            SELECT CASE
                WHEN p_on <= p_start THEN p_baseline
                WHEN p_on >= p_due THEN p_target
                ELSE (SELECT s.v + (s.next_v - s.v) * (p_on - s.on_date)::float8 / (s.next_on - s.on_date)
                      FROM segments s
                      WHERE s.next_on IS NOT NULL AND s.on_date <= p_on AND p_on < s.next_on
                      ORDER BY s.on_date DESC LIMIT 1)
            END
        $$;

        CREATE TABLE campaigns (
            id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
            description            text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
            kind                   text NOT NULL CHECK (kind IN ('campaign', 'programme', 'collaborative')),
            lead_partner_id        uuid NOT NULL REFERENCES partners (id),
            innovation_ids         uuid[] NOT NULL DEFAULT '{}',
            starts_on              date NOT NULL,
            ends_on                date NOT NULL,
            measure_code           text NOT NULL REFERENCES measures (code) ON UPDATE CASCADE,
            baseline               numeric NOT NULL DEFAULT 0 CHECK (baseline >= 0),
            target                 numeric NOT NULL,
            due_on                 date NOT NULL,
            milestones             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(milestones) = 'array'),
            status                 text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'active', 'closed')),
            created_by_partner_id  uuid REFERENCES partners (id),
            created_at             timestamptz NOT NULL DEFAULT now(),
            updated_at             timestamptz NOT NULL DEFAULT now(),
            version                integer NOT NULL DEFAULT 1,
            CONSTRAINT campaigns_dates_order CHECK (ends_on >= starts_on),
            CONSTRAINT campaigns_due_inside CHECK (due_on BETWEEN starts_on AND ends_on),
            CONSTRAINT campaigns_target_above_baseline CHECK (target > baseline)
        );
        CREATE INDEX campaigns_created_idx ON campaigns (created_at DESC, id DESC);
        CREATE INDEX campaigns_status_idx ON campaigns (status, created_at DESC, id DESC);
        CREATE INDEX campaigns_lead_idx ON campaigns (lead_partner_id);
        CREATE INDEX campaigns_measure_idx ON campaigns (measure_code);
        CREATE TRIGGER campaigns_changes_insert AFTER INSERT ON campaigns REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('campaign', 'id');
        CREATE TRIGGER campaigns_changes_update AFTER UPDATE ON campaigns REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('campaign', 'id');
        CREATE TRIGGER campaigns_changes_delete AFTER DELETE ON campaigns REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('campaign', 'id');

        CREATE TABLE campaign_innovations (
            campaign_id    uuid NOT NULL REFERENCES campaigns (id),
            innovation_id  uuid NOT NULL REFERENCES innovations (id),
            PRIMARY KEY (campaign_id, innovation_id)
        );
        CREATE INDEX campaign_innovations_innovation_idx ON campaign_innovations (innovation_id, campaign_id);

        -- Keep campaigns.innovation_ids equal to the links. The service writes both, so this
        -- usually finds nothing to do; a write by any other path still reaches the change log.
        CREATE FUNCTION spread_campaign_innovation_ids() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            cid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.campaign_id ELSE NEW.campaign_id END;
        BEGIN
            UPDATE campaigns c
               SET innovation_ids = l.ids, updated_at = now(), version = c.version + 1
              FROM (SELECT coalesce(array_agg(ci.innovation_id ORDER BY ci.innovation_id), '{}') AS ids
                      FROM campaign_innovations ci WHERE ci.campaign_id = cid) l
             WHERE c.id = cid AND c.innovation_ids IS DISTINCT FROM l.ids;
            RETURN NULL;
        END $$;
        CREATE TRIGGER campaign_innovations_sync AFTER INSERT OR UPDATE OR DELETE ON campaign_innovations
            FOR EACH ROW EXECUTE FUNCTION spread_campaign_innovation_ids();

        CREATE TABLE commitments (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            campaign_id  uuid NOT NULL REFERENCES campaigns (id),
            site_code    text NOT NULL REFERENCES sites (code),
            target       numeric NOT NULL CONSTRAINT commitments_target_positive CHECK (target > 0),
            due_on       date NOT NULL,
            milestones   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(milestones) = 'array'),
            agreed_on    date NOT NULL,
            partner_id   uuid REFERENCES partners (id),
            created_at   timestamptz NOT NULL DEFAULT now(),
            updated_at   timestamptz NOT NULL DEFAULT now(),
            version      integer NOT NULL DEFAULT 1,
            CONSTRAINT commitments_campaign_site_key UNIQUE (campaign_id, site_code),
            CONSTRAINT commitments_agreed_before_due CHECK (agreed_on <= due_on)
        );
        CREATE INDEX commitments_site_idx ON commitments (site_code, campaign_id);
        CREATE TRIGGER commitments_changes_insert AFTER INSERT ON commitments REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('commitment', 'id');
        CREATE TRIGGER commitments_changes_update AFTER UPDATE ON commitments REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('commitment', 'id');
        CREATE TRIGGER commitments_changes_delete AFTER DELETE ON commitments REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('commitment', 'id');

        CREATE TABLE impediments (
            id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            campaign_id         uuid NOT NULL REFERENCES campaigns (id),
            site_code           text NOT NULL REFERENCES sites (code),
            description         text NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
            category            text NOT NULL CHECK (category IN
                                    ('resources', 'training', 'data', 'workforce', 'governance', 'technology', 'other')),
            status              text NOT NULL DEFAULT 'open'
                                CHECK (status IN ('open', 'support_offered', 'resolved')),
            support_offered     text CHECK (length(support_offered) <= 5000),
            raised_on           date NOT NULL,
            support_offered_on  date,
            resolved_on         date,
            partner_id          uuid REFERENCES partners (id),
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now(),
            version             integer NOT NULL DEFAULT 1,
            CONSTRAINT impediments_resolved_dated CHECK ((status = 'resolved') = (resolved_on IS NOT NULL)),
            CONSTRAINT impediments_support_after_raised CHECK (support_offered_on >= raised_on),
            CONSTRAINT impediments_resolved_after_raised CHECK (resolved_on >= raised_on)
        );
        CREATE INDEX impediments_campaign_idx ON impediments (campaign_id, created_at DESC, id DESC);
        CREATE INDEX impediments_campaign_site_idx ON impediments (campaign_id, site_code);
        CREATE TRIGGER impediments_changes_insert AFTER INSERT ON impediments REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('impediment', 'id');
        CREATE TRIGGER impediments_changes_update AFTER UPDATE ON impediments REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('impediment', 'id');
        CREATE TRIGGER impediments_changes_delete AFTER DELETE ON impediments REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('impediment', 'id');

        CREATE TABLE breakthroughs (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            campaign_id    uuid NOT NULL REFERENCES campaigns (id),
            site_code      text NOT NULL REFERENCES sites (code),
            title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
            story          text NOT NULL CHECK (length(story) BETWEEN 1 AND 20000),
            adaptation_id  uuid REFERENCES adaptations (id),
            adoption_id    uuid REFERENCES adoptions (id),
            celebrated_on  date NOT NULL,
            partner_id     uuid REFERENCES partners (id),
            search_vector  tsvector GENERATED ALWAYS AS (
                               setweight(to_tsvector('english', title), 'A')
                               || setweight(to_tsvector('english', story), 'B')) STORED,
            created_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now(),
            version        integer NOT NULL DEFAULT 1
        );
        CREATE INDEX breakthroughs_campaign_idx ON breakthroughs (campaign_id, celebrated_on DESC, id DESC);
        CREATE INDEX breakthroughs_search_idx ON breakthroughs USING gin (search_vector);
        CREATE TRIGGER breakthroughs_changes_insert AFTER INSERT ON breakthroughs REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('breakthrough', 'id', 'search_vector');
        CREATE TRIGGER breakthroughs_changes_update AFTER UPDATE ON breakthroughs REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('breakthrough', 'id', 'search_vector');
        CREATE TRIGGER breakthroughs_changes_delete AFTER DELETE ON breakthroughs REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('breakthrough', 'id', 'search_vector');

        -- A closed campaign is read-only, by any path.
        CREATE FUNCTION spread_campaign_open() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            cid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.campaign_id ELSE NEW.campaign_id END;
        BEGIN
            IF EXISTS (SELECT 1 FROM campaigns WHERE id = cid AND status = 'closed') THEN
                RAISE EXCEPTION 'campaign % is closed, and read-only', cid
                    USING ERRCODE = '23514', CONSTRAINT = 'campaigns_closed_read_only';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$;
        CREATE TRIGGER commitments_open BEFORE INSERT OR UPDATE OR DELETE ON commitments
            FOR EACH ROW EXECUTE FUNCTION spread_campaign_open();
        CREATE TRIGGER impediments_open BEFORE INSERT OR UPDATE OR DELETE ON impediments
            FOR EACH ROW EXECUTE FUNCTION spread_campaign_open();
        CREATE TRIGGER breakthroughs_open BEFORE INSERT OR UPDATE OR DELETE ON breakthroughs
            FOR EACH ROW EXECUTE FUNCTION spread_campaign_open();
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE breakthroughs;
        DROP TABLE impediments;
        DROP TABLE commitments;
        DROP TABLE campaign_innovations;
        DROP FUNCTION spread_campaign_open();
        DROP FUNCTION spread_campaign_innovation_ids();
        DROP TABLE campaigns;
        DROP FUNCTION spread_trajectory_expected(date, float8, date, float8, jsonb, date);
        """
    )
