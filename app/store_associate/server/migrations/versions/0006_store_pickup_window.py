"""store: its own pickup window (hours a ready order waits before it expires; NULL: the chain's setting)

Plain ALTER TABLE ADD/DROP COLUMN on both databases (SQLite has DROP COLUMN since 3.35): batch mode would
copy the store table on SQLite, and dropping the old copy fails the foreign keys that point at it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("store", sa.Column("pickup_window_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("store", "pickup_window_hours")
