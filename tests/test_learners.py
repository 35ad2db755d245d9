"""Reading a learner's events and counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from models import User, db
from services.evaluation import update_learner_counters
from tests.conftest import bearer, create_user


def ingest(client, service, events):
    response = client.post("/api/v1/events", json={"events": events}, headers=service)
    assert response.status_code == 201, response.json
    return response


def test_events_are_paged_and_filtered(client, service):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ingest(
        client,
        service,
        [
            {
                "learner": "amy",
                "kind": "activity" if i % 2 else "assessment",
                "occurred_at": (start + timedelta(hours=i)).isoformat(),
                **({} if i % 2 else {"score": 5, "max_score": 10}),
            }
            for i in range(30)
        ],
    )
    page = client.get("/api/v1/learners/amy/events?limit=10", headers=service).json
    assert len(page["events"]) == 10 and page["next_before"]
    rest = client.get(f"/api/v1/learners/amy/events?limit=100&before={page['next_before']}", headers=service).json
    assert len(rest["events"]) == 20 and rest["next_before"] is None
    assessments = client.get("/api/v1/learners/amy/events?kind=assessment", headers=service).json["events"]
    assert len(assessments) == 15 and {e["kind"] for e in assessments} == {"assessment"}
    window = client.get(
        "/api/v1/learners/amy/events?since=2026-01-01T05:00:00Z&until=2026-01-01T10:00:00%2B00:00", headers=service
    ).json["events"]
    assert len(window) == 5


def test_every_combination_of_filters_is_the_same_page_as_filtering_all_events(client, service):
    """The page statement is built once per combination of filters (api.learners.routes._events_page): each of
    the 16 gives what filtering and paging the learner's whole history in Python gives, offsets included."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    kinds = ("activity", "assessment", "activity")
    ingest(
        client,
        service,
        [
            {
                "learner": "amy",
                "kind": kinds[i % 3],
                "occurred_at": (start + timedelta(hours=7 * i)).isoformat(),
                **({"score": i % 10, "max_score": 10} if i % 3 == 1 else {}),
            }
            for i in range(40)
        ],
    )
    everything = client.get("/api/v1/learners/amy/events?limit=1000", headers=service).json["events"]
    before = everything[12]["server_id"]
    since, until = start + timedelta(hours=30), start + timedelta(days=9)
    args = {
        "kind": ("kind=assessment", lambda e: e["kind"] == "assessment"),
        "before": (f"before={before}", lambda e: e["server_id"] < before),
        "since": ("since=2026-01-02T07:00:00%2B01:00", lambda e: datetime.fromisoformat(e["occurred_at"]) >= since),
        "until": ("until=2026-01-10T00:00:00Z", lambda e: datetime.fromisoformat(e["occurred_at"]) < until),
    }
    for shape in range(16):
        chosen = [args[name] for k, name in enumerate(args) if shape >> k & 1]
        query = "&".join(["limit=6", *(q for q, _ in chosen)])
        page = client.get(f"/api/v1/learners/amy/events?{query}", headers=service).json
        expected = [e for e in everything if all(keep(e) for _, keep in chosen)]
        assert page["events"] == expected[:6], query
        assert page["next_before"] == (expected[5]["server_id"] if len(expected) >= 6 else None), query


def test_bad_query_parameters_are_400(client, service):
    ingest(client, service, [{"learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z"}])
    for query, name in (("limit=0", "limit"), ("limit=abc", "limit"), ("kind=nap", "kind"), ("since=soon", "since")):
        response = client.get(f"/api/v1/learners/amy/events?{query}", headers=service)
        assert response.status_code == 400 and response.json["error"]["details"][0]["path"] == name


def test_summary_shows_counters_after_evaluation(client, service):
    client.put("/api/v1/sections/s1", json={"name": "S1"}, headers=service)
    ingest(
        client,
        service,
        [
            {"learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T09:00:00Z", "duration_seconds": 600},
            {
                "learner": "amy",
                "kind": "assessment",
                "occurred_at": "2026-01-02T09:00:00Z",
                "score": 8,
                "max_score": 10,
            },
            {
                "learner": "amy",
                "kind": "assessment",
                "occurred_at": "2026-01-03T09:00:00Z",
                "score": 6,
                "max_score": 10,
            },
            {"learner": "amy", "kind": "attendance", "section": "s1", "date": "2026-01-02", "status": "present"},
            {"learner": "amy", "kind": "attendance", "section": "s1", "date": "2026-01-03", "status": "absent"},
        ],
    )
    before = client.get("/api/v1/learners/amy/summary", headers=service).json["counters"]
    assert before["events_seen"] == 0 and before["last_evaluated_at"] is None
    update_learner_counters([db.session.scalar(sa.select(User.id).where(User.external_id == "amy"))])
    counters = client.get("/api/v1/learners/amy/summary", headers=service).json["counters"]
    assert counters["events_seen"] == 5 and counters["assessment_count"] == 2
    assert counters["average_score_percent"] == 70.0 and counters["attendance_percent"] == 50.0
    assert counters["time_spent_seconds"] == 600
    assert counters["last_activity_at"].startswith("2026-01-03T09:00:00")
    assert counters["last_progress_at"].startswith("2026-01-03T09:00:00")
    assert counters["last_evaluated_at"] is not None


def test_summary_and_analytics_give_one_attendance_percent(client, service):
    """Attendance percent has one definition (analytics.school): excused days leave the denominator."""
    client.put("/api/v1/sections/s1", json={"name": "S1"}, headers=service)
    statuses = ["present", "present", "late", "absent", "excused", "excused", "present"]
    for day, status in enumerate(statuses, start=1):
        response = client.post(
            "/api/v1/attendance",
            headers=service,
            json={"section": "s1", "date": f"2026-03-{day:02d}", "records": [{"learner": "amy", "status": status}]},
        )
        assert response.status_code == 201, response.json
    amy = db.session.scalar(sa.select(User).where(User.external_id == "amy"))
    update_learner_counters([amy.id])
    summary = client.get("/api/v1/learners/amy/summary", headers=service).json["counters"]["attendance_percent"]
    report = client.get("/api/v1/learners/amy/analytics", headers=service).json
    in_report = report["metrics"]["attendance_percent"]
    assert summary == in_report == 100 * 4 / 5  # 4 attended of 5 countable days


def test_the_page_reads_only_learners_the_caller_may_see_and_404s_as_before(client, service):
    """The page statement looks the learner up and narrows to the caller's learners itself: a learner outside an
    educator's sections is a 404 although they have events, an unknown one is a 404 before a bad argument's
    400, and a readable learner without events an empty page."""
    ted = bearer(create_user("ted", "educator"))
    client.put("/api/v1/sections/s1", json={"name": "S1", "educator": "ted"}, headers=service)
    ingest(
        client, service, [{"learner": who, "kind": "activity", "occurred_at": "2026-01-01T09:00:00Z"} for who in "ab"]
    )
    client.put("/api/v1/sections/s1/enrollments/a", json={}, headers=service)
    create_user("quiet", "learner")
    client.put("/api/v1/sections/s1/enrollments/quiet", json={}, headers=service)
    assert [e["kind"] for e in client.get("/api/v1/learners/a/events", headers=ted).json["events"]] == ["activity"]
    assert client.get("/api/v1/learners/b/events", headers=ted).status_code == 404  # b has events, not in s1
    assert client.get("/api/v1/learners/b/events", headers=service).json["learner"] == "b"
    assert client.get("/api/v1/learners/nobody/events?kind=nap", headers=service).status_code == 404
    assert client.get("/api/v1/learners/b/events?kind=nap", headers=ted).status_code == 404
    assert client.get("/api/v1/learners/a/events?kind=nap", headers=ted).status_code == 400
    quiet = client.get("/api/v1/learners/quiet/events", headers=ted)
    assert quiet.status_code == 200 and quiet.json == {"learner": "quiet", "events": [], "next_before": None}
    own = bearer(db.session.scalar(sa.select(User).where(User.external_id == "b")))
    assert client.get("/api/v1/learners/b/events", headers=own).json["learner"] == "b"
    assert client.get("/api/v1/learners/a/events", headers=own).status_code == 404
