"""Foundation: partners, API keys, rate-limit windows and the append-only change log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    execute_script(
        """
        CREATE TABLE partners (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            created_at  timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT partners_name_key UNIQUE (name)
        );

        -- Only a SHA-256 of the secret is stored: secrets are 256-bit random, so a slow
        -- password hash would add latency to every request and no security.
        CREATE TABLE api_keys (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            partner_id   uuid NOT NULL REFERENCES partners (id),
            prefix       text NOT NULL,
            secret_hash  bytea NOT NULL,
            scopes       text[] NOT NULL
                         CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']),
            expires_at   timestamptz,
            revoked_at   timestamptz,
            created_at   timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
        );
        CREATE INDEX api_keys_partner_idx ON api_keys (partner_id);

        -- Fixed one-minute windows per key. UNLOGGED: losing counts in a crash is harmless.
        CREATE UNLOGGED TABLE rate_limit_windows (
            key_id        uuid NOT NULL,
            window_start  timestamptz NOT NULL,
            hits          integer NOT NULL,
            PRIMARY KEY (key_id, window_start)
        );

        -- The change log: every write appends here in its own transaction (by trigger, so
        -- no write path can forget). txid lets the feed hide rows whose transaction may still
        -- be in flight, so a poller never skips a change that commits late with a lower seq.
        CREATE TABLE changes (
            seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at            timestamptz NOT NULL DEFAULT now(),
            txid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
            key_id        uuid,
            partner_id    uuid,
            partner_name  text,
            entity        text NOT NULL,
            entity_id     text NOT NULL,
            action        text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
            before        jsonb,
            after         jsonb,
            request_id    text
        );
        CREATE INDEX changes_entity_idx ON changes (entity, entity_id, seq);
        -- The feed's order: (txid, seq). See service/changes/queries.py for why not seq alone.
        CREATE INDEX changes_feed_idx ON changes (txid, seq);

        -- snake_case row keys -> camelCase API keys, so the feed speaks the API's language.
        CREATE FUNCTION spread_camel(key text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN position('_' IN key) = 0 THEN key
                   ELSE split_part(key, '_', 1)
                        || replace(initcap(substr(key, position('_' IN key) + 1)), '_', '')
                   END
        $$;

        CREATE FUNCTION spread_row_json(row_json jsonb, hidden text[]) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(jsonb_object_agg(spread_camel(key), value), '{}'::jsonb)
            FROM jsonb_each(row_json)
            WHERE NOT key = ANY (hidden)
        $$;

        -- spread_row_json(to_jsonb(<alias>), hidden) as a jsonb_build_object expression over
        -- rel's columns, built once per statement so the rows need no jsonb_each/aggregate.
        -- Chunks of 40 columns stay under the 100-argument limit of a function call.
        CREATE FUNCTION spread_row_json_sql(rel oid, alias text, hidden text[]) RETURNS text
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(string_agg('jsonb_build_object(' || part || ')', ' || '), '''{}''::jsonb')
            FROM (SELECT string_agg(format('%L, %I.%I', spread_camel(attname), alias, attname), ', ') AS part
                  FROM pg_attribute
                  WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped AND NOT attname = ANY (hidden)
                  GROUP BY (attnum - 1) / 40) chunks
        $$;

        -- Statement-level trigger over the transition tables spread_new / spread_old (each
        -- table has *_changes_insert/_update/_delete triggers naming them so; PostgreSQL
        -- allows transition tables only on single-event triggers): one changes row per
        -- record the statement touched, in id order. TG_ARGV[0] entity name, TG_ARGV[1] id
        -- column (updates pair old and new rows on it), TG_ARGV[2..] hidden columns. An
        -- update is recorded only if something a reader could see changed (the row json
        -- minus version and hidden columns). Actor and request id come from the
        -- transaction-local setting spread.actor, which services set with
        -- set_config(..., true) as the first statement of a write. One set-based INSERT per
        -- statement instead of one per row: what keeps bulk writes cheap.
        CREATE FUNCTION spread_record_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            actor   jsonb := nullif(current_setting('spread.actor', true), '')::jsonb;
            hidden  text[] := array_remove(coalesce(TG_ARGV[2:], ARRAY[]::text[]) || ARRAY['updated_at'], NULL);
            ins     text := 'INSERT INTO changes (key_id, partner_id, partner_name, entity, entity_id, '
                            'action, before, after, request_id) ';
        BEGIN
            IF TG_OP = 'INSERT' THEN
                EXECUTE ins || format(
                    'SELECT $1, $2, $3, %L, to_jsonb(n.%I) #>> %L, %L, NULL, %s, $4 FROM spread_new n ORDER BY n.%I',
                    TG_ARGV[0], TG_ARGV[1], '{}', 'create', spread_row_json_sql(TG_RELID, 'n', hidden), TG_ARGV[1])
                USING (actor ->> 'keyId')::uuid, (actor ->> 'partnerId')::uuid,
                      actor ->> 'partnerName', actor ->> 'requestId';
            ELSIF TG_OP = 'UPDATE' THEN
                EXECUTE format(
                    'WITH c AS MATERIALIZED ('
                    '  SELECT n.%I AS id, to_jsonb(n.%I) #>> %L AS entity_id, %s AS before, %s AS after'
                    '  FROM spread_new n JOIN spread_old o ON o.%I = n.%I) ',
                    TG_ARGV[1], TG_ARGV[1], '{}', spread_row_json_sql(TG_RELID, 'o', hidden),
                    spread_row_json_sql(TG_RELID, 'n', hidden), TG_ARGV[1], TG_ARGV[1])
                    || ins || format(
                    'SELECT $1, $2, $3, %L, c.entity_id, %L, c.before, c.after, $4 FROM c '
                    'WHERE c.before - %L <> c.after - %L ORDER BY c.id',
                    TG_ARGV[0], 'update', 'version', 'version')
                USING (actor ->> 'keyId')::uuid, (actor ->> 'partnerId')::uuid,
                      actor ->> 'partnerName', actor ->> 'requestId';
            ELSE
                EXECUTE ins || format(
                    'SELECT $1, $2, $3, %L, to_jsonb(o.%I) #>> %L, %L, %s, NULL, $4 FROM spread_old o ORDER BY o.%I',
                    TG_ARGV[0], TG_ARGV[1], '{}', 'delete', spread_row_json_sql(TG_RELID, 'o', hidden), TG_ARGV[1])
                USING (actor ->> 'keyId')::uuid, (actor ->> 'partnerId')::uuid,
                      actor ->> 'partnerName', actor ->> 'requestId';
            END IF;
            RETURN NULL;
        END
        $$;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP FUNCTION spread_record_change();
        DROP FUNCTION spread_row_json_sql(oid, text, text[]);
        DROP FUNCTION spread_row_json(jsonb, text[]);
        DROP FUNCTION spread_camel(text);
        DROP TABLE changes;
        DROP TABLE rate_limit_windows;
        DROP TABLE api_keys;
        DROP TABLE partners;
        """
    )
