"""learner digests keep the report's whole-history figures (learner_digests.report); events by learner and id

What a learner's analytics report needs beyond the digest's kept events (analytics.report_digest:
activity by hour and weekday, each module's first event and the completions), so the report of a long
history reads one row instead of the event log. Null until the learner's next evaluation (or
`flask monitoring digests`): the report then reads the event log, as before.

The index ix_events_learner_id (learner_id, id) answers "the learner's newest event" (is the digest
current?) and a learner's newest page of events in a few index entries whatever the history's length.
On PostgreSQL it is built CONCURRENTLY: writes to the event log go on meanwhile.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 18:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


INDEX = "ix_events_learner_id"


def upgrade():
    with op.batch_alter_table("learner_digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(INDEX, "events", ["learner_id", "id"], postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index(INDEX, "events", ["learner_id", "id"])


def downgrade():
    op.drop_index(INDEX, table_name="events")
    with op.batch_alter_table("learner_digests", schema=None) as batch_op:
        batch_op.drop_column("report")
