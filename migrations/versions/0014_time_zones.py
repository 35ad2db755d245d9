"""time zones per course and section: courses.time_zone, sections.time_zone

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-29 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("courses", "sections"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade():
    for table in ("sections", "courses"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("time_zone")
