"""The declarative base, the Flask-SQLAlchemy handle and shared column helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Named constraints, so Alembic migrations behave the same on SQLite and PostgreSQL."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class Moment(sa.types.TypeDecorator):
    """A UTC instant: stored in UTC, always read back timezone-aware (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; every instant must carry its offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# SQLite has no 64-bit BIGINT autoincrement; use INTEGER there so ids still autoincrement.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def byte_key(length: int) -> sa.types.TypeEngine[str]:
    """A unique identifier string compared byte by byte: PostgreSQL's "C" collation (migration 0020).

    Under a linguistic collation every comparison in the unique index goes through strcoll; an
    identifier's equality is the same either way, and nothing sorts by it for people to read.
    SQLite compares bytes already (BINARY) and has no collation named "C".
    """
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def built_on(dialect: str):
    """alembic's include_object hook: leave out of autogenerate's comparison what a `ddl_if` keeps off this
    dialect's schema (models.events' client-id keys differ by backend); alembic itself does not read ddl_if."""

    def include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return reflected or condition is None or condition.dialect in (None, dialect)

    return include


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


class Timestamps:
    """created_at / updated_at kept by the ORM."""

    created_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Moment, default=utcnow, onupdate=utcnow)


def external_id_column() -> Mapped[str]:
    """The id the sending platform uses; unique per entity type."""
    return mapped_column(sa.String(128), unique=True, index=True)
