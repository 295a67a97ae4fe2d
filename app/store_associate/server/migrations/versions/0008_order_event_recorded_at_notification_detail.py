"""order_event.recorded_at (when the server wrote a step down; `at` is when the person did it) and
notification.detail (what a message is about beyond its order: the line a "line_rejected" mail names)

Plain ALTER TABLE ADD/DROP COLUMN on both databases, as in 0006. Events written before this revision were
dated when the server applied them, so their recorded time is their `at`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("order_event", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE order_event SET recorded_at = at")
    op.add_column("notification", sa.Column("detail", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column("notification", "detail")
    op.drop_column("order_event", "recorded_at")
