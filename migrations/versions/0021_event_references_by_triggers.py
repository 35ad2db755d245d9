"""the event log's references are kept by delete triggers on the referenced tables, not foreign keys

The event log's six foreign keys (learner, course, module, section, subject, exam) checked every inserted row
against its parents: six AFTER triggers queued per row, and for each reference present an index probe and a
row lock (FOR KEY SHARE) on the parent, written to the WAL, shared with every concurrent batch naming the same
learner or module. Measured on the COPY of 1,000 new events from 3 connections at once (backend CPU per batch,
bench/RESULTS.md, fifteenth session): 25-28 ms with the keys against 15-19 without when events name no module,
and 35-40 against 13-20 when they name a module and its course, as an LMS's do.

The application never deletes a learner, course, module, section, subject or exam, and every id it stores
comes from a look-up in the same transaction. What the keys did when a row is deleted by hand is kept exactly,
by statement-level AFTER DELETE triggers on those six tables: a deleted learner's events go with them (was ON
DELETE CASCADE), a deleted course's, module's, section's, subject's or exam's are kept with that reference
cleared (was ON DELETE SET NULL). Unlike the keys, one statement's deletes clear the log in one pass.

What is no longer refused: an insert naming an id that does not exist, and a delete racing an insert of an
event that names the deleted row (the event keeps a dangling id, which reads join away). PostgreSQL drops the
keys without a scan or a table rewrite; SQLite copies the events table (its triggers fire per row).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 00:30:00

"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# (referenced table, the events column naming it, what happens to the events when a row of it is deleted)
REFERENCES = (
    ("users", "learner_id", "CASCADE"),
    ("courses", "course_id", "SET NULL"),
    ("modules", "module_id", "SET NULL"),
    ("sections", "section_id", "SET NULL"),
    ("subjects", "subject_id", "SET NULL"),
    ("exams", "exam_id", "SET NULL"),
)


def _key_name(table: str, column: str) -> str:
    return f"fk_events_{column}_{table}"


def _trigger_name(table: str) -> str:
    return f"events_follow_deleted_{table}"


def _effect(column: str, action: str, condition: str) -> str:
    """The statement that does to the events whose `column` meets `condition` what the key's ON DELETE did."""
    if action == "CASCADE":
        return f"DELETE FROM events WHERE {condition}"
    return f"UPDATE events SET {column} = NULL WHERE {condition}"


def _create_triggers(dialect: str) -> None:
    for table, column, action in REFERENCES:
        name = _trigger_name(table)
        if dialect == "postgresql":
            op.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{_effect(column, action, f'{column} IN (SELECT id FROM deleted)')}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER DELETE ON {table} REFERENCING OLD TABLE AS deleted "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
        else:  # SQLite has row triggers only
            op.execute(
                f"CREATE TRIGGER {name} AFTER DELETE ON {table} BEGIN {_effect(column, action, f'{column} = OLD.id')}; END"
            )


def _drop_triggers(dialect: str) -> None:
    for table, _, _ in REFERENCES:
        name = _trigger_name(table)
        op.execute(f"DROP TRIGGER {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION {name}()")


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:  # SQLite copies the table; PostgreSQL alters it
        for table, column, _ in REFERENCES:
            batch_op.drop_constraint(_key_name(table, column), type_="foreignkey")
    _create_triggers(op.get_bind().dialect.name)


def downgrade():
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    for table, column, action in REFERENCES:  # ids the triggers could not guard (an insert racing a delete)
        op.execute(_effect(column, action, f"{column} NOT IN (SELECT id FROM {table})"))
    with op.batch_alter_table("events", schema=None) as batch_op:
        for table, column, action in REFERENCES:
            batch_op.create_foreign_key(_key_name(table, column), table, [column], ["id"], ondelete=action)
