"""xapi: statements (the LRS store) and Basic credentials

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "xapi_statements",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("stored", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_ifi", sa.String(length=800), nullable=True),
        sa.Column("object_ifi", sa.String(length=800), nullable=True),
        sa.Column("verb_id", sa.String(length=512), nullable=False),
        sa.Column("activity_id", sa.String(length=512), nullable=True),
        sa.Column("registration", sa.String(length=36), nullable=True),
        sa.Column("voids", sa.String(length=36), nullable=True),
        sa.Column("event_kind", sa.String(length=24), nullable=True),
        sa.Column("unmapped_reason", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_statements")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_xapi_statements_statement_id")),
    )
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        for column in ("stored", "actor_ifi", "object_ifi", "verb_id", "activity_id", "registration", "voids"):
            batch_op.create_index(batch_op.f(f"ix_xapi_statements_{column}"), [column], unique=False)
        batch_op.create_index(
            "ix_xapi_statements_unmapped",
            ["id"],
            unique=False,
            postgresql_where=sa.text("unmapped_reason IS NOT NULL"),
            sqlite_where=sa.text("unmapped_reason IS NOT NULL"),
        )
    op.create_table(
        "xapi_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_credentials")),
        sa.UniqueConstraint("key", name=op.f("uq_xapi_credentials_key")),
    )


def downgrade():
    op.drop_table("xapi_credentials")
    op.drop_table("xapi_statements")
