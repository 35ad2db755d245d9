"""skill_mastery: fillfactor 45, so rewriting a row is a heap-only update (no index entry written)

The daily BKT refit rewrites every mastery row and ingest steps them one attempt at a time. Every mastery
update changes only unindexed columns (p_mastery, attempts, correct, updated_at), but full pages left no room
for the new version on its own page: each update moved the row and wrote both index entries again (14.2M
updates at 1M learners, 523 of them heap-only). With room on the page the update stays there and no index is
touched: rewriting one skill's 507k rows took 2.4 s instead of 5.7-7.7 s. The table is rewritten (VACUUM FULL,
PostgreSQL only) so the existing pages get the room too; it holds ACCESS EXCLUSIVE while it runs (~8 s for
6.1M rows here).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 01:45:00

"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _fillfactor(percent: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no fillfactor
    op.execute(f"ALTER TABLE skill_mastery SET (fillfactor = {percent})")
    with op.get_context().autocommit_block():
        op.execute("VACUUM FULL skill_mastery")


def upgrade():
    _fillfactor(45)


def downgrade():
    _fillfactor(100)
