"""Each learner's school setting reaches the rules: the section's or course's time zone, and modules left."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import Course, Section, User, db
from services.monitoring import evaluate_rules
from services.rule_context import learner_time_zones
from tests.planted_cohort import NOW, learner_events, load_planted, open_alerts


def enroll(client, service, section: str, learner: str) -> None:
    response = client.put(f"/api/v1/sections/{section}/enrollments/{learner}", json={}, headers=service)
    assert response.status_code in (200, 201), response.get_json()


def ids_of(*names: str) -> list[int]:
    rows = dict(db.session.execute(sa.select(User.external_id, User.id).where(User.external_id.in_(names))).all())
    return [rows[name] for name in names]


def test_time_zone_is_set_through_the_entity_api_and_validated(client, service):
    response = client.put("/api/v1/courses/c1", json={"title": "C1", "time_zone": "Asia/Tokyo"}, headers=service)
    assert response.status_code == 201 and response.get_json()["time_zone"] == "Asia/Tokyo"
    section = {"name": "S1", "course": "c1", "time_zone": "Pacific/Kiritimati"}
    assert (
        client.put("/api/v1/sections/s1", json=section, headers=service).get_json()["time_zone"] == section["time_zone"]
    )
    for bad in ("Mars/Olympus", "../../etc/passwd", "+02:00", 3, ""):
        response = client.put("/api/v1/sections/s1", json={"time_zone": bad}, headers=service)
        assert response.status_code == 422, bad
        assert [d["path"] for d in response.get_json()["error"]["details"]] == ["time_zone"]
    assert db.session.scalar(sa.select(Section.time_zone)) == "Pacific/Kiritimati"
    assert client.get("/api/v1/courses/c1", headers=service).get_json()["time_zone"] == "Asia/Tokyo"
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert spec["SectionsPut"]["properties"]["time_zone"]["type"] == "string"
    assert spec["SectionsPut"]["properties"]["time_zone"]["nullable"] is True
    assert spec["CoursesPut"]["properties"]["time_zone"]["nullable"] is True


def test_null_resets_a_time_zone_to_the_default_and_other_nulls_change_nothing(app, client, service):
    app.config["ALERT_TIME_ZONE"] = "UTC"
    client.put("/api/v1/courses/c1", json={"title": "C1", "time_zone": "Asia/Tokyo"}, headers=service)
    client.put("/api/v1/sections/s1", json={"name": "S1", "course": "c1", "time_zone": "America/Lima"}, headers=service)
    client.put("/api/v1/users/a", json={"role": "learner"}, headers=service)
    enroll(client, service, "s1", "a")
    assert learner_time_zones(ids_of("a")) == ["America/Lima"]
    cleared = client.put("/api/v1/sections/s1", json={"time_zone": None, "name": None}, headers=service)
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["time_zone"] is None and cleared.get_json()["name"] == "S1"
    assert learner_time_zones(ids_of("a")) == ["Asia/Tokyo"], "the section's zone cleared: the course's counts"
    course = client.put("/api/v1/courses/c1", json={"time_zone": None}, headers=service)
    assert course.status_code == 200 and course.get_json()["time_zone"] is None
    assert course.get_json()["title"] == "C1"
    assert learner_time_zones(ids_of("a")) == ["UTC"], "both cleared: the server's ALERT_TIME_ZONE (default UTC)"
    assert client.get("/api/v1/sections/s1", headers=service).get_json()["time_zone"] is None
    assert client.put("/api/v1/sections/s1", json={"title": None}, headers=service).status_code == 422


def test_a_learner_counts_the_days_of_their_section_else_course_else_the_setting(app, client, service):
    app.config["ALERT_TIME_ZONE"] = "Europe/Paris"
    client.put("/api/v1/courses/c1", json={"title": "C1", "time_zone": "Asia/Tokyo"}, headers=service)
    client.put("/api/v1/courses/c2", json={"title": "C2"}, headers=service)
    client.put("/api/v1/sections/s1", json={"name": "S1", "course": "c1", "time_zone": "America/Lima"}, headers=service)
    client.put("/api/v1/sections/s2", json={"name": "S2", "course": "c1"}, headers=service)
    client.put("/api/v1/sections/s3", json={"name": "S3", "course": "c2"}, headers=service)
    for name in ("a", "b", "c", "d"):
        client.put(f"/api/v1/users/{name}", json={"role": "learner"}, headers=service)
    enroll(client, service, "s1", "a")
    enroll(client, service, "s2", "b")
    enroll(client, service, "s3", "c")
    zones = learner_time_zones(sorted(ids_of("a", "b", "c", "d")))
    assert dict(zip("abcd", zones, strict=True)) == {  # ids were created in this order
        "a": "America/Lima",
        "b": "Asia/Tokyo",
        "c": "Europe/Paris",
        "d": "Europe/Paris",
    }
    assert db.session.scalar(sa.select(Course.time_zone).where(Course.external_id == "c2")) is None


EVALUATED = NOW.replace(hour=10, minute=0, second=0) - timedelta(days=1 if NOW.hour < 10 else 0)  # 19:00 in Tokyo


def night_owl(name: str) -> list[dict]:
    """Active at 23:00 UTC 4 to 8 days ago: in UTC the last 3 whole days are empty, in Tokyo (UTC+9) they are not."""
    times = [(EVALUATED - timedelta(days=d)).replace(hour=23) for d in range(4, 9)]
    return [{"learner": name, "kind": "activity", "occurred_at": t.isoformat(), "module": "m1"} for t in times]


def test_day_rules_use_the_learners_section_zone(client, service):
    load_planted(client, service, {"owl_utc": night_owl("owl_utc"), "owl_tokyo": night_owl("owl_tokyo")})
    client.put("/api/v1/sections/tokyo", json={"name": "T", "course": "c1", "time_zone": "Asia/Tokyo"}, headers=service)
    enroll(client, service, "tokyo", "owl_tokyo")
    evaluate_rules(ids_of("owl_utc", "owl_tokyo"), "engagement", now=EVALUATED)
    found = open_alerts()
    assert "engagement_drop" in found["owl_utc"] and "engagement_drop" not in found.get("owl_tokyo", set())


@pytest.mark.parametrize("modules_done", [4, 3])
def test_no_stagnation_alert_once_the_course_is_finished(client, service, modules_done):
    days = [30, 27, 24, 21][:modules_done]  # a module every 3 days, the last 3 weeks ago; active every day since
    finisher = learner_events("finisher", list(range(31)), [], days)
    load_planted(client, service, {"finisher": finisher})  # course c1 has 4 modules
    client.put("/api/v1/sections/s1", json={"name": "S1", "course": "c1"}, headers=service)
    enroll(client, service, "s1", "finisher")
    evaluate_rules(ids_of("finisher"), "engagement")
    assert ("completion_stagnation" in open_alerts().get("finisher", set())) == (modules_done < 4)
