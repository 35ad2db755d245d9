"""achievements: one row per learner, kind and key

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-29 08:45:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "achievements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("achieved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_achievements_learner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievements")),
        sa.UniqueConstraint("learner_id", "kind", "key", name=op.f("uq_achievements_learner_id_kind_key")),
    )
    op.create_index("ix_achievements_achieved_at", "achievements", ["achieved_at"], unique=False)
    op.create_index(op.f("ix_achievements_learner_id"), "achievements", ["learner_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_achievements_learner_id"), table_name="achievements")
    op.drop_index("ix_achievements_achieved_at", table_name="achievements")
    op.drop_table("achievements")
