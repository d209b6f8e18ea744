"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Backward compatibility: the previous release of the service must still run against this
schema (add before you use; drop only in a later release).
"""

from migrations._sql import execute_script

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else 'execute_script("SELECT 1")'}


def downgrade() -> None:
    ${downgrades if downgrades else 'execute_script("SELECT 1")'}
