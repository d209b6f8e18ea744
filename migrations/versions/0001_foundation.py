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

        -- Trigger: TG_ARGV[0] entity name, TG_ARGV[1] id column, TG_ARGV[2..] hidden columns.
        -- Actor and request id come from the transaction-local setting spread.actor, which
        -- services set with set_config(..., true) as the first statement of a write.
        CREATE FUNCTION spread_record_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            actor   jsonb := nullif(current_setting('spread.actor', true), '')::jsonb;
            hidden  text[] := coalesce(TG_ARGV[2:], ARRAY[]::text[]) || ARRAY['updated_at'];
            old_j   jsonb;
            new_j   jsonb;
            act     text;
            ent_id  text;
        BEGIN
            hidden := array_remove(hidden, NULL);
            IF TG_OP = 'INSERT' THEN
                act := 'create'; new_j := spread_row_json(to_jsonb(NEW), hidden);
                ent_id := to_jsonb(NEW) ->> TG_ARGV[1];
            ELSIF TG_OP = 'UPDATE' THEN
                old_j := spread_row_json(to_jsonb(OLD), hidden);
                new_j := spread_row_json(to_jsonb(NEW), hidden);
                IF old_j - 'version' = new_j - 'version' THEN
                    RETURN NULL;  -- nothing a reader could see changed
                END IF;
                act := 'update'; ent_id := to_jsonb(NEW) ->> TG_ARGV[1];
            ELSE
                act := 'delete'; old_j := spread_row_json(to_jsonb(OLD), hidden);
                ent_id := to_jsonb(OLD) ->> TG_ARGV[1];
            END IF;
            INSERT INTO changes (key_id, partner_id, partner_name, entity, entity_id, action, before, after, request_id)
            VALUES ((actor ->> 'keyId')::uuid, (actor ->> 'partnerId')::uuid, actor ->> 'partnerName',
                    TG_ARGV[0], ent_id, act, old_j, new_j, actor ->> 'requestId');
            RETURN NULL;
        END
        $$;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP FUNCTION spread_record_change();
        DROP FUNCTION spread_row_json(jsonb, text[]);
        DROP FUNCTION spread_camel(text);
        DROP TABLE changes;
        DROP TABLE rate_limit_windows;
        DROP TABLE api_keys;
        DROP TABLE partners;
        """
    )
