"""skill_mastery: drop ix_skill_mastery_learner_id, which the unique (learner_id, skill) index already serves

The unique constraint uq_skill_mastery_learner_id_skill is a btree index that leads with learner_id, so every
"this learner's mastery rows" look-up can use it; the single-column index only cost one more index write per
mastery row written (the BKT refit rewrites every learner's rows; ingest upserts them one by one).
On PostgreSQL it is dropped CONCURRENTLY (and rebuilt so on downgrade): reads and writes go on meanwhile.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 22:00:00

"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


INDEX = "ix_skill_mastery_learner_id"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(INDEX, table_name="skill_mastery", postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index(INDEX, table_name="skill_mastery")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(INDEX, "skill_mastery", ["learner_id"], postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index(INDEX, "skill_mastery", ["learner_id"])
