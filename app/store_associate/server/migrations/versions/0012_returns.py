"""customer returns: customer_return (the return, the server's policy decision, approval, refund), return_line,
return_event (the trail) and return_problem (what managers look at: units already returned, totals that differ)

New tables only: nothing existing changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(precision=12, scale=2)


def upgrade() -> None:
    op.create_table(
        "customer_return",
        sa.Column("number", _STR(length=16), nullable=False),
        sa.Column("store_code", _STR(length=16), nullable=False),
        sa.Column("receipt", _STR(length=32), nullable=True),
        sa.Column("gift_code", _STR(length=16), nullable=False),
        sa.Column("rma", _STR(length=16), nullable=False),
        sa.Column("channel", _STR(length=16), nullable=False),
        sa.Column("status", _STR(length=24), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("customer_name", _STR(length=120), nullable=False),
        sa.Column("customer_email", _STR(length=254), nullable=False),
        sa.Column("customer_phone", _STR(length=40), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("approved_by", _STR(length=16), nullable=True),
        sa.Column("approval", sa.JSON(), nullable=False),
        sa.Column("created_by", _STR(length=16), nullable=False),
        sa.Column("device_id", _STR(length=32), nullable=True),
        sa.Column("refund_total", _MONEY, nullable=False),
        sa.Column("refund", sa.JSON(), nullable=False),
        sa.Column("currency", _STR(length=3), nullable=False),
        sa.Column("refunded_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["receipt"], ["sale.receipt"]),
        sa.ForeignKeyConstraint(["store_code"], ["store.code"]),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index("ix_customer_return_receipt", "customer_return", ["receipt"])
    op.create_index("ix_customer_return_status", "customer_return", ["status"])
    op.create_index("ix_customer_return_customer_id", "customer_return", ["customer_id"])
    op.create_index("ix_return_store_version", "customer_return", ["store_code", "version"])
    op.create_index("ix_return_store_created", "customer_return", ["store_code", "created_at"])
    op.create_index("ix_return_email_refunded", "customer_return", ["customer_email", "refunded_at"])
    op.create_index("ix_return_phone_refunded", "customer_return", ["customer_phone", "refunded_at"])

    op.create_table(
        "return_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_number", _STR(length=16), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sale_line_no", sa.Integer(), nullable=True),
        sa.Column("sku", _STR(length=32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("reason", _STR(length=24), nullable=False),
        sa.Column("note", _STR(length=500), nullable=False),
        sa.Column("condition", _STR(length=16), nullable=False),
        sa.Column("disposition", _STR(length=24), nullable=False),
        sa.Column("serial", _STR(length=40), nullable=False),
        sa.Column("outcome", _STR(length=16), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("refund", _MONEY, nullable=False),
        sa.Column("fee", _MONEY, nullable=False),
        sa.Column("tax", _MONEY, nullable=False),
        sa.Column("received_qty", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["return_number"], ["customer_return.number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("return_number", "line_no", name="uq_return_line_no"),
    )
    op.create_index("ix_return_line_return_number", "return_line", ["return_number"])
    op.create_index("ix_return_line_sku", "return_line", ["sku"])

    op.create_table(
        "return_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_number", _STR(length=16), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("action", _STR(length=32), nullable=False),
        sa.Column("staff_number", _STR(length=16), nullable=True),
        sa.Column("device_id", _STR(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_return_event_return_number", "return_event", ["return_number"])

    op.create_table(
        "return_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_number", _STR(length=16), nullable=False),
        sa.Column("store_code", _STR(length=16), nullable=False),
        sa.Column("kind", _STR(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["return_number"], ["customer_return.number"]),
        sa.ForeignKeyConstraint(["store_code"], ["store.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_return_problem_return_number", "return_problem", ["return_number"])
    op.create_index("ix_return_problem_store_open", "return_problem", ["store_code", "resolved_at"])


def downgrade() -> None:
    op.drop_table("return_problem")  # (their indexes go with them)
    op.drop_table("return_event")
    op.drop_table("return_line")
    op.drop_table("customer_return")
