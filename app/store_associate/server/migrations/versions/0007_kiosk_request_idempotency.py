"""customer_order: an Idempotency-Key without an API key (kiosk and counter requests) is unique too

The (api_key_id, idempotency_key) constraint treats NULL API keys as all different, so it never caught two
copies of one kiosk request taken by two server processes at once. A partial unique index does.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WHERE = sa.text("api_key_id IS NULL")


def upgrade() -> None:
    op.create_index(
        "uq_order_idempotency_no_api_key",
        "customer_order",
        ["idempotency_key"],
        unique=True,
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_order_idempotency_no_api_key", table_name="customer_order")
