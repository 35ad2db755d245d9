"""Achievements against a real database and Redis: awarded once, announced once, listed by who may see them."""

from __future__ import annotations

import json

import pytest
import redis as redis_lib
import sqlalchemy as sa

from models import Achievement, User, db
from services.achievements import award_achievements
from services.analytics_data import load_event_arrays
from services.channels import STREAM_KEY, learner_channel, watch
from tests.conftest import bearer, create_user
from tests.planted_cohort import at

AMY_EXPECTED = {
    ("streak_milestone", "7"),
    ("module_completed", "m0"),
    ("module_completed", "m1"),
    ("course_completed", "c1"),
    ("first_perfect_score", "first"),
    ("personal_best", "90"),
    ("personal_best", "100"),
}


@pytest.fixture
def school(client, service, admin):
    """Course c1 (modules m0, m1); ted teaches s1 where amy is enrolled; bob is in no section of ted's."""
    client.put("/api/v1/courses/c1", json={"title": "Algebra"}, headers=service)
    for m in range(2):
        client.put(f"/api/v1/modules/m{m}", json={"course": "c1", "title": f"Unit {m}"}, headers=service)
    for name, role in (("amy", "learner"), ("bob", "learner"), ("ted", "educator")):
        client.put(f"/api/v1/users/{name}", json={"role": role}, headers=service)
    client.put("/api/v1/sections/s1", json={"name": "S1", "course": "c1", "educator": "ted"}, headers=service)
    client.put("/api/v1/sections/s1/enrollments/amy", json={}, headers=service)
    events = [{"learner": "amy", "kind": "activity", "occurred_at": at(d)} for d in range(6, -1, -1)]  # 7 days
    events += [
        {"learner": "amy", "kind": "assessment", "occurred_at": at(5 - i, 15), "score": s, "max_score": 100}
        for i, s in enumerate([60, 70, 80, 90, 100])
    ]
    events += [
        {"learner": "amy", "kind": "module_completed", "occurred_at": at(d, 16), "module": f"m{m}"}
        for m, d in ((0, 4), (1, 2), (0, 1))  # m0 twice: one achievement
    ]
    events.append({"learner": "bob", "kind": "assessment", "occurred_at": at(1), "score": 5, "max_score": 5})
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    people = {u.external_id: u for u in db.session.scalars(sa.select(User))}
    return {name: bearer(user) for name, user in people.items()} | {"admin": admin, "ids": people}


def award(*names: str) -> list[dict]:
    ids = sorted(db.session.scalars(sa.select(User.id).where(User.external_id.in_(names))))
    return award_achievements(ids, *load_event_arrays(ids))


def shown(rows: list[dict]) -> set[tuple[str, str]]:
    """(kind, readable key) of listed achievements: module and course external ids, personal bests' scores."""
    out = set()
    for row in rows:
        details = row["details"]
        key = {
            "module_completed": details.get("module"),
            "course_completed": details.get("course"),
            "personal_best": f"{details.get('score', 0):g}",
        }.get(row["kind"], row["key"])
        out.add((row["kind"], key if row["kind"] != "course_completed" else "c1"))
    return out


def published(client: redis_lib.Redis, channel: str) -> list[dict]:
    """The messages on a channel's stream (watching a channel starts its stream with an empty entry)."""
    entries = client.xrange(STREAM_KEY.format(channel))
    return [json.loads(fields[b"m"]) for _, fields in entries if b"m" in fields]


def test_each_achievement_is_stored_and_announced_once(app, school):
    client = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    watch(client, [learner_channel("amy")])  # someone follows amy: her messages are published
    first = award("amy", "bob")
    assert len(first) == 8 and db.session.scalar(sa.select(sa.func.count()).select_from(Achievement)) == 8
    assert award("amy", "bob") == [] and db.session.scalar(sa.select(sa.func.count()).select_from(Achievement)) == 8
    stream = published(client, learner_channel("amy"))
    assert [m["type"] for m in stream] == ["achievement"] * 7  # bob's are on his channel, nobody follows it
    assert all(m["data"]["learner"] == "amy" and m["data"]["type"] == "achievement" for m in stream)
    assert not any(m["data"]["action_required"] for m in stream)
    streak = next(m["data"] for m in stream if m["data"]["kind"] == "streak_milestone")
    assert streak["title"] == "7-day study streak" and streak["value"] == 7 and streak["details"] == {"days": 7}


def test_the_list_is_scoped_by_role_and_a_learner_never_sees_another_learners(client, school):
    award("amy", "bob")

    def listed(who: str, query: str = "") -> list[dict]:
        response = client.get(f"/api/v1/achievements{query}", headers=school[who])
        assert response.status_code == 200, response.json
        return response.json["achievements"]

    assert shown(listed("amy")) == AMY_EXPECTED and {a["learner"] for a in listed("amy")} == {"amy"}
    assert {a["learner"] for a in listed("bob")} == {"bob"} and len(listed("bob")) == 1
    assert {a["learner"] for a in listed("ted")} == {"amy"}  # bob is not in ted's sections
    assert {a["learner"] for a in listed("admin")} == {"amy", "bob"} and len(listed("admin")) == 8
    for who, query in (("amy", "?learner=bob"), ("bob", "?learner=amy"), ("ted", "?learner=bob")):
        response = client.get(f"/api/v1/achievements{query}", headers=school[who])
        assert response.status_code == 404, (who, query)
    assert client.get("/api/v1/achievements").status_code == 401
    assert shown(listed("ted", "?learner=amy&kind=personal_best")) == {
        ("personal_best", "90"),
        ("personal_best", "100"),
    }


def test_filters_paging_and_bad_parameters(client, school):
    award("amy", "bob")
    admin = school["admin"]
    page = client.get("/api/v1/achievements?limit=3", headers=admin).json
    assert len(page["achievements"]) == 3 and page["next_before"] == page["achievements"][-1]["id"]
    ids = [a["id"] for a in page["achievements"]]
    rest = client.get(f"/api/v1/achievements?limit=100&before={page['next_before']}", headers=admin).json
    assert len(rest["achievements"]) == 5 and rest["next_before"] is None
    assert ids == sorted(ids, reverse=True) and not set(ids) & {a["id"] for a in rest["achievements"]}
    kinds = client.get("/api/v1/achievements?kind=module_completed,course_completed", headers=admin).json
    assert {a["kind"] for a in kinds["achievements"]} == {"module_completed", "course_completed"}
    since = client.get("/api/v1/achievements", headers=admin, query_string={"since": at(1.5)}).json["achievements"]
    assert since and all(a["achieved_at"] >= at(1.5) for a in since) and len(since) < 8
    for query, field in (("?kind=medal", "kind"), ("?since=yesterday", "since"), ("?learnr=amy", "learnr")):
        response = client.get(f"/api/v1/achievements{query}", headers=admin)
        assert response.status_code == 400 and response.json["error"]["details"][0]["path"] == field, query


def test_history_older_than_a_week_is_stored_without_live_messages(app, client, service):
    create_user("old", "learner")
    events = [{"learner": "old", "kind": "assessment", "occurred_at": at(30), "score": 10, "max_score": 10}]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    redis = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    watch(redis, [learner_channel("old")])
    assert [row["kind"] for row in award("old")] == ["first_perfect_score"]
    assert published(redis, learner_channel("old")) == []


def test_one_batch_is_numbered_in_the_order_it_was_reached(client, school):
    award("amy")
    listed = client.get("/api/v1/achievements?learner=amy", headers=school["amy"]).json["achievements"]
    reached = [a["achieved_at"] for a in listed]
    assert reached == sorted(reached, reverse=True)  # newest id first = most recently reached first


def test_the_backfill_awards_stored_history_once_and_announces_nothing(app, school):
    """`flask achievements backfill`: learners who send no new event get what their history holds; a rerun
    awards nothing more; no live message is sent (a backfill is history, not news)."""
    client = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    watch(client, [learner_channel("amy"), learner_channel("bob")])
    runner = app.test_cli_runner()
    only_bob = runner.invoke(args=["achievements", "backfill", "--learner", "bob"])
    assert only_bob.exit_code == 0, only_bob.output
    assert "1 learners scanned, 1 awarded (first_perfect_score 1)" in only_bob.output
    everyone = runner.invoke(args=["achievements", "backfill", "--batch", "1"])
    assert everyone.exit_code == 0, everyone.output
    assert "2 learners scanned, 7 awarded" in everyone.output and "streak_milestone 1" in everyone.output
    again = runner.invoke(args=["achievements", "backfill"])
    assert again.exit_code == 0 and "2 learners scanned, 0 awarded" in again.output
    rows = db.session.scalars(sa.select(Achievement)).all()
    assert len(rows) == 8 and len({(a.learner_id, a.kind, a.key) for a in rows}) == 8
    amy = school["ids"]["amy"].id
    assert {(a.kind, a.key) for a in rows if a.learner_id == amy} >= {
        ("streak_milestone", "7"),
        ("first_perfect_score", "first"),
    }
    assert published(client, learner_channel("amy")) == published(client, learner_channel("bob")) == []
    assert award("amy", "bob") == [], "the next evaluation finds nothing new either"
    unknown = runner.invoke(args=["achievements", "backfill", "--learner", "ted"])
    assert unknown.exit_code == 2 and "no learner 'ted'" in unknown.output
