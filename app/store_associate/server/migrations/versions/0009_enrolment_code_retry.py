"""enrolment_code.enrolment_id_hash and enrolment_code.enrolment_attempt: a device whose enrolment answer
was lost retries with the enrolment id it sent the first time, and gets the same device with a new token;
and an index of staff sessions by (device, staff, created_at), which every push reads for who signed in there

Plain ALTER TABLE ADD/DROP COLUMN on both databases, as in 0006 and 0008. Codes used before this revision
have no enrolment id, so they cannot be retried (as before).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "enrolment_code", sa.Column("enrolment_id_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
    )
    op.add_column("enrolment_code", sa.Column("enrolment_attempt", sa.Integer(), nullable=True))
    op.create_index("ix_staff_session_device_staff_created", "staff_session", ["device_id", "staff_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_session_device_staff_created", table_name="staff_session")
    op.drop_column("enrolment_code", "enrolment_attempt")
    op.drop_column("enrolment_code", "enrolment_id_hash")
