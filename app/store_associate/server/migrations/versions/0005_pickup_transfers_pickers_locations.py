"""pickup: transfers (ship-to-store), pickers, substitutes, floor locations, reminders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(length: int) -> sa.Column:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", _text(20), nullable=False),
        sa.Column("from_location", _text(16), nullable=False),
        sa.Column("to_store", _text(16), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("carrier", _text(16), nullable=False),
        sa.Column("tracking", _text(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["from_location"], ["store.code"]),
        sa.ForeignKeyConstraint(["to_store"], ["store.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transfer") as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_order_number"), ["order_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_from_location"), ["from_location"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_to_store"), ["to_store"], unique=False)
    with op.batch_alter_table("customer_order") as batch_op:
        batch_op.add_column(sa.Column("picker", _text(16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("parent_number", _text(20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("order_line") as batch_op:
        batch_op.add_column(sa.Column("substitute_sku", _text(32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("location", _text(16), nullable=False, server_default=""))
    with op.batch_alter_table("inventory_level") as batch_op:
        batch_op.add_column(sa.Column("location", _text(16), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("inventory_level") as batch_op:
        batch_op.drop_column("location")
    with op.batch_alter_table("order_line") as batch_op:
        batch_op.drop_column("location")
        batch_op.drop_column("substitute_sku")
    with op.batch_alter_table("customer_order") as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("parent_number")
        batch_op.drop_column("picker")
    op.drop_table("transfer")
