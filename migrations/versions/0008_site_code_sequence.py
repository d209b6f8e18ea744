"""Site codes for non-NHS partners from a sequence: ``SPR-000001``, ``SPR-000002``, ...

Codes issued to ``kind: other`` sites were ``SPR-`` and six random hex digits, so after a few
thousand sites two requests drew the same code and the second was refused with 409. A
sequence never repeats, even between concurrent transactions. ``spread_next_site_code()``
skips any number whose code is already taken (a random code that happened to be all digits,
or one a partner chose), so codes issued before this migration keep working. Past 999,999
the number simply grows (``SPR-1000000``, up to the 12-character limit of a site code).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from migrations._sql import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE SEQUENCE site_code_seq AS bigint MINVALUE 1 MAXVALUE 99999999 NO CYCLE;

        CREATE FUNCTION spread_next_site_code() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            n         bigint;
            candidate text;
        BEGIN
            LOOP
                n := nextval('site_code_seq');
                candidate := 'SPR-' || lpad(n::text, greatest(6, length(n::text)), '0');
                EXIT WHEN NOT EXISTS (SELECT 1 FROM sites s WHERE s.code = candidate);
            END LOOP;
            RETURN candidate;
        END
        $$;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP FUNCTION spread_next_site_code();
        DROP SEQUENCE site_code_seq;
        """
    )
