"""What the benchmarks share: a throwaway PostgreSQL database of their own."""

from __future__ import annotations

import argparse

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def fresh_database(url: str) -> str:
    """Drop and create the database named in url (never the application's: each benchmark names its own)."""
    name = make_url(url).database
    admin = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url


def bench_parser(doc: str | None, database: str, redis_db: int) -> argparse.ArgumentParser:
    """The options every service benchmark has: its own PostgreSQL database and Redis database."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"postgresql://postgres@127.0.0.1:5432/{database}")
    parser.add_argument("--redis-url", default=f"redis://127.0.0.1:6379/{redis_db}")
    return parser


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]
