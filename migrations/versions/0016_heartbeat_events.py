"""events.kind gains "heartbeat": session heartbeats kept apart from learning activity

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 12:00:00

"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAME = "ck_events_kind_known"
BEFORE = "kind IN ('activity', 'module_completed', 'assessment', 'grade', 'attendance')"
AFTER = "kind IN ('activity', 'module_completed', 'assessment', 'grade', 'attendance', 'heartbeat')"


def _replace_check(condition: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # NOT VALID, then VALIDATE: the scan of a large events table does not block writes meanwhile
        op.execute(f"ALTER TABLE events DROP CONSTRAINT {NAME}")
        op.execute(f"ALTER TABLE events ADD CONSTRAINT {NAME} CHECK ({condition}) NOT VALID")
        op.execute(f"ALTER TABLE events VALIDATE CONSTRAINT {NAME}")
        return
    with op.batch_alter_table("events", schema=None) as batch_op:  # SQLite: the table is copied
        batch_op.drop_constraint(op.f(NAME), type_="check")
        batch_op.create_check_constraint(op.f(NAME), condition)


def upgrade():
    _replace_check(AFTER)


def downgrade():
    op.execute("DELETE FROM events WHERE kind = 'heartbeat'")
    _replace_check(BEFORE)
