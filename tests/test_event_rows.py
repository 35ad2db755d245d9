"""Stored event rows are the same whichever insert path a batch takes: one event, a small batch (multi-row
INSERT) or a large one (binary COPY through the staging table on PostgreSQL), for every kind and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from api.events.ingest import PUBLIC_FIELDS, ROW_TAIL, public_event
from api.events.schemas import _validate_in_detail, validate_event
from api.events.store import (
    CLIENT_IDS_BY_DIGEST,
    COLUMNS,
    COPY_FROM_ROWS,
    COPY_TYPES,
    ID_SEQUENCE,
    ROW_COLUMNS,
    insert_events,
    stored_body_hashes,
)
from models import Course, Event, Exam, Module, Section, Subject, User, db
from models.events import CLIENT_KEY_INDEX
from tests.test_compiled_fields import reference_hash

NOW = datetime.now(UTC)


def catalog() -> None:
    course = Course(external_id="c1", title="Course")
    subject = Subject(external_id="maths", name="Maths")
    db.session.add_all([course, subject])
    db.session.flush()
    section = Section(external_id="s1", name="S1", course_id=course.id)
    db.session.add_all([Module(external_id="m1", course_id=course.id, title="M1"), section])
    db.session.flush()
    db.session.add(Exam(external_id="e1", title="Exam", max_marks=20, section_id=section.id))
    db.session.commit()


def events(tag: str) -> list[dict]:
    """Every kind with every field it takes, in several time zones; ids unique per tag."""
    out = []
    for i in range(COPY_FROM_ROWS + 6):
        at = (NOW - timedelta(minutes=i, microseconds=i)).astimezone(UTC if i % 2 else None)
        base = {"id": f"{tag}-{i}", "learner": f"L{i % 5}", "occurred_at": at.isoformat()}
        out += [
            {**base, "kind": "activity", "course": "c1", "module": "m1", "duration_seconds": i * 1.5},
            {**base, "id": None, "kind": "heartbeat", "section": "s1", "subject": "maths"},
            {**base, "kind": "assessment", "skill": "fractions", "score": i % 11, "max_score": 10.0},
            {**base, "kind": "module_completed", "module": "m1"},
            {**base, "kind": "grade", "exam": "e1", "marks": i % 20},
            {**base, "kind": "attendance", "section": "s1", "date": "2026-01-05", "status": "late"},
        ][i % 6 : i % 6 + 1]
    return [{key: value for key, value in event.items() if value is not None} for event in out]


STORED = [name for name in ROW_COLUMNS if name not in ("client_id", "body_hash", "received_at")]


def stored_rows(client_ids: list[str]) -> list[tuple]:
    """The stored rows of these events in order: their body hash, then STORED."""
    columns = [Event.__table__.c[name] for name in ("client_id", "body_hash", *STORED)]
    by_client = {row[0]: tuple(row[1:]) for row in db.session.execute(sa.select(*columns))}
    return [by_client[client_id] for client_id in client_ids]


def test_every_insert_path_stores_the_same_rows(client, service):
    catalog()
    paths = {tag: events(tag) for tag in ("bulk", "small", "one")}
    assert client.post("/api/v1/events", json={"events": paths["bulk"]}, headers=service).status_code == 201
    for start in range(0, len(paths["small"]), 10):
        batch = {"events": paths["small"][start : start + 10]}
        assert client.post("/api/v1/events", json=batch, headers=service).json["stored"]
    for event in paths["one"]:
        assert client.post("/api/v1/events", json=event, headers=service).status_code == 201
    rows = {}
    for tag, sent in paths.items():
        named = [event for event in sent if "id" in event]
        rows[tag] = stored_rows([event["id"] for event in named])
        for event, row in zip(named, rows[tag]):  # the fingerprint is what it always was
            clean = _validate_in_detail(event, "", NOW, timedelta(seconds=300))[0]
            assert row[0] == reference_hash({key: value for key, value in clean.items() if key != "hash"})
    assert [row[1:] for row in rows["bulk"]] == [row[1:] for row in rows["small"]] == [row[1:] for row in rows["one"]]
    for row in rows["bulk"]:  # floats stay floats, whichever path
        values = dict(zip(STORED, row[1:]))
        assert all(values[name] is None or type(values[name]) is float for name in ("score", "max_score", "marks"))
    assert {dict(zip(STORED, row[1:]))["kind"] for row in rows["bulk"]} == {
        "activity",
        "assessment",
        "module_completed",
        "grade",
        "attendance",
    }
    anonymous = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.client_id.is_(None)))
    assert anonymous == 3 * sum("id" not in event for event in paths["bulk"])


def test_rows_follow_the_stores_columns():
    """ingest builds rows in store's column order, and binary COPY declares each column's own type."""
    assert ROW_COLUMNS == ("client_id", "body_hash", "learner_id", "kind", "occurred_at", "received_at", *ROW_TAIL)
    table = Event.__table__
    assert list(COLUMNS) == [column.name for column in table.columns]
    names = {"BIGINT": "int8", "INTEGER": "int4", "TIMESTAMP WITH TIME ZONE": "timestamptz", "FLOAT": "float8"}
    declared = [column.type.compile(dialect=postgresql.dialect()) for column in table.columns]
    expected = [names.get(name, "varchar" if name.startswith("VARCHAR") else name.lower()) for name in declared]
    assert list(COPY_TYPES) == expected


def test_the_id_sequence_is_the_events_one(app):
    if db.engine.dialect.name == "postgresql":
        found = db.session.scalar(sa.text("SELECT pg_get_serial_sequence('events', 'id')"))
        assert found.split(".")[-1] == ID_SEQUENCE
    else:  # SQLite has no sequence: rows take ids from the table itself, and the name is never used
        assert db.session.scalar(sa.text("SELECT count(*) FROM sqlite_master WHERE name = :n"), {"n": ID_SEQUENCE}) == 0


def reference_public_event(event: dict, server_id: int) -> dict:
    """public_event as it was written before (commit fcb40f8)."""
    body = {
        "server_id": server_id,
        "id": event.get("id"),
        "learner": event["learner"],
        "kind": event["kind"],
        "occurred_at": event["occurred_at"].isoformat(),
    }
    get = event.get
    body.update({key: value for key in PUBLIC_FIELDS if (value := get(key)) is not None})
    if event.get("date") is not None:
        body["date"] = event["date"].isoformat()
    return body


def test_public_view_is_unchanged():
    views = 0
    for tag in ("a", "b"):
        for raw in events(tag):
            clean, errors = validate_event(raw, "", NOW, timedelta(seconds=300))
            assert not errors
            clean.update({"course_id": 3, "index": 7, "skill": clean.get("skill"), "status": None})
            assert json.dumps(public_event(clean, 42)) == json.dumps(reference_public_event(clean, 42))
            views += 1
    assert views > 100


def _bulk_rows(learner_id: int, client_ids: list[str | None]) -> list[tuple]:
    """Rows as ingest builds them (ROW_COLUMNS), enough of them for the bulk path."""
    tail = (None,) * (len(ROW_COLUMNS) - 6)
    return [(cid, f"hash-{cid}", learner_id, "activity", NOW, NOW, *tail) for cid in client_ids]


def _staging_table_exists() -> bool:
    return db.session.scalar(sa.text("SELECT to_regclass('pg_temp.events_incoming') IS NOT NULL"))


def test_a_bulk_batch_of_new_events_is_stored_straight_and_repeats_go_through_on_conflict(app):
    """New client ids go straight into events (no staging table); a batch naming a stored id (and, on PostgreSQL,
    one naming an id twice, as a group commit of two requests may) is stored as ON CONFLICT DO NOTHING stores it:
    each first appearance once, every repeat skipped (None)."""
    learner = User(external_id="bulk-learner", role="learner")
    db.session.add(learner)
    db.session.flush()
    fresh = [f"fresh-{i}" for i in range(COPY_FROM_ROWS)] + [None, None]
    ids = insert_events(_bulk_rows(learner.id, fresh))
    assert None not in ids and len(set(ids)) == len(fresh)
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        assert ids == sorted(ids) and not _staging_table_exists()
    repeated = [f"again-{i}" for i in range(COPY_FROM_ROWS)]
    mixed = ["fresh-3", *repeated, *(["again-5"] if postgresql else []), None, "fresh-0"]
    ids = insert_events(_bulk_rows(learner.id, mixed))
    skipped = [cid for cid, pk in zip(mixed, ids) if pk is None]
    assert skipped == ["fresh-3", *(["again-5"] if postgresql else []), "fresh-0"]
    db.session.commit()
    stored = db.session.scalars(sa.select(Event.client_id).where(Event.learner_id == learner.id)).all()
    assert sorted(map(str, stored)) == sorted(map(str, fresh + repeated + [None]))


def test_a_bulk_batch_still_fails_on_other_errors(app):
    """Only a repeated client id sends a batch to the staging table: any other error (here a kind the table's check
    refuses) fails the insert as before."""
    learner = User(external_id="bulk-learner", role="learner")
    db.session.add(learner)
    db.session.flush()
    rows = [
        row[:3] + ("unheard-of",) + row[4:]
        for row in _bulk_rows(learner.id, [f"odd-{i}" for i in range(COPY_FROM_ROWS)])
    ]
    with pytest.raises(sa.exc.IntegrityError if db.engine.dialect.name == "sqlite" else psycopg.errors.CheckViolation):
        insert_events(rows)
        db.session.flush()
    db.session.rollback()


def test_stored_client_ids_are_found_through_the_one_index_that_keys_them(app):
    """A skipped row's stored body hash is found for the ids stored, and only those. On PostgreSQL the one index
    naming client_id is the unique one on its digest (migration 0022), and the look-up can use it."""
    learner = User(external_id="digest-learner", role="learner")
    db.session.add(learner)
    db.session.flush()
    insert_events(_bulk_rows(learner.id, ["k-1", "k-2", None]))
    assert stored_body_hashes({"k-1", "k-3"}) == {"k-1": "hash-k-1"}
    assert stored_body_hashes(set()) == {}
    if db.engine.dialect.name != "postgresql":
        return
    indexes = db.session.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"))
    keyed = {name: definition for name, definition in indexes if "client_id" in definition}
    assert list(keyed) == [CLIENT_KEY_INDEX]
    assert keyed[CLIENT_KEY_INDEX].startswith("CREATE UNIQUE INDEX") and "md5" in keyed[CLIENT_KEY_INDEX]
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a table this small would be scanned anyway
    explain = sa.text(f"EXPLAIN {CLIENT_IDS_BY_DIGEST.text}").bindparams(
        sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text))
    )
    plan = "\n".join(db.session.scalars(explain, {"ids": ["k-1"]}))
    assert CLIENT_KEY_INDEX in plan, plan
    db.session.rollback()
