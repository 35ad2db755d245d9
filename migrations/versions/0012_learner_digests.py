"""learner digests: per-learner event digests the periodic sweeps read instead of the event log

Also (PostgreSQL) autovacuum settings for the tables that grow or churn most: the append-only event
log is vacuumed and analyzed after 2% new rows instead of 20% (visibility map for index-only scans,
statistics of recent times, freezing in small steps), and the digests, rewritten at each evaluation,
leave room for in-place (HOT) updates and are vacuumed after 5% dead rows.

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-29 08:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
EVENTS_AUTOVACUUM = "autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02"
DIGESTS_STORAGE = "fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05"


def upgrade():
    op.create_table(
        "learner_digests",
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("longest_streak", sa.Integer(), nullable=False),
        sa.Column("last_run", sa.Integer(), nullable=False),
        sa.Column("modules_left", sa.Float(), nullable=True),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_learner_digests_learner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("learner_id", name=op.f("pk_learner_digests")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE events SET ({EVENTS_AUTOVACUUM})")
        op.execute(f"ALTER TABLE learner_digests SET ({DIGESTS_STORAGE})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        names = ", ".join(setting.split(" = ")[0] for setting in EVENTS_AUTOVACUUM.split(", "))
        op.execute(f"ALTER TABLE events RESET ({names})")
    op.drop_table("learner_digests")
