"""sales to return against: sale, sale_line, sale_tender; customer.loyalty_id (unique) and an index on
customer.phone (a return without a receipt finds the customer by phone); api_key.store_code (a till's key
belongs to one store)

The new columns are nullable, so existing rows need nothing. api_key.store_code is added with a plain ALTER TABLE
on SQLite, its foreign key inline (as 0006 does: batch mode would copy api_key, and dropping the old copy fails
the foreign key from customer_order.api_key_id as soon as one web order exists).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("customer", sa.Column("loyalty_id", _STR(length=16), nullable=True))
    op.create_index("ix_customer_loyalty_id", "customer", ["loyalty_id"], unique=True)
    op.create_index("ix_customer_phone", "customer", ["phone"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE api_key ADD COLUMN store_code VARCHAR(16) REFERENCES store (code)")
    else:
        op.add_column("api_key", sa.Column("store_code", _STR(length=16), nullable=True))
        op.create_foreign_key("fk_api_key_store_code", "api_key", "store", ["store_code"], ["code"])

    op.create_table(
        "sale",
        sa.Column("receipt", _STR(length=32), nullable=False),
        sa.Column("store_code", _STR(length=16), nullable=False),
        sa.Column("channel", _STR(length=16), nullable=False),
        sa.Column("order_number", _STR(length=20), nullable=False),
        sa.Column("till", _STR(length=8), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", _STR(length=3), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("tax", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("gift_code", _STR(length=16), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("request_hash", _STR(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["store_code"], ["store.code"]),
        sa.PrimaryKeyConstraint("receipt"),
    )
    op.create_index("ix_sale_store_code", "sale", ["store_code"])
    op.create_index("ix_sale_order_number", "sale", ["order_number"])
    op.create_index("ix_sale_customer_id", "sale", ["customer_id"])
    op.create_index("ix_sale_gift_code", "sale", ["gift_code"], unique=True)
    op.create_index("ix_sale_store_sold_at", "sale", ["store_code", "sold_at"])
    op.create_index("ix_sale_store_version", "sale", ["store_code", "version"])

    op.create_table(
        "sale_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt", _STR(length=32), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", _STR(length=32), nullable=False),
        sa.Column("name", _STR(length=200), nullable=False),
        sa.Column("category", _STR(length=80), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("tax", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("serial", _STR(length=40), nullable=False),
        sa.Column("final_sale", sa.Boolean(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["receipt"], ["sale.receipt"]),
        sa.ForeignKeyConstraint(["sku"], ["product.sku"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt", "line_no", name="uq_sale_line_no"),
    )
    op.create_index("ix_sale_line_receipt", "sale_line", ["receipt"])
    op.create_index("ix_sale_line_sku", "sale_line", ["sku"])
    op.create_index("ix_sale_line_serial", "sale_line", ["serial"])

    op.create_table(
        "sale_tender",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt", _STR(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("card_last4", _STR(length=4), nullable=False),
        sa.Column("reference", _STR(length=64), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["receipt"], ["sale.receipt"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sale_tender_receipt", "sale_tender", ["receipt"])


def downgrade() -> None:
    op.drop_table("sale_tender")  # (its indexes go with it)
    op.drop_table("sale_line")
    op.drop_table("sale")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_api_key_store_code", "api_key", type_="foreignkey")
    op.drop_column("api_key", "store_code")
    op.drop_index("ix_customer_phone", table_name="customer")
    op.drop_index("ix_customer_loyalty_id", table_name="customer")
    op.drop_column("customer", "loyalty_id")
