"""Dead code out of the database: two SQL functions nothing calls any more.

- ``spread_row_json(jsonb, text[])`` (0001): the change-log trigger builds its row images with
  ``spread_row_json_sql`` (one ``jsonb_build_object`` per statement); nothing calls the
  per-row version.
- ``spread_partner_covers(uuid, text)`` (0002): who may write for a site is decided by
  ``service.authz.require_site_writer``, with its own query (the site row locked); nothing
  calls the function.

The downgrade recreates both exactly as 0001 and 0002 made them.
"""

from __future__ import annotations

from migrations._sql import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        DROP FUNCTION spread_row_json(jsonb, text[]);
        DROP FUNCTION spread_partner_covers(uuid, text);
        """
    )


def downgrade() -> None:
    execute_script(
        """
        CREATE FUNCTION spread_row_json(row_json jsonb, hidden text[]) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(jsonb_object_agg(spread_camel(key), value), '{}'::jsonb)
            FROM jsonb_each(row_json)
            WHERE NOT key = ANY (hidden)
        $$;

        -- A partner authorised for a region, ICB or trust covers the sites under it.
        CREATE FUNCTION spread_partner_covers(p_partner uuid, p_site text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT EXISTS (
                SELECT 1 FROM sites s
                JOIN partner_sites ps ON ps.partner_id = p_partner
                 AND ps.site_code IN (s.code, s.parent_code, s.icb_code, s.region_code)
                WHERE s.code = p_site)
        $$;
        """
    )
