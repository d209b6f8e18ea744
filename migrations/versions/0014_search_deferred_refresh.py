"""Search documents refreshed once per bulk write: a deferred mode for the search refresh.

The search triggers (0003) are statement-level, but a bulk submission runs several statements
(adoptions, links, adaptations) and each refreshes the same innovation, site and adaptation
documents again, with plans made before the rows it adds were counted: a first load into
empty tables refreshed 10,000 site documents with a sequential scan of the adoptions per site
(9,999 rows took 26 s, 22 s of them in ``spread_search_refresh_sites``).

Each refresh function (``spread_search_refresh_innovations``, ``_sites``, ``_adaptations``)
is renamed with a ``_now`` suffix, its body kept as it is, and a function of the old name
takes its place: it refreshes at once, as before, unless the transaction called
``spread_search_defer()``, in which case it notes the keys in the session's temporary table
``spread_search_pending`` (emptied at commit and gone with a rollback).
``spread_search_flush()`` then refreshes every noted document once, with the ``_now``
functions, and ends the deferral. The triggers themselves are unchanged; only the bulk
submission writer defers (and it flushes before it commits, so search never sees a committed
batch without its documents).
"""

from __future__ import annotations

from migrations._sql import execute_script

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (function, argument type, document type, key cast)
_REFRESHES = (
    ("spread_search_refresh_innovations", "uuid[]", "innovation", "uuid"),
    ("spread_search_refresh_sites", "text[]", "site", "text"),
    ("spread_search_refresh_adaptations", "uuid[]", "adaptation", "uuid"),
)


def _wrapper(name: str, arg: str, doc_type: str) -> str:
    return f"""
ALTER FUNCTION {name}({arg}) RENAME TO {name}_now;
CREATE FUNCTION {name}(p_keys {arg}) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spread.search_deferred', true) = 'on' THEN
        INSERT INTO spread_search_pending (doc_type, doc_key) SELECT '{doc_type}', k::text FROM unnest(p_keys) AS k;
    ELSE
        PERFORM {name}_now(p_keys);
    END IF;
END $$;
"""


UP = (
    "".join(_wrapper(name, arg, doc_type) for name, arg, doc_type, _ in _REFRESHES)
    + """
CREATE FUNCTION spread_search_defer() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.spread_search_pending') IS NULL THEN
        CREATE TEMP TABLE spread_search_pending (doc_type text NOT NULL, doc_key text NOT NULL)
            ON COMMIT DELETE ROWS;
    END IF;
    PERFORM set_config('spread.search_deferred', 'on', true);
END $$;

CREATE FUNCTION spread_search_flush() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spread.search_deferred', true) IS DISTINCT FROM 'on' THEN
        RETURN;
    END IF;
    PERFORM set_config('spread.search_deferred', 'off', true);
"""
    + "".join(
        f"""    PERFORM {name}_now(ARRAY(
        SELECT DISTINCT doc_key::{cast} FROM spread_search_pending WHERE doc_type = '{doc_type}'));
"""
        for name, _, doc_type, cast in _REFRESHES
    )
    + """    DELETE FROM spread_search_pending;
END $$;
"""
)

DOWN = """
DROP FUNCTION spread_search_flush();
DROP FUNCTION spread_search_defer();
""" + "".join(
    f"""
DROP FUNCTION {name}({arg});
ALTER FUNCTION {name}_now({arg}) RENAME TO {name};
"""
    for name, arg, _, _ in _REFRESHES
)


def upgrade() -> None:
    execute_script(UP)


def downgrade() -> None:
    execute_script(DOWN)
