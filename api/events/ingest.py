"""Store a batch of events all-or-nothing: validate, resolve external ids, de-duplicate, insert."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from api.errors import ApiError, field_error
from api.events.schemas import REFERENCE_FIELDS, validate_event
from models.upsert import dialect_insert, ids_by_external_id, insert_missing, upsert_rows
from models import Attendance, Course, Event, Exam, Grade, Module, Section, Subject, User, db

REFERENCE_MODELS = {"course": Course, "module": Module, "section": Section, "subject": Subject, "exam": Exam}
EVENT_COLUMNS = ("kind", "occurred_at", "skill", "score", "max_score", "duration_seconds", "marks", "date", "status")


@dataclass
class IngestResult:
    """What a batch did: new event ids in batch order, client ids already stored, learners touched."""

    stored_ids: list[int] = field(default_factory=list)
    duplicate_client_ids: list[str] = field(default_factory=list)
    learner_ids: set[int] = field(default_factory=set)


def _path(index: int, collection: str | None) -> str:
    """Field-path prefix of one item: "" for a single event, "events[3]." in a batch."""
    return "" if collection is None else f"{collection}[{index}]."


def _validate_all(raw_events: list[Any], collection: str | None, skew: timedelta) -> tuple[list[dict[str, Any]], list[dict]]:
    now = datetime.now(timezone.utc)
    events, errors = [], []
    for index, raw in enumerate(raw_events):
        clean, event_errors = validate_event(raw, _path(index, collection), now, skew)
        clean["index"] = index
        events.append(clean)
        errors.extend({"index": index, **error} for error in event_errors)
    return events, errors


def _lookup_references(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """One query per referenced entity type."""
    found = {}
    for name in REFERENCE_FIELDS:
        wanted = {event[name] for event in events if name in event}
        found[name] = ids_by_external_id(REFERENCE_MODELS[name], wanted) if wanted else {}
    return found


def _learner_roles(events: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    wanted = sorted({event["learner"] for event in events})
    roles: dict[str, tuple[int, str]] = {}
    for start in range(0, len(wanted), 1000):
        rows = db.session.execute(sa.select(User.external_id, User.id, User.role)
                                  .where(User.external_id.in_(wanted[start:start + 1000])))
        roles.update({ext: (pk, role) for ext, pk, role in rows})
    return roles


def _resolve(events: list[dict[str, Any]], collection: str | None, auto_create: bool) -> list[dict]:
    """Turn external ids into row ids in place; return the reference errors."""
    refs = _lookup_references(events)
    learners = _learner_roles(events)
    exam_max = dict(db.session.execute(sa.select(Exam.id, Exam.max_marks).where(Exam.id.in_(refs["exam"].values()))).all())
    module_course = dict(db.session.execute(sa.select(Module.id, Module.course_id).where(Module.id.in_(refs["module"].values()))).all())
    errors = []
    for event in events:
        prefix, index = _path(event["index"], collection), event["index"]
        known = learners.get(event["learner"])
        if known is None and not auto_create:
            errors.append({"index": index, **field_error(f"{prefix}learner", f"unknown learner {event['learner']!r} (auto-creation is off)")})
        elif known is not None and known[1] != "learner":
            errors.append({"index": index, **field_error(f"{prefix}learner", f"{event['learner']!r} is a {known[1]}, not a learner")})
        for name in REFERENCE_FIELDS:
            if name in event:
                event[f"{name}_id"] = refs[name].get(event[name])
                if event[f"{name}_id"] is None:
                    errors.append({"index": index, **field_error(f"{prefix}{name}", f"unknown {name} {event[name]!r}")})
        if event.get("module_id"):
            course_of_module = module_course[event["module_id"]]
            if event.get("course_id") not in (None, course_of_module):
                errors.append({"index": index, **field_error(f"{prefix}module", f"module {event['module']!r} is not in course {event['course']!r}")})
            event["course_id"] = course_of_module
        if event.get("exam_id") and event["marks"] > exam_max[event["exam_id"]]:
            errors.append({"index": index, **field_error(f"{prefix}marks", f"must be between 0 and the exam's max_marks ({exam_max[event['exam_id']]:g})")})
    return errors


def _conflict(events: list[dict[str, Any]], collection: str | None) -> ApiError:
    details = [{"index": e["index"], **field_error(f"{_path(e['index'], collection)}id", f"event id {e['id']!r} was already used for a different event")} for e in events]
    return ApiError(409, "an event id was reused with a different body", details=details)


def _split_duplicates(events: list[dict[str, Any]], collection: str | None) -> tuple[list[dict], list[str]]:
    """New events, and client ids already stored with the same body; 409 on a changed body."""
    seen: dict[str, str] = {}
    fresh, duplicates, conflicts = [], [], []
    stored = _stored_hashes({event["id"] for event in events if "id" in event})
    for event in events:
        client_id = event.get("id")
        if client_id is None:
            fresh.append(event)
            continue
        known = stored.get(client_id, seen.get(client_id))
        if known is None:
            seen[client_id] = event["hash"]
            fresh.append(event)
        elif known == event["hash"]:
            duplicates.append(client_id)
        else:
            conflicts.append(event)
    if conflicts:
        raise _conflict(conflicts, collection)
    return fresh, duplicates


def _stored_hashes(client_ids: set[str]) -> dict[str, str]:
    wanted, found = sorted(client_ids), {}
    for start in range(0, len(wanted), 1000):
        rows = db.session.execute(sa.select(Event.client_id, Event.body_hash).where(Event.client_id.in_(wanted[start:start + 1000])))
        found.update(dict(rows.all()))
    return found


def _create_missing_learners(events: list[dict[str, Any]]) -> dict[str, int]:
    external_ids = {event["learner"] for event in events}
    insert_missing(User, "external_id", [{"external_id": ext, "role": "learner", "name": None, "active": True,
                                          "created_at": datetime.now(timezone.utc), "updated_at": datetime.now(timezone.utc)}
                                         for ext in sorted(external_ids)])
    return ids_by_external_id(User, external_ids)


def _event_row(event: dict[str, Any], learner_id: int, received_at: datetime) -> dict[str, Any]:
    row = {column: event.get(column) for column in EVENT_COLUMNS}
    row.update(client_id=event.get("id"), body_hash=event["hash"], learner_id=learner_id, received_at=received_at,
               **{f"{name}_id": event.get(f"{name}_id") for name in REFERENCE_FIELDS})
    return row


def _insert(events: list[dict[str, Any]], learner_ids: dict[str, int], collection: str | None) -> tuple[list[int], list[str]]:
    """Insert the events; a concurrent writer that stored the same client id first makes ours a duplicate."""
    received_at = datetime.now(timezone.utc)
    rows = [_event_row(event, learner_ids[event["learner"]], received_at) for event in events]
    anonymous = [row for row in rows if row["client_id"] is None]
    named = [row for row in rows if row["client_id"] is not None]
    ids_by_position: dict[int, int] = {}
    if anonymous:
        table = Event.__table__
        result = db.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), anonymous)
        ids_by_position.update({id(row): pk for row, pk in zip(anonymous, result.scalars())})
    lost: list[str] = []
    if named:
        table = Event.__table__
        stmt = dialect_insert(Event).on_conflict_do_nothing(index_elements=["client_id"]).returning(table.c.id, table.c.client_id)
        inserted = dict((client_id, pk) for pk, client_id in db.session.execute(stmt, named))
        for row in named:
            if row["client_id"] in inserted:
                ids_by_position[id(row)] = inserted[row["client_id"]]
            else:
                lost.append(row["client_id"])
    if lost:
        stored = _stored_hashes(set(lost))
        changed = [event for event in events if event.get("id") in lost and stored.get(event["id"]) != event["hash"]]
        if changed:
            raise _conflict(changed, collection)
    return [ids_by_position[id(row)] for row in rows if id(row) in ids_by_position], lost


def _apply_school_records(events: list[dict[str, Any]], learner_ids: dict[str, int]) -> None:
    """Keep the current grade per exam and the attendance row per learner, section and day."""
    grades, attendance = {}, {}
    now = datetime.now(timezone.utc)
    for event in events:
        learner_id = learner_ids[event["learner"]]
        if event["kind"] == "grade":
            grades[(event["exam_id"], learner_id)] = {"exam_id": event["exam_id"], "learner_id": learner_id,
                                                     "marks": event["marks"], "recorded_at": now}
        elif event["kind"] == "attendance":
            attendance[(learner_id, event["section_id"], event["date"])] = {
                "learner_id": learner_id, "section_id": event["section_id"], "date": event["date"],
                "status": event["status"], "recorded_at": now}
    upsert_rows(Grade, ["exam_id", "learner_id"], list(grades.values()), ["marks", "recorded_at"])
    upsert_rows(Attendance, ["learner_id", "section_id", "date"], list(attendance.values()), ["status", "recorded_at"])


def ingest_events(raw_events: list[Any], *, collection: str | None, auto_create: bool, skew: timedelta) -> IngestResult:
    """Validate and store a batch as one transaction; raises ApiError (422/409) and stores nothing on failure."""
    events, errors = _validate_all(raw_events, collection, skew)
    if not errors:
        errors = _resolve(events, collection, auto_create)
    if errors:
        raise ApiError(422, f"{len({e['index'] for e in errors})} of {len(raw_events)} event(s) are invalid; nothing was stored", details=errors)
    try:
        fresh, duplicates = _split_duplicates(events, collection)
        learner_ids = _create_missing_learners(events)
        stored_ids, lost = _insert(fresh, learner_ids, collection)
        stored_events = [event for event in fresh if event.get("id") not in lost]
        _apply_school_records(stored_events, learner_ids)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return IngestResult(stored_ids, duplicates + lost, {learner_ids[e["learner"]] for e in stored_events})
