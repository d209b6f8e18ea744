"""outcomes: reserved slot in the revision chain (filled by the issue that builds it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from migrations._sql import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("SELECT 1")


def downgrade() -> None:
    execute_script("SELECT 1")
