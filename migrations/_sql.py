"""Run a multi-statement SQL script inside the migration's transaction.

asyncpg prepares every statement SQLAlchemy sends, and a prepared statement holds one
command; scripts with several statements (and $$-quoted function bodies) go through the
driver's simple-query protocol instead. Offline (``--sql``) they are printed as they are.
"""

from __future__ import annotations

from alembic import context, op
from sqlalchemy.util import await_only


def execute_script(sql: str) -> None:
    if context.is_offline_mode():
        op.execute(sql)
        return
    bind = op.get_bind()
    bind.exec_driver_sql("SELECT 1")  # make SQLAlchemy open the migration's transaction first
    await_only(bind.connection.driver_connection.execute(sql))
