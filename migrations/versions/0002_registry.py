"""Registry core: sites, innovations, adoptions, learned-from sources, stage history, adaptations.

The lineage rules (same innovation family, source started first, no cycles) are enforced by
triggers as well as in the services, so no write path (API, CLI, bulk import, psql) can break
them. Every table records its writes in the change log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SITE_KINDS = "'region', 'icb', 'trust', 'trust_site', 'pcn', 'gp_practice', 'other'"
CATEGORIES = (
    "'medical_device', 'in_vitro_diagnostic', 'pharmaceutical', 'digital', 'ai', 'education', "
    "'models_of_care', 'estates_and_facilities', 'data_and_monitoring', 'other'"
)
EVIDENCE = "'idea', 'local_evaluation', 'multi_site_evaluation', 'peer_reviewed', 'national_guidance'"
STAGES = "'exploring', 'planning', 'piloting', 'implementing', 'sustaining', 'discontinued'"
CHANNELS = (
    "'peer_visit', 'learning_network', 'collaborative', 'community_of_practice', 'extension_agent', "
    "'national_programme', 'publication', 'conference', 'direct_from_innovator', 'other'"
)


def upgrade() -> None:
    execute_script(
        f"""
        CREATE TABLE sites (
            code            text PRIMARY KEY,
            name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
            kind            text NOT NULL CHECK (kind IN ({SITE_KINDS})),
            parent_code     text REFERENCES sites (code),
            region_code     text REFERENCES sites (code),
            icb_code        text REFERENCES sites (code),
            postcode        text CHECK (length(postcode) <= 10),
            latitude        double precision CHECK (latitude BETWEEN -90 AND 90),
            longitude       double precision CHECK (longitude BETWEEN -180 AND 180),
            status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            successor_code  text REFERENCES sites (code),
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            version         integer NOT NULL DEFAULT 1,
            CONSTRAINT sites_code_format CHECK (
                CASE kind
                    WHEN 'region' THEN code ~ '^Y[0-9]{{2}}$'
                    WHEN 'icb' THEN code ~ '^Q[A-Z0-9]{{2}}$'
                    WHEN 'trust' THEN code ~ '^[A-Z0-9]{{3}}$'
                    WHEN 'trust_site' THEN code ~ '^[A-Z0-9]{{5}}$'
                    WHEN 'pcn' THEN code ~ '^U[0-9]{{5}}$'
                    WHEN 'gp_practice' THEN code ~ '^[A-Z][0-9]{{5}}$'
                    ELSE code ~ '^[A-Z0-9-]{{3,12}}$'
                END),
            CONSTRAINT sites_coordinates_pair CHECK ((latitude IS NULL) = (longitude IS NULL)),
            CONSTRAINT sites_not_own_parent CHECK (parent_code <> code),
            CONSTRAINT sites_not_own_successor CHECK (successor_code <> code)
        );
        CREATE INDEX sites_kind_idx ON sites (kind, code);
        CREATE INDEX sites_region_idx ON sites (region_code, code);
        CREATE INDEX sites_icb_idx ON sites (icb_code, code);
        CREATE INDEX sites_parent_idx ON sites (parent_code, code);
        CREATE INDEX sites_latitude_idx ON sites (latitude, longitude);
        CREATE INDEX sites_name_trgm_idx ON sites USING gin (name gin_trgm_ops);

        -- Region and ICB follow from the parent chain when not given; a region is its own
        -- region and an ICB its own ICB, so "everything in Y56" includes Y56.
        CREATE FUNCTION spread_sites_derive() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE p sites%ROWTYPE;
        BEGIN
            IF NEW.kind = 'region' THEN NEW.region_code := NEW.code; END IF;
            IF NEW.kind = 'icb' THEN NEW.icb_code := NEW.code; END IF;
            IF NEW.parent_code IS NOT NULL AND (NEW.region_code IS NULL OR NEW.icb_code IS NULL) THEN
                SELECT * INTO p FROM sites WHERE code = NEW.parent_code;
                IF FOUND THEN
                    NEW.region_code := coalesce(NEW.region_code,
                        CASE WHEN p.kind = 'region' THEN p.code ELSE p.region_code END);
                    NEW.icb_code := coalesce(NEW.icb_code,
                        CASE WHEN p.kind = 'icb' THEN p.code ELSE p.icb_code END);
                END IF;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER sites_derive BEFORE INSERT OR UPDATE ON sites
            FOR EACH ROW EXECUTE FUNCTION spread_sites_derive();
        CREATE TRIGGER sites_changes_insert AFTER INSERT ON sites REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('site', 'code');
        CREATE TRIGGER sites_changes_update AFTER UPDATE ON sites REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('site', 'code');
        CREATE TRIGGER sites_changes_delete AFTER DELETE ON sites REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('site', 'code');

        CREATE TABLE partner_sites (
            partner_id  uuid NOT NULL REFERENCES partners (id),
            site_code   text NOT NULL REFERENCES sites (code),
            PRIMARY KEY (partner_id, site_code)
        );

        -- A partner authorised for a region, ICB or trust covers the sites under it.
        CREATE FUNCTION spread_partner_covers(p_partner uuid, p_site text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT EXISTS (
                SELECT 1 FROM sites s
                JOIN partner_sites ps ON ps.partner_id = p_partner
                 AND ps.site_code IN (s.code, s.parent_code, s.icb_code, s.region_code)
                WHERE s.code = p_site)
        $$;

        CREATE TABLE innovations (
            id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            slug                      text NOT NULL,
            title                     text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
            summary                   text NOT NULL DEFAULT '',
            description               text NOT NULL DEFAULT '',
            category                  text NOT NULL CHECK (category IN ({CATEGORIES})),
            care_settings             text[] NOT NULL DEFAULT '{{}}',
            themes                    text[] NOT NULL DEFAULT '{{}}',
            evidence_level            text NOT NULL CHECK (evidence_level IN ({EVIDENCE})),
            origin_site_code          text NOT NULL REFERENCES sites (code),
            originated_on             date NOT NULL,
            core_components           jsonb NOT NULL DEFAULT '[]',
            links                     jsonb NOT NULL DEFAULT '[]',
            contacts                  jsonb NOT NULL DEFAULT '[]',
            status                    text NOT NULL DEFAULT 'active'
                                      CHECK (status IN ('active', 'retired', 'superseded')),
            derived_from_id           uuid REFERENCES innovations (id),
            derived_from_adoption_id  uuid,
            is_demo                   boolean NOT NULL DEFAULT false,
            created_by_partner_id     uuid REFERENCES partners (id),
            adoption_count            integer NOT NULL DEFAULT 0,
            site_count                integer NOT NULL DEFAULT 0,
            -- regions of adopting sites (as recorded when they adopted): the `region` list filter
            region_codes              text[] NOT NULL DEFAULT '{{}}',
            created_at                timestamptz NOT NULL DEFAULT now(),
            updated_at                timestamptz NOT NULL DEFAULT now(),
            version                   integer NOT NULL DEFAULT 1,
            CONSTRAINT innovations_slug_key UNIQUE (slug),
            CONSTRAINT innovations_not_own_parent CHECK (derived_from_id <> id)
        );
        CREATE INDEX innovations_created_idx ON innovations (created_at DESC, id DESC);
        CREATE INDEX innovations_adoption_count_idx ON innovations (adoption_count DESC, id DESC);
        CREATE INDEX innovations_category_idx ON innovations (category, created_at DESC, id DESC);
        CREATE INDEX innovations_evidence_idx ON innovations (evidence_level, created_at DESC, id DESC);
        CREATE INDEX innovations_status_idx ON innovations (status, created_at DESC, id DESC);
        CREATE INDEX innovations_origin_idx ON innovations (origin_site_code);
        CREATE INDEX innovations_derived_idx ON innovations (derived_from_id) WHERE derived_from_id IS NOT NULL;
        CREATE INDEX innovations_themes_idx ON innovations USING gin (themes);
        CREATE INDEX innovations_region_codes_idx ON innovations USING gin (region_codes);
        CREATE TRIGGER innovations_changes_insert AFTER INSERT ON innovations REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('innovation', 'id', 'adoption_count', 'site_count', 'region_codes');
        CREATE TRIGGER innovations_changes_update AFTER UPDATE ON innovations REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('innovation', 'id', 'adoption_count', 'site_count', 'region_codes');
        CREATE TRIGGER innovations_changes_delete AFTER DELETE ON innovations REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('innovation', 'id', 'adoption_count', 'site_count', 'region_codes');

        CREATE TABLE adoptions (
            id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            innovation_id        uuid NOT NULL REFERENCES innovations (id),
            site_code            text NOT NULL REFERENCES sites (code),
            stage                text NOT NULL CHECK (stage IN ({STAGES})),
            started_on           date NOT NULL,
            is_origin            boolean NOT NULL DEFAULT false,
            notes                text NOT NULL DEFAULT '',
            discontinued_reason  text,
            external_id          text CHECK (length(external_id) <= 200),
            partner_id           uuid REFERENCES partners (id),
            created_at           timestamptz NOT NULL DEFAULT now(),
            updated_at           timestamptz NOT NULL DEFAULT now(),
            version              integer NOT NULL DEFAULT 1,
            CONSTRAINT adoptions_discontinued_reason
                CHECK (stage <> 'discontinued' OR length(discontinued_reason) > 0)
        );
        CREATE UNIQUE INDEX adoptions_one_open_per_site ON adoptions (innovation_id, site_code)
            WHERE stage <> 'discontinued';
        CREATE UNIQUE INDEX adoptions_one_origin ON adoptions (innovation_id) WHERE is_origin;
        CREATE UNIQUE INDEX adoptions_external_id_key ON adoptions (partner_id, innovation_id, external_id)
            WHERE external_id IS NOT NULL;
        CREATE INDEX adoptions_innovation_idx ON adoptions (innovation_id, started_on, id);
        CREATE INDEX adoptions_site_idx ON adoptions (site_code, innovation_id);
        CREATE INDEX adoptions_stage_idx ON adoptions (stage, innovation_id);
        ALTER TABLE innovations ADD CONSTRAINT innovations_derived_from_adoption_fkey
            FOREIGN KEY (derived_from_adoption_id) REFERENCES adoptions (id);
        CREATE TRIGGER adoptions_changes_insert AFTER INSERT ON adoptions REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption', 'id');
        CREATE TRIGGER adoptions_changes_update AFTER UPDATE ON adoptions REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption', 'id');
        CREATE TRIGGER adoptions_changes_delete AFTER DELETE ON adoptions REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption', 'id');

        -- Read-only counts kept on the innovation so "sort by adoptionCount" is an index scan,
        -- and the adopting regions so the `region` filter is one GIN probe, not a walk over
        -- adoptions (bench/registry.py measured the walk as the list's bottleneck).
        -- Statement-level with a transition table: one UPDATE per statement, not per row.
        -- Adoptions are never deleted and never change innovation or site, so inserts suffice.
        CREATE FUNCTION spread_innovation_counts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE innovations i
               SET adoption_count = c.adoptions, site_count = c.sites, region_codes = c.regions
              FROM (SELECT a.innovation_id, count(*)::int AS adoptions, count(DISTINCT a.site_code)::int AS sites,
                           coalesce(array_agg(DISTINCT s.region_code ORDER BY s.region_code)
                                    FILTER (WHERE s.region_code IS NOT NULL), '{{}}') AS regions
                      FROM adoptions a JOIN sites s ON s.code = a.site_code
                     WHERE a.innovation_id IN (SELECT DISTINCT innovation_id FROM inserted)
                     GROUP BY a.innovation_id) c
             WHERE i.id = c.innovation_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER adoptions_counts AFTER INSERT ON adoptions
            REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION spread_innovation_counts();

        -- Stage history: appended on every stage change, never rewritten.
        CREATE TABLE adoption_stages (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            adoption_id  uuid NOT NULL REFERENCES adoptions (id),
            stage        text NOT NULL CHECK (stage IN ({STAGES})),
            on_date      date NOT NULL,
            reason       text,
            recorded_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX adoption_stages_adoption_idx ON adoption_stages (adoption_id, id);
        CREATE FUNCTION spread_stage_history() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.stage IS DISTINCT FROM OLD.stage THEN
                INSERT INTO adoption_stages (adoption_id, stage, on_date, reason)
                VALUES (NEW.id, NEW.stage,
                        CASE WHEN TG_OP = 'INSERT' THEN NEW.started_on ELSE current_date END,
                        CASE WHEN NEW.stage = 'discontinued' THEN NEW.discontinued_reason END);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER adoptions_stage_history AFTER INSERT OR UPDATE OF stage ON adoptions
            FOR EACH ROW EXECUTE FUNCTION spread_stage_history();
        CREATE FUNCTION spread_stage_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'stage history is append-only' USING ERRCODE = '55000';
        END $$;
        CREATE TRIGGER adoption_stages_append_only BEFORE UPDATE OR DELETE ON adoption_stages
            FOR EACH ROW EXECUTE FUNCTION spread_stage_history_append_only();

        CREATE TABLE adoption_sources (
            id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            adoption_id         uuid NOT NULL REFERENCES adoptions (id),
            source_adoption_id  uuid NOT NULL REFERENCES adoptions (id),
            channel             text NOT NULL CHECK (channel IN ({CHANNELS})),
            learned_on          date,
            created_at          timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT adoption_sources_pair_key UNIQUE (adoption_id, source_adoption_id),
            CONSTRAINT adoption_sources_not_self CHECK (adoption_id <> source_adoption_id)
        );
        CREATE INDEX adoption_sources_source_idx ON adoption_sources (source_adoption_id, adoption_id);
        CREATE TRIGGER adoption_sources_changes_insert AFTER INSERT ON adoption_sources REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption_source', 'id');
        CREATE TRIGGER adoption_sources_changes_update AFTER UPDATE ON adoption_sources REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption_source', 'id');
        CREATE TRIGGER adoption_sources_changes_delete AFTER DELETE ON adoption_sources REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adoption_source', 'id');

        -- The innovation and its ancestors (derivedFrom chain), cycle-safe by UNION.
        CREATE FUNCTION spread_innovation_family_up(p_innovation uuid) RETURNS TABLE (id uuid)
        LANGUAGE sql STABLE AS $$
            WITH RECURSIVE up(id) AS (
                SELECT p_innovation
                UNION
                SELECT i.derived_from_id FROM innovations i JOIN up ON i.id = up.id
                 WHERE i.derived_from_id IS NOT NULL)
            SELECT id FROM up
        $$;

        -- Lineage rules for a learned-from link. Errors carry a constraint name the service
        -- layer maps to a specific problem. The advisory lock serialises link writes within
        -- one innovation, so two concurrent links cannot together close a cycle.
        CREATE FUNCTION spread_check_source() RETURNS trigger LANGUAGE plpgsql AS $$
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
            IF src.innovation_id NOT IN (SELECT id FROM spread_innovation_family_up(learner.innovation_id)) THEN
                RAISE EXCEPTION 'source % is an adoption of another innovation', src.id
                    USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_same_family';
            END IF;
            IF src.started_on > learner.started_on THEN
                RAISE EXCEPTION 'source % started on %, after the learner (%)', src.id, src.started_on, learner.started_on
                    USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_source_started_first';
            END IF;
            IF NEW.learned_on IS NOT NULL AND NEW.learned_on > current_date THEN
                RAISE EXCEPTION 'learned-from date % is in the future', NEW.learned_on
                    USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_on_not_future';
            END IF;
            IF EXISTS (
                WITH RECURSIVE up(id) AS (
                    SELECT NEW.source_adoption_id
                    UNION
                    SELECT s.source_adoption_id FROM adoption_sources s JOIN up ON s.adoption_id = up.id)
                SELECT 1 FROM up WHERE id = NEW.adoption_id) THEN
                RAISE EXCEPTION 'learning from % would make a cycle', NEW.source_adoption_id
                    USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_no_cycle';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER adoption_sources_check BEFORE INSERT OR UPDATE ON adoption_sources
            FOR EACH ROW EXECUTE FUNCTION spread_check_source();

        -- Moving an adoption's start must keep every link's "source started first" true.
        CREATE FUNCTION spread_check_start_moves() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.started_on IS DISTINCT FROM OLD.started_on AND (
                EXISTS (SELECT 1 FROM adoption_sources s JOIN adoptions a ON a.id = s.source_adoption_id
                         WHERE s.adoption_id = NEW.id AND a.started_on > NEW.started_on)
                OR EXISTS (SELECT 1 FROM adoption_sources s JOIN adoptions a ON a.id = s.adoption_id
                            WHERE s.source_adoption_id = NEW.id AND a.started_on < NEW.started_on)) THEN
                RAISE EXCEPTION 'moving the start to % would put a source after its learner', NEW.started_on
                    USING ERRCODE = '23514', CONSTRAINT = 'adoption_sources_source_started_first';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER adoptions_start_moves BEFORE UPDATE OF started_on ON adoptions
            FOR EACH ROW EXECUTE FUNCTION spread_check_start_moves();

        CREATE TABLE adaptations (
            id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            adoption_id          uuid NOT NULL REFERENCES adoptions (id),
            innovation_id        uuid NOT NULL REFERENCES innovations (id),
            description          text NOT NULL CHECK (length(description) BETWEEN 1 AND 20000),
            made_on              date,
            phase                text NOT NULL
                                 CHECK (phase IN ('pre_implementation', 'implementation', 'scale_up', 'maintenance')),
            planning             text CHECK (planning IN ('planned_proactive', 'planned_reactive', 'unplanned_reactive')),
            decided_by           text[] NOT NULL DEFAULT '{{}}',
            what_modified        text NOT NULL CHECK (what_modified IN
                                     ('content', 'context', 'training', 'evaluation', 'implementation_strategy')),
            level                text CHECK (level IN ('individual', 'team', 'site', 'network', 'system')),
            nature               text CHECK (nature IN ('tailoring', 'adding', 'removing', 'shortening',
                                     'lengthening', 'substituting', 'reordering', 'integrating_other',
                                     'integrating_into_other', 'repeating', 'loosening_structure', 'departing')),
            context_changes      text[] NOT NULL DEFAULT '{{}}'
                                 CHECK (context_changes <@ ARRAY['format', 'setting', 'personnel', 'population']),
            fidelity             text NOT NULL DEFAULT 'unknown'
                                 CHECK (fidelity IN ('consistent', 'inconsistent', 'unknown')),
            core_component_keys  text[] NOT NULL DEFAULT '{{}}',
            goals                text[] NOT NULL DEFAULT '{{}}'
                                 CHECK (goals <@ ARRAY['reach', 'fit', 'effectiveness', 'cost', 'workforce',
                                                       'equity', 'safety', 'satisfaction', 'other']),
            reasons              text[] NOT NULL DEFAULT '{{}}'
                                 CHECK (reasons <@ ARRAY['sociopolitical', 'organisation', 'provider', 'recipient']),
            outcome_notes        text NOT NULL DEFAULT '',
            partner_id           uuid REFERENCES partners (id),
            created_at           timestamptz NOT NULL DEFAULT now(),
            updated_at           timestamptz NOT NULL DEFAULT now(),
            version              integer NOT NULL DEFAULT 1
        );
        CREATE INDEX adaptations_adoption_idx ON adaptations (adoption_id, created_at, id);
        CREATE INDEX adaptations_innovation_idx ON adaptations (innovation_id, created_at DESC, id DESC);
        CREATE INDEX adaptations_nature_idx ON adaptations (innovation_id, nature);
        CREATE INDEX adaptations_what_idx ON adaptations (innovation_id, what_modified);
        CREATE INDEX adaptations_fidelity_idx ON adaptations (innovation_id, fidelity);
        CREATE INDEX adaptations_goals_idx ON adaptations USING gin (goals);
        CREATE TRIGGER adaptations_changes_insert AFTER INSERT ON adaptations REFERENCING NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adaptation', 'id');
        CREATE TRIGGER adaptations_changes_update AFTER UPDATE ON adaptations REFERENCING OLD TABLE AS spread_old NEW TABLE AS spread_new
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adaptation', 'id');
        CREATE TRIGGER adaptations_changes_delete AFTER DELETE ON adaptations REFERENCING OLD TABLE AS spread_old
            FOR EACH STATEMENT EXECUTE FUNCTION spread_record_change('adaptation', 'id');
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE adaptations;
        DROP TABLE adoption_sources;
        DROP FUNCTION spread_check_start_moves() CASCADE;
        DROP FUNCTION spread_check_source();
        DROP FUNCTION spread_innovation_family_up(uuid);
        DROP TABLE adoption_stages;
        DROP FUNCTION spread_stage_history_append_only();
        DROP FUNCTION spread_stage_history() CASCADE;
        DROP FUNCTION spread_innovation_counts() CASCADE;
        ALTER TABLE innovations DROP CONSTRAINT innovations_derived_from_adoption_fkey;
        DROP TABLE adoptions;
        DROP TABLE innovations;
        DROP FUNCTION spread_partner_covers(uuid, text);
        DROP TABLE partner_sites;
        DROP TABLE sites;
        DROP FUNCTION spread_sites_derive();
        """
    )
