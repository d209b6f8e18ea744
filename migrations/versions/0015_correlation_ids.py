"""Correlation ids on the change log: ``changes.correlation_id``.

A caller's ``X-Correlation-ID`` (NHS API convention: the business transaction a request is part
of) travels in the transaction-local ``spread.actor`` setting next to the request id. The column
takes it by default, so the change-log trigger needs no change: every row a write transaction
records carries the id its request came with, and webhook deliveries of that change send it
back as ``X-Correlation-ID`` (next to ``X-Request-ID``).

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-06
"""

from migrations._sql import execute_script

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE changes ADD COLUMN correlation_id text
            DEFAULT (nullif(current_setting('spread.actor', true), '')::jsonb ->> 'correlationId');
        """
    )


def downgrade() -> None:
    execute_script("ALTER TABLE changes DROP COLUMN correlation_id;")
