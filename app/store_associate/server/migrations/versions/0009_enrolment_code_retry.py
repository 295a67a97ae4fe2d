"""enrolment_code.enrolment_id_hash and enrolment_code.enrolment_attempt: a device whose enrolment answer
was lost retries with the enrolment id it sent the first time, and gets the same device with a new token

Plain ALTER TABLE ADD/DROP COLUMN on both databases, as in 0006 and 0008. Codes used before this revision
have no enrolment id, so they cannot be retried (as before).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('enrolment_code', sa.Column('enrolment_id_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                              nullable=True))
    op.add_column('enrolment_code', sa.Column('enrolment_attempt', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('enrolment_code', 'enrolment_attempt')
    op.drop_column('enrolment_code', 'enrolment_id_hash')
