"""balances and the payments outbox: balance_account (a store-credit or gift-card code) and balance_entry (its
ledger: the balance is the sum of the entries; a unique idempotency key books a replay once), and
payment_request (card refunds waiting to be posted to the payment provider, with attempts and the next try)

New tables only: nothing existing changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "balance_account",
        sa.Column("code", _STR(length=16), nullable=False),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("currency", _STR(length=3), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_balance_account_customer_id", "balance_account", ["customer_id"])

    op.create_table(
        "balance_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", _STR(length=16), nullable=False),
        sa.Column("delta", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("reason", _STR(length=16), nullable=False),
        sa.Column("reference", _STR(length=64), nullable=False),
        sa.Column("idempotency_key", _STR(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["code"], ["balance_account.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_balance_entry_code_id", "balance_entry", ["code", "id"])
    op.create_index("ix_balance_entry_idempotency_key", "balance_entry", ["idempotency_key"], unique=True)

    op.create_table(
        "payment_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("idempotency_key", _STR(length=80), nullable=False),
        sa.Column("tender_reference", _STR(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", _STR(length=3), nullable=False),
        sa.Column("reference", _STR(length=32), nullable=False),
        sa.Column("store_code", _STR(length=16), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", _STR(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_reference", _STR(length=128), nullable=False),
        sa.ForeignKeyConstraint(["store_code"], ["store.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_request_idempotency_key", "payment_request", ["idempotency_key"], unique=True)
    op.create_index("ix_payment_request_due", "payment_request", ["status", "next_attempt_at"])
    op.create_index("ix_payment_request_store_status", "payment_request", ["store_code", "status"])


def downgrade() -> None:
    op.drop_table("payment_request")  # (its indexes go with it)
    op.drop_table("balance_entry")
    op.drop_table("balance_account")
