"""exam summaries: each exam's graded learners' cohort figures, kept by the worker

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 11:40:00

GET /exams/<id>/analytics aggregates these stored figures (services.cohort_exams) instead of computing
the cohort report (with an isolation forest) per request.

"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exam_summaries",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exams.id"], name=op.f("fk_exam_summaries_exam_id_exams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("exam_id", name=op.f("pk_exam_summaries")),
    )


def downgrade():
    op.drop_table("exam_summaries")
