"""section summaries keep their members' figures

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-29 08:50:00

The per-learner figures (score average and count, attendance, risk light, anomaly score, weekly score
sums) the cohort endpoints aggregate, stored beside each section's summary by the worker.

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('section_summaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('members', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('section_summaries', schema=None) as batch_op:
        batch_op.drop_column('members')
