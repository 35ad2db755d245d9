"""A planted section for the roster and export tests: learners with improving, declining, flat and no
scores, ties on every column, a nameless learner and one whose name is a spreadsheet formula."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from models import User, db
from services.monitoring import build_inputs, evaluate_rules, store_snapshots
from tests.conftest import bearer, create_user

NOW = datetime.now(UTC).replace(microsecond=0)
FORMULA_NAME = '=HYPERLINK("http://evil.example/","click")'
PATTERNS = ("improving", "declining", "flat", "none")


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def learner_name(i: int) -> str | None:
    """Names with a tie (two 'Sam Lee'), a missing name and a formula."""
    if i == 3:
        return None
    if i in (4, 5):
        return "Sam Lee"
    if i == 7:
        return FORMULA_NAME
    return f"Learner {i:02d}"


def planted_events(i: int) -> list[dict[str, Any]]:
    """Learner i's events: five scores by pattern, a few active days, and attendance."""
    learner, pattern = f"l{i:02d}", PATTERNS[i % 4]
    scores = {"improving": [50, 58, 66, 74, 82], "declining": [80, 65, 55, 45, 35], "flat": [70] * 5}.get(pattern, [])
    events = [
        {"learner": learner, "kind": "assessment", "occurred_at": at(10 - 2 * k), "score": s, "max_score": 100}
        for k, s in enumerate(scores)
    ]
    if pattern != "none" or i % 8 == 3:  # some no-score learners are still active (not grey)
        events += [{"learner": learner, "kind": "activity", "occurred_at": at(d)} for d in range(i % 3 + 1)]
    statuses = ["present", "present", "absent" if i % 2 else "present", "late"]
    if i == 0:  # course work, for the completion forecast
        events += [
            {"learner": learner, "kind": "module_completed", "module": f"m{m}", "occurred_at": at(9 - 3 * m)}
            for m in range(2)
        ]
    events += [
        {
            "learner": learner,
            "kind": "attendance",
            "section": "s1",
            "date": (NOW - timedelta(days=d + 1)).date().isoformat(),
            "status": status,
        }
        for d, status in enumerate(statuses)
        if i % 5
    ]
    return events


def evaluate_like_the_worker(ids: list[int]) -> None:
    """What worker.tasks.evaluate_learners and the engagement sweep do after events arrive."""
    inputs = build_inputs(sorted(ids), time.time())
    evaluate_rules(ids, "performance", prepared=inputs)
    evaluate_rules(ids, "engagement")
    store_snapshots(ids, "event", prepared=inputs)


def plant_section(client, service, learners: int = 24) -> dict[str, Any]:
    """Section s1 (educator ted) with `learners` learners, s2 (una) with zed; all evaluated."""
    ted, una = create_user("ted", "educator", "Ted"), create_user("una", "educator", "Una")
    for section, educator in (("s1", "ted"), ("s2", "una")):
        put = client.put(
            f"/api/v1/sections/{section}", json={"name": section.upper(), "educator": educator}, headers=service
        )
        assert put.status_code == 201, put.json
    client.put("/api/v1/courses/c1", json={"title": "Algebra"}, headers=service)
    for m in range(4):
        module = {"course": "c1", "title": f"Unit {m}", "position": m}
        assert client.put(f"/api/v1/modules/m{m}", json=module, headers=service).status_code == 201
    for i in range(learners):
        create_user(f"l{i:02d}", "learner", learner_name(i))
    zed = create_user("zed", "learner", "Zed")
    events = [event for i in range(learners) for event in planted_events(i)]
    events += [{"learner": "zed", "kind": "assessment", "occurred_at": at(1), "score": 9, "max_score": 10}]
    for start in range(0, len(events), 500):
        response = client.post("/api/v1/events", json={"events": events[start : start + 500]}, headers=service)
        assert response.status_code == 201, response.json
    for i in range(learners):
        assert client.put(f"/api/v1/sections/s1/enrollments/l{i:02d}", json={}, headers=service).status_code == 201
    assert client.put("/api/v1/sections/s2/enrollments/zed", json={}, headers=service).status_code == 201
    ids = list(db.session.scalars(sa.select(User.id).where(User.role == "learner")))
    evaluate_like_the_worker(ids)
    amy = db.session.scalar(sa.select(User).where(User.external_id == "l00"))
    return {"ted": bearer(ted), "una": bearer(una), "service": service, "l00": bearer(amy), "zed": bearer(zed)}
