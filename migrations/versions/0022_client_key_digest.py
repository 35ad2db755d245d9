"""client ids are unique by their 16-byte MD5 digest on PostgreSQL: `uq_events_client_key` replaces `uq_events_client_id`

Every stored event with a client id (an LMS sends one with every event; xAPI statements always have one) inserts
it into one unique index, the only index of the log whose size follows the log's length rather than its learners,
and whose keys are random: each insert dirties a random leaf, and after every checkpoint the first change to each
leaf writes the whole page to the WAL. Keyed by the id itself a 32-character id took 33 bytes a key (2.8 GB at
50M events, built sorted); keyed by `md5(client_id)::uuid` it takes 16: 1.5 GB, as large as each learner index.
Measured (bench/RESULTS.md, "Nineteenth session"), batches through the API sustained 6 minutes into a 50M log of
100,000 learners: 21,000 events/s before (0.77x the 1M log's rate in the same run), 27,800-28,200 after (0.97-0.98x).

What stays the same: ON CONFLICT names the index by its expression (models.events.CLIENT_KEY), an id repeated with
the same body is a duplicate and with another body a 409, and a look-up by client id goes through the index by
naming the digest and then compares the id itself. What changes: two different ids with the same MD5 now conflict.
Nobody meets that by chance (2^-128 a pair); a client can make it happen only to itself, by crafting its own two
colliding ids, and then gets a 409 for the second. md5() must be available (it is not on a server whose OpenSSL
runs in FIPS mode). SQLite keeps its unique constraint on the id itself.

The new index is built CONCURRENTLY, outside the migration's transaction: ingest goes on meanwhile (a 50M log
took 72 s here, the 1M log 5 s); only dropping the old constraint takes a lock on the table, briefly. If the build
fails it leaves an invalid index, which the next attempt replaces.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 12:00:00

"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

OLD = "uq_events_client_id"
NEW = "uq_events_client_key"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _postgresql():
        return
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NEW}")  # an invalid one a failed build left behind
        op.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {NEW} ON events ((md5(client_id)::uuid))")
    op.drop_constraint(OLD, "events", type_="unique")


def downgrade():
    if not _postgresql():
        return
    op.create_unique_constraint(OLD, "events", ["client_id"])
    op.drop_index(NEW, table_name="events")
