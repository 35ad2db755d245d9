"""alert feedback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alert_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "verdict IN ('useful', 'not_useful', 'false_alarm')", name=op.f("ck_alert_feedback_verdict_known")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_feedback_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_alert_feedback_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_feedback")),
        sa.UniqueConstraint("alert_id", "user_id", name=op.f("uq_alert_feedback_alert_id_user_id")),
    )
    with op.batch_alter_table("alert_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_feedback_alert_id"), ["alert_id"], unique=False)


def downgrade():
    with op.batch_alter_table("alert_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_feedback_alert_id"))
    op.drop_table("alert_feedback")
