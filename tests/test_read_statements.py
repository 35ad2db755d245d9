"""Reads issue a constant number of SQL statements, however many rows they show (counted on the engine)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import User, db
from tests.conftest import bearer, create_user
from tests.statement_count import statements

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def busy_learner(client, service):
    """amy with 250 events, each referring to its own module, section and exam (the worst case for lookups)."""
    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    create_user("ted", "educator")
    events = []
    for i in range(250):
        client.put(f"/api/v1/modules/m{i}", json={"course": "c1", "title": f"M{i}", "position": i}, headers=service)
        if i < 20:
            client.put(
                f"/api/v1/sections/s{i}", json={"name": f"S{i}", "course": "c1", "educator": "ted"}, headers=service
            )
        events.append(
            {
                "learner": "amy",
                "kind": "assessment",
                "occurred_at": (START + timedelta(hours=i)).isoformat(),
                "score": i % 10,
                "max_score": 10,
                "module": f"m{i}",
                "skill": f"skill-{i % 7}",
                **({"section": f"s{i}"} if i < 20 else {}),
            }
        )
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    return service


def test_an_event_page_is_three_statements_at_most(client, busy_learner):
    first = client.get("/api/v1/learners/amy/events?limit=100", headers=busy_learner)  # warm the token cache
    with statements() as seen:
        page = client.get(
            f"/api/v1/learners/amy/events?limit=100&before={first.json['next_before']}", headers=busy_learner
        )
    assert page.status_code == 200 and len(page.json["events"]) == 100
    assert len(seen) <= 3, seen
    newest = first.json["events"][0]
    assert newest["module"] == "m249" and newest["course"] == "c1" and newest["score"] == 9
    with_section = client.get("/api/v1/learners/amy/events?limit=100&before=21", headers=busy_learner).json
    shown = {e["server_id"]: e for e in with_section["events"]}
    assert {shown[i]["section"] for i in range(1, 21)} == {f"s{i}" for i in range(20)}
    assert "exam" not in newest and "section" not in newest  # absent references stay absent


def test_the_events_export_is_a_constant_number_of_statements(client, busy_learner):
    with statements() as seen:
        response = client.get("/api/v1/learners/amy/events.csv", headers=busy_learner)
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 250 and {row["course"] for row in rows} == {"c1"}
    assert {row["module"] for row in rows} == {f"m{i}" for i in range(250)}
    assert len(seen) <= 6, seen  # authentication, learner, audit record, one batch of events


def test_learner_analytics_reads_a_constant_number_of_statements(client, busy_learner):
    """The report's statements do not grow with the learner's events or skills."""
    client.get("/api/v1/learners/amy/analytics", headers=busy_learner)  # a first read may train the cold model
    with statements() as seen:
        report = client.get("/api/v1/learners/amy/analytics", headers=busy_learner)
    assert report.status_code == 200 and len(report.json["mastery"]) == 7
    assert len(seen) <= 10, seen


def test_an_educators_event_page_has_the_same_bound(client, busy_learner, service):
    client.put("/api/v1/sections/s0/enrollments/amy", json={}, headers=service)
    ted = bearer(db.session.scalar(sa.select(User).where(User.external_id == "ted")))
    client.get("/api/v1/learners/amy/events", headers=ted)
    with statements() as seen:
        page = client.get("/api/v1/learners/amy/events", headers=ted)
    assert page.status_code == 200 and len(page.json["events"]) == 100 and len(seen) <= 4, seen


def test_skills_without_stored_mastery_are_replayed_from_their_attempts(client, busy_learner):
    """The report replays, from history, exactly the skills whose stored row is missing (all of them at once),
    and the replay equals what the ingest path stored step by step."""
    from models import SkillMastery

    stored = client.get("/api/v1/learners/amy/analytics", headers=busy_learner).json["mastery"]
    db.session.execute(sa.delete(SkillMastery).where(SkillMastery.skill.in_(["skill-0", "skill-3", "skill-5"])))
    db.session.commit()
    replayed = client.get("/api/v1/learners/amy/analytics", headers=busy_learner).json["mastery"]
    assert replayed == stored and [m["attempts"] for m in replayed] == [36] * 5 + [35] * 2


def test_the_page_json_is_event_json_of_every_row(client, busy_learner):
    """events_json (columns by position) gives each row exactly what event_json gives it, in the same key order,
    for every kind of event and reference."""
    from api.serializers import event_json, events_json, events_query
    from models import Event

    client.put("/api/v1/subjects/math", json={"name": "Math"}, headers=busy_learner)
    client.put("/api/v1/exams/x1", json={"title": "X", "max_marks": 20, "section": "s1"}, headers=busy_learner)
    more = [
        {"learner": "amy", "kind": "attendance", "occurred_at": START.isoformat(), "date": "2026-01-01",
         "status": "late", "section": "s1"},
        {"learner": "amy", "kind": "grade", "occurred_at": START.isoformat(), "exam": "x1", "marks": 12.5},
        {"learner": "amy", "kind": "activity", "occurred_at": START.isoformat(), "duration_seconds": 60,
         "subject": "math", "module": "m3"},
    ]  # fmt: skip
    assert client.post("/api/v1/events", json={"events": more}, headers=busy_learner).status_code == 201
    query = events_query().order_by(Event.id.desc())
    fast = events_json(db.session.execute(query))
    slow = [event_json(row) for row in db.session.execute(query)]
    assert fast == slow and [list(e) for e in fast] == [list(e) for e in slow] and len(fast) == 253
    kinds = {e["kind"]: e for e in fast}
    assert kinds["attendance"]["date"] == "2026-01-01" and kinds["grade"]["exam"] == "x1"
    assert kinds["activity"]["subject"] == "math"
