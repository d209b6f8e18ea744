"""Search: one document per innovation, adaptation and site, kept current by triggers.

``search_documents`` holds, per searchable record, a weighted ``tsvector`` (GIN) and the
facts every search filter, facet and sort needs, denormalised so one index-driven scan of
one table answers a query across all three types:

- innovation: title A, summary B, description + themes C; its own category, evidence level,
  status and themes; where and how it was adopted (regions, ICBs, stages, learned-from
  channels, latest adoption start) and its adoption / sustaining counts;
- adaptation: description B, outcome notes C; its innovation's category, evidence level,
  status and themes; its adoption's region, ICB, stage, channels and start; nature and
  fidelity; the number of adoptions that learned from the site that made it;
- site: name and code A; its own region and ICB; the stages, channels, latest start and
  counts of the adoptions made there.

Why one table rather than generated columns on the registry tables: filters on adoption facts
would otherwise need joins through adoptions and sites for every candidate row (measured too
slow for common words), the registry tables' change-log triggers would record the vectors,
and cross-type ranking, facets and keyset paging become one ORDER BY over one index.

Statement-level triggers with transition tables recompute the affected documents from the
registry tables in the writing transaction, so search is never stale and bulk inserts pay
one set-based refresh per statement. ``spread_search_rebuild()`` recomputes everything (used
by this migration's backfill and after bulk loads that bypass triggers).

``search_words`` is the vocabulary for typo correction: every distinct word (as written,
lower-cased) with its lexeme, trigram-indexed on the word. It is insert-only (``ON CONFLICT DO NOTHING``, which takes no
lock on an existing word, so concurrent writers never contend on common words). It is
therefore a superset of the live vocabulary: every word in any document is in it, so a
correct word is never "corrected"; a word whose last document changed stays until
``spread_search_rebuild()`` prunes it, which at worst suggests a word with no matches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE search_documents (
            doc_type          text NOT NULL CHECK (doc_type IN ('innovation', 'adaptation', 'site')),
            doc_key           text NOT NULL,
            innovation_id     uuid,
            adaptation_id     uuid,
            site_code         text,
            vector            tsvector NOT NULL,
            created_at        timestamptz NOT NULL,
            category          text,
            evidence_level    text,
            status            text,
            themes            text[] NOT NULL DEFAULT '{}',
            regions           text[] NOT NULL DEFAULT '{}',
            icbs              text[] NOT NULL DEFAULT '{}',
            stages            text[] NOT NULL DEFAULT '{}',
            channels          text[] NOT NULL DEFAULT '{}',
            last_adopted_on   date,
            nature            text,
            fidelity          text,
            adoption_count    integer NOT NULL DEFAULT 0,
            sustaining_count  integer NOT NULL DEFAULT 0,
            PRIMARY KEY (doc_type, doc_key)
        );
        -- Text match; the array filters (theme, region, icb, stage, channel) in one GIN.
        CREATE INDEX search_documents_vector_idx ON search_documents USING gin (vector);
        CREATE INDEX search_documents_arrays_idx ON search_documents
            USING gin (themes, regions, icbs, stages, channels);
        -- Sorts (keyset: value, type, key); mostAdopted also picks ranking candidates.
        CREATE INDEX search_documents_newest_idx ON search_documents (created_at DESC, doc_type DESC, doc_key DESC);
        CREATE INDEX search_documents_adopted_idx ON search_documents (adoption_count DESC, doc_type DESC, doc_key DESC);
        -- Scalar filters, and the keys the triggers refresh by.
        CREATE INDEX search_documents_category_idx ON search_documents (category) WHERE category IS NOT NULL;
        CREATE INDEX search_documents_evidence_idx ON search_documents (evidence_level) WHERE evidence_level IS NOT NULL;
        CREATE INDEX search_documents_status_idx ON search_documents (status) WHERE status IS NOT NULL;
        CREATE INDEX search_documents_nature_idx ON search_documents (nature) WHERE nature IS NOT NULL;
        CREATE INDEX search_documents_fidelity_idx ON search_documents (fidelity) WHERE fidelity IS NOT NULL;
        CREATE INDEX search_documents_adopted_on_idx ON search_documents (last_adopted_on) WHERE last_adopted_on IS NOT NULL;
        CREATE INDEX search_documents_innovation_idx ON search_documents (innovation_id) WHERE innovation_id IS NOT NULL;
        CREATE INDEX search_documents_site_idx ON search_documents (site_code) WHERE site_code IS NOT NULL;

        CREATE TABLE search_words (
            word    text PRIMARY KEY,
            lexeme  text NOT NULL
        );
        CREATE INDEX search_words_lexeme_idx ON search_words (lexeme);
        CREATE INDEX search_words_word_trgm_idx ON search_words USING gin (word gin_trgm_ops);

        -- The weighted vectors (IMMUTABLE: to_tsvector with an explicit configuration is).
        CREATE FUNCTION spread_innovation_vector(p_title text, p_summary text, p_description text, p_themes text[])
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
                || setweight(to_tsvector('english', coalesce(p_summary, '')), 'B')
                || setweight(to_tsvector('english', coalesce(p_description, '') || ' '
                                                   || coalesce(array_to_string(p_themes, ' '), '')), 'C')
        $$;
        CREATE FUNCTION spread_adaptation_vector(p_description text, p_outcome_notes text)
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT setweight(to_tsvector('english', coalesce(p_description, '')), 'B')
                || setweight(to_tsvector('english', coalesce(p_outcome_notes, '')), 'C')
        $$;
        CREATE FUNCTION spread_site_vector(p_name text, p_code text)
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT setweight(to_tsvector('english', coalesce(p_name, '')), 'A')
                || setweight(to_tsvector('simple', coalesce(p_code, '')), 'A')
        $$;

        -- Vocabulary: distinct letter-only words (3-40 letters) of the given texts, each new one
        -- stemmed once. Sorted inserts keep two writers adding the same new words from waiting
        -- on each other in opposite orders.
        CREATE FUNCTION spread_search_add_words(p_texts text[]) RETURNS void LANGUAGE sql AS $$
            INSERT INTO search_words (word, lexeme)
            SELECT u.word, l.lexeme
            FROM (SELECT DISTINCT w AS word
                    FROM unnest(p_texts) AS t(body),
                         regexp_split_to_table(lower(t.body), '[^[:alpha:]]+') AS w
                   WHERE length(w) BETWEEN 3 AND 40) u
            CROSS JOIN LATERAL (
                SELECT (tsvector_to_array(to_tsvector('english', u.word)))[1] AS lexeme) l
            WHERE l.lexeme IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM search_words w WHERE w.word = u.word)
            ORDER BY u.word
            ON CONFLICT (word) DO NOTHING
        $$;

        CREATE FUNCTION spread_search_refresh_innovations(p_ids uuid[]) RETURNS void LANGUAGE sql AS $$
            DELETE FROM search_documents d
             WHERE d.doc_type = 'innovation' AND d.innovation_id IN (SELECT unnest(p_ids))
               AND NOT EXISTS (SELECT 1 FROM innovations i WHERE i.id = d.innovation_id);
            INSERT INTO search_documents AS d (
                doc_type, doc_key, innovation_id, vector, created_at, category, evidence_level, status, themes,
                regions, icbs, stages, channels, last_adopted_on, adoption_count, sustaining_count)
            SELECT 'innovation', i.id::text, i.id,
                   spread_innovation_vector(i.title, i.summary, i.description, i.themes),
                   i.created_at, i.category, i.evidence_level, i.status, i.themes,
                   coalesce(f.regions, '{}'), coalesce(f.icbs, '{}'), coalesce(f.stages, '{}'),
                   coalesce(c.channels, '{}'), f.last_adopted_on, coalesce(f.adoptions, 0), coalesce(f.sustaining, 0)
            FROM innovations i
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT s.region_code) FILTER (WHERE s.region_code IS NOT NULL) AS regions,
                       array_agg(DISTINCT s.icb_code) FILTER (WHERE s.icb_code IS NOT NULL) AS icbs,
                       array_agg(DISTINCT a.stage) AS stages,
                       max(a.started_on) AS last_adopted_on,
                       count(*)::int AS adoptions,
                       count(*) FILTER (WHERE a.stage = 'sustaining')::int AS sustaining
                FROM adoptions a JOIN sites s ON s.code = a.site_code
                WHERE a.innovation_id = i.id) f ON true
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT src.channel) AS channels
                FROM adoptions a JOIN adoption_sources src ON src.adoption_id = a.id
                WHERE a.innovation_id = i.id) c ON true
            WHERE i.id IN (SELECT unnest(p_ids))
            ON CONFLICT (doc_type, doc_key) DO UPDATE SET
                vector = EXCLUDED.vector, created_at = EXCLUDED.created_at, category = EXCLUDED.category,
                evidence_level = EXCLUDED.evidence_level, status = EXCLUDED.status, themes = EXCLUDED.themes,
                regions = EXCLUDED.regions, icbs = EXCLUDED.icbs, stages = EXCLUDED.stages,
                channels = EXCLUDED.channels, last_adopted_on = EXCLUDED.last_adopted_on,
                adoption_count = EXCLUDED.adoption_count, sustaining_count = EXCLUDED.sustaining_count;
        $$;

        CREATE FUNCTION spread_search_refresh_adaptations(p_ids uuid[]) RETURNS void LANGUAGE sql AS $$
            DELETE FROM search_documents d
             WHERE d.doc_type = 'adaptation' AND d.adaptation_id IN (SELECT unnest(p_ids))
               AND NOT EXISTS (SELECT 1 FROM adaptations ad WHERE ad.id = d.adaptation_id);
            INSERT INTO search_documents AS d (
                doc_type, doc_key, innovation_id, adaptation_id, site_code, vector, created_at, category,
                evidence_level, status, themes, regions, icbs, stages, channels, last_adopted_on, nature, fidelity,
                adoption_count, sustaining_count)
            SELECT 'adaptation', ad.id::text, ad.innovation_id, ad.id, a.site_code,
                   spread_adaptation_vector(ad.description, ad.outcome_notes),
                   ad.created_at, i.category, i.evidence_level, i.status, i.themes,
                   array_remove(ARRAY[s.region_code], NULL), array_remove(ARRAY[s.icb_code], NULL), ARRAY[a.stage],
                   coalesce(c.channels, '{}'), a.started_on, ad.nature, ad.fidelity,
                   l.learners, CASE WHEN a.stage = 'sustaining' THEN 1 ELSE 0 END
            FROM adaptations ad
            JOIN adoptions a ON a.id = ad.adoption_id
            JOIN sites s ON s.code = a.site_code
            JOIN innovations i ON i.id = ad.innovation_id
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT src.channel) AS channels
                FROM adoption_sources src WHERE src.adoption_id = a.id) c ON true
            CROSS JOIN LATERAL (
                SELECT count(*)::int AS learners
                FROM adoption_sources src WHERE src.source_adoption_id = a.id) l
            WHERE ad.id IN (SELECT unnest(p_ids))
            ON CONFLICT (doc_type, doc_key) DO UPDATE SET
                innovation_id = EXCLUDED.innovation_id, site_code = EXCLUDED.site_code, vector = EXCLUDED.vector,
                created_at = EXCLUDED.created_at, category = EXCLUDED.category,
                evidence_level = EXCLUDED.evidence_level, status = EXCLUDED.status, themes = EXCLUDED.themes,
                regions = EXCLUDED.regions, icbs = EXCLUDED.icbs, stages = EXCLUDED.stages,
                channels = EXCLUDED.channels, last_adopted_on = EXCLUDED.last_adopted_on, nature = EXCLUDED.nature,
                fidelity = EXCLUDED.fidelity, adoption_count = EXCLUDED.adoption_count,
                sustaining_count = EXCLUDED.sustaining_count;
        $$;

        CREATE FUNCTION spread_search_refresh_sites(p_codes text[]) RETURNS void LANGUAGE sql AS $$
            DELETE FROM search_documents d
             WHERE d.doc_type = 'site' AND d.doc_key IN (SELECT unnest(p_codes))
               AND NOT EXISTS (SELECT 1 FROM sites s WHERE s.code = d.doc_key);
            INSERT INTO search_documents AS d (
                doc_type, doc_key, site_code, vector, created_at, regions, icbs, stages, channels,
                last_adopted_on, adoption_count, sustaining_count)
            SELECT 'site', s.code, s.code, spread_site_vector(s.name, s.code), s.created_at,
                   array_remove(ARRAY[s.region_code], NULL), array_remove(ARRAY[s.icb_code], NULL),
                   coalesce(f.stages, '{}'), coalesce(c.channels, '{}'), f.last_adopted_on,
                   coalesce(f.adoptions, 0), coalesce(f.sustaining, 0)
            FROM sites s
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT a.stage) AS stages, max(a.started_on) AS last_adopted_on,
                       count(*)::int AS adoptions,
                       count(*) FILTER (WHERE a.stage = 'sustaining')::int AS sustaining
                FROM adoptions a WHERE a.site_code = s.code) f ON true
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT src.channel) AS channels
                FROM adoptions a JOIN adoption_sources src ON src.adoption_id = a.id
                WHERE a.site_code = s.code) c ON true
            WHERE s.code IN (SELECT unnest(p_codes))
            ON CONFLICT (doc_type, doc_key) DO UPDATE SET
                vector = EXCLUDED.vector, created_at = EXCLUDED.created_at, regions = EXCLUDED.regions,
                icbs = EXCLUDED.icbs, stages = EXCLUDED.stages, channels = EXCLUDED.channels,
                last_adopted_on = EXCLUDED.last_adopted_on, adoption_count = EXCLUDED.adoption_count,
                sustaining_count = EXCLUDED.sustaining_count;
        $$;

        -- Everything from scratch: the backfill, and the repair after loads that bypass triggers
        -- (session_replication_role = replica). Also prunes words no document uses any more.
        CREATE FUNCTION spread_search_rebuild() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM search_documents;
            PERFORM spread_search_refresh_innovations(ARRAY(SELECT id FROM innovations));
            PERFORM spread_search_refresh_adaptations(ARRAY(SELECT id FROM adaptations));
            PERFORM spread_search_refresh_sites(ARRAY(SELECT code FROM sites));
            DELETE FROM search_words;
            PERFORM spread_search_add_words(ARRAY(
                SELECT DISTINCT w
                FROM (SELECT concat_ws(' ', title, summary, description, array_to_string(themes, ' ')) AS body
                        FROM innovations
                      UNION ALL
                      SELECT concat_ws(' ', description, outcome_notes) FROM adaptations
                      UNION ALL
                      SELECT concat_ws(' ', name, code) FROM sites) t,
                     regexp_split_to_table(lower(t.body), '[^[:alpha:]]+') AS w
                WHERE length(w) BETWEEN 3 AND 40));
        END $$;

        -- The refresh functions are SQL functions, planned without the array's contents:
        -- "IN (SELECT unnest(...))" plans as a semi-join on the primary key for one id or 100k,
        -- where "= ANY (...)" became a sequential scan testing every row against the array.

        -- Triggers: statement-level, so a bulk insert refreshes its documents in one pass.
        -- Transition tables are allowed on one event per trigger, hence a trigger per event.
        CREATE FUNCTION spread_search_innovations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            ids uuid[];
            inherited uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                ids := ARRAY(SELECT id FROM new_rows);
                PERFORM spread_search_add_words(ARRAY(
                    SELECT concat_ws(' ', title, summary, description, array_to_string(themes, ' ')) FROM new_rows));
            ELSIF TG_OP = 'UPDATE' THEN
                -- Only what a document shows: the registry's own count updates do not refresh.
                ids := ARRAY(
                    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE (n.title, n.summary, n.description, n.themes, n.category, n.evidence_level, n.status,
                            n.created_at)
                           IS DISTINCT FROM
                           (o.title, o.summary, o.description, o.themes, o.category, o.evidence_level, o.status,
                            o.created_at));
                IF cardinality(ids) = 0 THEN
                    RETURN NULL;
                END IF;
                inherited := ARRAY(
                    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE (n.themes, n.category, n.evidence_level, n.status)
                           IS DISTINCT FROM (o.themes, o.category, o.evidence_level, o.status));
                PERFORM spread_search_refresh_adaptations(ARRAY(
                    SELECT ad.id FROM adaptations ad WHERE ad.innovation_id = ANY (inherited)));
                PERFORM spread_search_add_words(ARRAY(
                    SELECT concat_ws(' ', title, summary, description, array_to_string(themes, ' '))
                      FROM new_rows WHERE id = ANY (ids)));
            ELSE
                ids := ARRAY(SELECT id FROM old_rows);
            END IF;
            PERFORM spread_search_refresh_innovations(ids);
            RETURN NULL;
        END $$;
        CREATE TRIGGER innovations_search_insert AFTER INSERT ON innovations
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_innovations_changed();
        CREATE TRIGGER innovations_search_update AFTER UPDATE ON innovations
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_innovations_changed();
        CREATE TRIGGER innovations_search_delete AFTER DELETE ON innovations
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_innovations_changed();

        CREATE FUNCTION spread_search_adaptations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM spread_search_refresh_adaptations(ARRAY(SELECT id FROM old_rows));
            ELSE
                PERFORM spread_search_refresh_adaptations(ARRAY(SELECT id FROM new_rows));
                PERFORM spread_search_add_words(ARRAY(
                    SELECT concat_ws(' ', description, outcome_notes) FROM new_rows));
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER adaptations_search_insert AFTER INSERT ON adaptations
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_adaptations_changed();
        CREATE TRIGGER adaptations_search_update AFTER UPDATE ON adaptations
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_adaptations_changed();
        CREATE TRIGGER adaptations_search_delete AFTER DELETE ON adaptations
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_adaptations_changed();

        -- An adoption changes its innovation's and its site's adoption facts, and (on update)
        -- the stage and start its adaptations carry.
        CREATE FUNCTION spread_search_adoptions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM spread_search_refresh_innovations(ARRAY(SELECT DISTINCT innovation_id FROM new_rows));
                PERFORM spread_search_refresh_sites(ARRAY(SELECT DISTINCT site_code FROM new_rows));
                RETURN NULL;
            END IF;
            changed := ARRAY(
                SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE (n.stage, n.started_on, n.site_code, n.innovation_id)
                       IS DISTINCT FROM (o.stage, o.started_on, o.site_code, o.innovation_id));
            IF cardinality(changed) = 0 THEN
                RETURN NULL;
            END IF;
            PERFORM spread_search_refresh_innovations(ARRAY(
                SELECT innovation_id FROM new_rows WHERE id = ANY (changed)
                UNION SELECT innovation_id FROM old_rows WHERE id = ANY (changed)));
            PERFORM spread_search_refresh_sites(ARRAY(
                SELECT site_code FROM new_rows WHERE id = ANY (changed)
                UNION SELECT site_code FROM old_rows WHERE id = ANY (changed)));
            PERFORM spread_search_refresh_adaptations(ARRAY(
                SELECT ad.id FROM adaptations ad WHERE ad.adoption_id = ANY (changed)));
            RETURN NULL;
        END $$;
        CREATE TRIGGER adoptions_search_insert AFTER INSERT ON adoptions
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_adoptions_changed();
        CREATE TRIGGER adoptions_search_update AFTER UPDATE ON adoptions
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_adoptions_changed();

        -- A learned-from link changes channels (innovation, site, the learner's adaptations)
        -- and the learner count of the source's adaptations.
        CREATE FUNCTION spread_search_sources_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                touched := ARRAY(SELECT adoption_id FROM new_rows UNION SELECT source_adoption_id FROM new_rows);
            ELSIF TG_OP = 'UPDATE' THEN
                touched := ARRAY(SELECT adoption_id FROM new_rows UNION SELECT source_adoption_id FROM new_rows
                                 UNION SELECT adoption_id FROM old_rows UNION SELECT source_adoption_id FROM old_rows);
            ELSE
                touched := ARRAY(SELECT adoption_id FROM old_rows UNION SELECT source_adoption_id FROM old_rows);
            END IF;
            PERFORM spread_search_refresh_innovations(ARRAY(
                SELECT DISTINCT innovation_id FROM adoptions WHERE id = ANY (touched)));
            PERFORM spread_search_refresh_sites(ARRAY(
                SELECT DISTINCT site_code FROM adoptions WHERE id = ANY (touched)));
            PERFORM spread_search_refresh_adaptations(ARRAY(
                SELECT id FROM adaptations WHERE adoption_id = ANY (touched)));
            RETURN NULL;
        END $$;
        CREATE TRIGGER adoption_sources_search_insert AFTER INSERT ON adoption_sources
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_sources_changed();
        CREATE TRIGGER adoption_sources_search_update AFTER UPDATE ON adoption_sources
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_sources_changed();
        CREATE TRIGGER adoption_sources_search_delete AFTER DELETE ON adoption_sources
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_sources_changed();

        -- A site's own document; a change of region or ICB also moves what was adopted there.
        CREATE FUNCTION spread_search_sites_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            codes text[];
            moved text[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                codes := ARRAY(SELECT code FROM new_rows);
                PERFORM spread_search_add_words(ARRAY(SELECT concat_ws(' ', name, code) FROM new_rows));
            ELSIF TG_OP = 'UPDATE' THEN
                codes := ARRAY(
                    SELECT n.code FROM new_rows n JOIN old_rows o ON o.code = n.code
                     WHERE (n.name, n.region_code, n.icb_code, n.created_at)
                           IS DISTINCT FROM (o.name, o.region_code, o.icb_code, o.created_at));
                IF cardinality(codes) = 0 THEN
                    RETURN NULL;
                END IF;
                moved := ARRAY(
                    SELECT n.code FROM new_rows n JOIN old_rows o ON o.code = n.code
                     WHERE (n.region_code, n.icb_code) IS DISTINCT FROM (o.region_code, o.icb_code));
                IF cardinality(moved) > 0 THEN
                    PERFORM spread_search_refresh_innovations(ARRAY(
                        SELECT DISTINCT innovation_id FROM adoptions WHERE site_code = ANY (moved)));
                    PERFORM spread_search_refresh_adaptations(ARRAY(
                        SELECT ad.id FROM adaptations ad JOIN adoptions a ON a.id = ad.adoption_id
                         WHERE a.site_code = ANY (moved)));
                END IF;
                PERFORM spread_search_add_words(ARRAY(
                    SELECT concat_ws(' ', name, code) FROM new_rows WHERE code = ANY (codes)));
            ELSE
                codes := ARRAY(SELECT code FROM old_rows);
            END IF;
            PERFORM spread_search_refresh_sites(codes);
            RETURN NULL;
        END $$;
        CREATE TRIGGER sites_search_insert AFTER INSERT ON sites
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_sites_changed();
        CREATE TRIGGER sites_search_update AFTER UPDATE ON sites
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_sites_changed();
        CREATE TRIGGER sites_search_delete AFTER DELETE ON sites
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION spread_search_sites_changed();

        SELECT spread_search_rebuild();
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TRIGGER sites_search_delete ON sites;
        DROP TRIGGER sites_search_update ON sites;
        DROP TRIGGER sites_search_insert ON sites;
        DROP TRIGGER adoption_sources_search_delete ON adoption_sources;
        DROP TRIGGER adoption_sources_search_update ON adoption_sources;
        DROP TRIGGER adoption_sources_search_insert ON adoption_sources;
        DROP TRIGGER adoptions_search_update ON adoptions;
        DROP TRIGGER adoptions_search_insert ON adoptions;
        DROP TRIGGER adaptations_search_delete ON adaptations;
        DROP TRIGGER adaptations_search_update ON adaptations;
        DROP TRIGGER adaptations_search_insert ON adaptations;
        DROP TRIGGER innovations_search_delete ON innovations;
        DROP TRIGGER innovations_search_update ON innovations;
        DROP TRIGGER innovations_search_insert ON innovations;
        DROP FUNCTION spread_search_sites_changed();
        DROP FUNCTION spread_search_sources_changed();
        DROP FUNCTION spread_search_adoptions_changed();
        DROP FUNCTION spread_search_adaptations_changed();
        DROP FUNCTION spread_search_innovations_changed();
        DROP FUNCTION spread_search_rebuild();
        DROP FUNCTION spread_search_refresh_sites(text[]);
        DROP FUNCTION spread_search_refresh_adaptations(uuid[]);
        DROP FUNCTION spread_search_refresh_innovations(uuid[]);
        DROP FUNCTION spread_search_add_words(text[]);
        DROP FUNCTION spread_site_vector(text, text);
        DROP FUNCTION spread_adaptation_vector(text, text);
        DROP FUNCTION spread_innovation_vector(text, text, text, text[]);
        DROP TABLE search_words;
        DROP TABLE search_documents;
        """
    )
