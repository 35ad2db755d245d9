"""The alert API: lists with statistics, acknowledgement, history, preferences, notifications, overrides."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Alert, Enrollment, Section, User, db
from services.monitoring import evaluate_rules
from tests.conftest import bearer, create_user


@pytest.fixture
def alerted(planted, client, admin):  # noqa: F811
    evaluate_rules(planted.values(), "performance")
    evaluate_rules(planted.values(), "engagement")
    ted = create_user("ted", "educator")
    section = Section(external_id="s1", name="S1", educator_id=ted.id)
    db.session.add(section)
    db.session.flush()
    db.session.add(Enrollment(learner_id=planted["decliner"], section_id=section.id))
    db.session.commit()
    people = {name: bearer(db.session.get(User, pk)) for name, pk in planted.items()}
    return {**people, "ted": bearer(ted), "admin": admin}


def listed(client, headers, query=""):
    response = client.get(f"/api/v1/progress/performance-alerts/{query}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_lists_are_scoped_and_filtered(client, alerted):
    everything = listed(client, alerted["admin"])
    assert everything["statistics"]["total"] == len(everything["alerts"]) == 11
    assert everything["statistics"]["frequency"]["streak_milestone"] == 3
    assert everything["statistics"]["total_last_week"] == 11 and everything["statistics"][
        "average_per_day"
    ] == pytest.approx(11 / 7, 0.01)
    own = listed(client, alerted["decliner"])
    assert {a["learner"] for a in own["alerts"]} == {"decliner"} and len(own["alerts"]) == 4
    assert {a["learner"] for a in listed(client, alerted["ted"])["alerts"]} == {"decliner"}
    narrowed = listed(client, alerted["admin"], "?learner=disengaged&types=engagement_drop,low_consistency")
    assert {a["rule"] for a in narrowed["alerts"]} == {"engagement_drop", "low_consistency"}
    assert all(a["severity"] == "high" for a in listed(client, alerted["admin"], "?severity=high")["alerts"])
    assert (
        client.get("/api/v1/progress/performance-alerts/?learner=steady", headers=alerted["decliner"]).status_code
        == 404
    )
    bad = client.get("/api/v1/progress/performance-alerts/?types=gossip", headers=alerted["admin"])
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "types"
    assert client.get("/api/v1/alerts/statistics", headers=alerted["ted"]).json["total"] == 4


def test_acknowledge_records_who_and_why(client, alerted):
    alert_id = listed(client, alerted["decliner"], "?types=performance_decline")["alerts"][0]["id"]
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=alerted["steady"]).status_code == 404
    response = client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "talked after class"}, headers=alerted["ted"]
    )
    assert response.status_code == 200 and response.json["status"] == "acknowledged"
    again = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=alerted["ted"])
    assert again.status_code == 409
    history = client.get("/api/v1/alerts/history", headers=alerted["decliner"]).json["history"]
    ack = next(h for h in history if h["alert_id"] == alert_id and h["to_status"] == "acknowledged")
    assert (ack["actor"], ack["note"], ack["from_status"], ack["learner"]) == (
        "ted",
        "talked after class",
        "open",
        "decliner",
    )
    assert client.post("/api/v1/alerts/999999/acknowledge", json={}, headers=alerted["admin"]).status_code == 404
    assert (
        client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": 5}, headers=alerted["ted"]).status_code
        == 422
    )


def test_resolved_alerts_cannot_be_acknowledged(client, alerted):
    alert = db.session.scalar(sa.select(Alert).where(Alert.rule == "low_consistency").limit(1))
    alert.status = "resolved"
    db.session.commit()
    assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge", json={}, headers=alerted["admin"]).status_code == 409


def test_preferences_shape_notifications(client, alerted):
    headers = alerted["admin"]
    assert client.get("/api/v1/alerts/preferences", headers=headers).json == {
        "types": None,
        "min_severity": "low",
        "muted": False,
        "email_delivery": "daily",
    }
    assert len(client.get("/api/v1/notifications/", headers=headers).json["notifications"]) == 11
    saved = client.put(
        "/api/v1/alerts/preferences",
        json={"types": ["engagement_drop", "completion_stagnation"], "min_severity": "medium"},
        headers=headers,
    )
    assert saved.status_code == 200 and saved.json["min_severity"] == "medium"
    shown = client.get("/api/v1/notifications/", headers=headers).json["notifications"]
    assert shown and {n["rule"] for n in shown} <= {"engagement_drop", "completion_stagnation"}
    assert all(n["severity"] in ("medium", "high") for n in shown)
    client.put("/api/v1/alerts/preferences", json={"muted": True}, headers=headers)
    assert client.get("/api/v1/notifications/", headers=headers).json == {
        "notifications": [],
        "muted": True,
        "next_before": None,
    }
    client.put("/api/v1/alerts/preferences", json={"muted": False, "min_severity": "low"}, headers=headers)
    by_type = client.put("/api/v1/alerts/preferences", json={"types": ["achievement", "system"]}, headers=headers)
    assert by_type.status_code == 200 and by_type.json["types"] == ["achievement", "system"]
    shown = client.get("/api/v1/notifications/", headers=headers).json["notifications"]
    assert shown and {n["type"] for n in shown} <= {"achievement", "system"}
    assert {n["rule"] for n in shown} >= {"streak_milestone"}
    mixed = client.put("/api/v1/alerts/preferences", json={"types": ["engagement", "at_risk"]}, headers=headers)
    shown = client.get("/api/v1/notifications/", headers=headers).json["notifications"]
    assert mixed.json["types"] == ["engagement", "at_risk"]
    assert shown and all(n["type"] == "engagement" or n["rule"] == "at_risk" for n in shown)
    assert client.put("/api/v1/alerts/preferences", json={"types": ["all"]}, headers=headers).json["types"] is None
    assert len(client.get("/api/v1/notifications/", headers=headers).json["notifications"]) == 11
    for bad in ({"types": ["nope"]}, {"min_severity": "urgent"}, {"muted": "yes"}, {"colour": "red"}):
        assert client.put("/api/v1/alerts/preferences", json=bad, headers=headers).status_code == 422


def test_admin_manages_scoped_overrides(client, alerted):
    body = {
        "rule": "low_consistency",
        "parameter": "share_below",
        "scope_type": "learner",
        "scope": "inconsistent",
        "value": 0.3,
    }
    assert client.put("/api/v1/admin/thresholds", json=body, headers=alerted["ted"]).status_code == 403
    created = client.put("/api/v1/admin/thresholds", json=body, headers=alerted["admin"])
    assert created.status_code == 200 and created.json["scope"] == "inconsistent"
    replaced = client.put("/api/v1/admin/thresholds", json={**body, "value": 0.2}, headers=alerted["admin"]).json
    assert replaced["id"] == created.json["id"] and replaced["value"] == 0.2
    listed_overrides = client.get("/api/v1/admin/thresholds", headers=alerted["admin"]).json["overrides"]
    assert {o["rule"] for o in listed_overrides} == {"low_consistency", "at_risk"}
    for bad, field in (
        ({**body, "parameter": "loudness"}, "parameter"),
        ({**body, "scope": "ghost"}, "scope"),
        ({**body, "scope_type": "planet"}, "scope_type"),
        ({**body, "value": "high"}, "value"),
    ):
        response = client.put("/api/v1/admin/thresholds", json=bad, headers=alerted["admin"])
        assert response.status_code == 422 and response.json["error"]["details"][0]["path"] == field
    assert client.delete(f"/api/v1/admin/thresholds/{replaced['id']}", headers=alerted["admin"]).status_code == 204
    assert client.delete(f"/api/v1/admin/thresholds/{replaced['id']}", headers=alerted["admin"]).status_code == 404


def test_rules_are_listed_with_their_defaults(client, alerted):
    rules = {r["name"]: r for r in client.get("/api/v1/alerts/rules", headers=alerted["steady"]).json["rules"]}
    assert rules["performance_decline"]["defaults"] == {"average_below": 60.0, "consecutive": 2}
    # New parameters (minimum history, evidence) were added beside the original ones, never renamed.
    assert rules["engagement_drop"]["defaults"] == {"activities_per_day_below": 1.0, "days": 3, "min_history_days": 4}
    assert rules["completion_stagnation"]["defaults"] == {
        "days_without_progress": 5,
        "probability_at_most": 0.02,
        "min_modules": 3,
    }
    assert rules["low_consistency"]["defaults"] == {"share_below": 0.5, "days": 7, "min_history_days": 7}
    assert rules["high_performance"]["kind"] == "achievement"
    assert set(rules["high_performance"]["suppressed_by"]) == {
        "performance_decline",
        "declining_trend",
        "baseline_decline",
    }
    for rule in rules.values():  # every parameter is documented with its meaning and unit
        assert set(rule["parameters"]) == set(rule["defaults"]) and rule["false_alarm_rate"]
        assert all(
            p["meaning"] and p["unit"] and p["default"] == rule["defaults"][n] for n, p in rule["parameters"].items()
        )
    trend = rules["declining_trend"]["parameters"]
    assert trend["probability_at_least"]["default"] == 0.995 and trend["min_drop_points"]["unit"] == "points"


def test_threshold_preferences_for_learners_and_educators(client, alerted, planted):  # noqa: F811
    own = client.get("/api/v1/alerts/preferences", headers=alerted["inconsistent"]).json
    assert own["threshold_scope"] == {"type": "learner", "id": "inconsistent"}
    assert own["thresholds"]["low_consistency"] == {"share_below": 0.5, "days": 7, "min_history_days": 7}
    # A learner cannot silence the alerts their educators receive about them (read-only for them).
    hide = client.put(
        "/api/v1/alerts/preferences",
        json={"thresholds": {"low_consistency": {"share_below": 0.0}}, "muted": True},
        headers=alerted["inconsistent"],
    )
    assert hide.status_code == 403 and hide.json["error"]["details"][0]["path"] == "thresholds"
    db.session.execute(sa.update(Alert).values(status="resolved", resolved_at=None))  # start clean, no cooldown
    db.session.commit()
    evaluate_rules(planted.values(), "engagement")
    assert "low_consistency" in {
        a["rule"] for a in listed(client, alerted["admin"], "?learner=inconsistent&status=open")["alerts"]
    }
    unchanged = client.get("/api/v1/alerts/preferences", headers=alerted["inconsistent"]).json
    assert unchanged["thresholds"]["low_consistency"] == own["thresholds"]["low_consistency"] and not unchanged["muted"]

    section = client.put(
        "/api/v1/alerts/preferences?section=s1",
        json={"thresholds": {"engagement_drop": {"days": 5}}},
        headers=alerted["ted"],
    )
    assert section.status_code == 200 and section.json["threshold_scope"] == {"type": "section", "id": "s1"}
    assert section.json["thresholds"]["engagement_drop"]["days"] == 5
    assert (
        client.get("/api/v1/alerts/preferences?section=s1", headers=alerted["decliner"]).json["threshold_scope"]["type"]
        == "learner"
    )
    other = create_user("una", "educator")
    assert (
        client.put("/api/v1/alerts/preferences?section=s1", json={"thresholds": {}}, headers=bearer(other)).status_code
        == 404
    )


@pytest.mark.parametrize(
    "thresholds, path",
    [
        ({"nope": {"x": 1}}, "thresholds.nope"),
        ({"engagement_drop": {"loudness": 1}}, "thresholds.engagement_drop.loudness"),
        ({"engagement_drop": {"days": "three"}}, "thresholds.engagement_drop.days"),
        ([1], "thresholds"),
    ],
)
def test_bad_threshold_preferences_are_refused(client, alerted, thresholds, path):
    response = client.put(
        "/api/v1/alerts/preferences?section=s1", json={"thresholds": thresholds}, headers=alerted["ted"]
    )
    assert response.status_code == 422 and response.json["error"]["details"][0]["path"] == path


def test_admins_set_thresholds_through_the_admin_endpoint(client, alerted):
    response = client.put(
        "/api/v1/alerts/preferences", json={"thresholds": {"engagement_drop": {"days": 4}}}, headers=alerted["admin"]
    )
    assert response.status_code == 422 and "admin/thresholds" in response.json["error"]["details"][0]["reason"]


def test_feedback_on_alerts_and_the_quality_report(client, alerted):
    decliner_alerts = listed(client, alerted["ted"])["alerts"]
    first, second = decliner_alerts[0]["id"], decliner_alerts[1]["id"]
    given = client.post(f"/api/v1/alerts/{first}/feedback", json={"verdict": "useful"}, headers=alerted["ted"])
    assert given.status_code == 200 and given.json["verdict"] == "useful"
    changed = client.post(
        f"/api/v1/alerts/{first}/feedback", json={"verdict": "false_alarm", "note": "was ill"}, headers=alerted["ted"]
    )
    assert changed.json == {**changed.json, "verdict": "false_alarm", "note": "was ill"}  # replaces, one per person
    client.post(f"/api/v1/alerts/{first}/feedback", json={"verdict": "useful"}, headers=alerted["admin"])
    client.post(f"/api/v1/alerts/{second}/acknowledge", json={}, headers=alerted["ted"])
    bad = client.post(f"/api/v1/alerts/{first}/feedback", json={"verdict": "meh"}, headers=alerted["ted"])
    assert bad.status_code == 422 and bad.json["error"]["details"][0]["path"] == "verdict"
    missing = client.post(f"/api/v1/alerts/{first}/feedback", json={}, headers=alerted["ted"])
    assert missing.status_code == 422 and missing.json["error"]["details"][0]["path"] == "verdict"
    steady_alert = listed(client, alerted["admin"], "?learner=steady")["alerts"][0]["id"]
    hidden = client.post(f"/api/v1/alerts/{steady_alert}/feedback", json={"verdict": "useful"}, headers=alerted["ted"])
    assert hidden.status_code == 404  # not one of ted's learners
    learner_try = client.post(
        f"/api/v1/alerts/{first}/feedback", json={"verdict": "useful"}, headers=alerted["decliner"]
    )
    assert learner_try.status_code == 403

    report = client.get("/api/v1/alerts/quality", headers=alerted["admin"]).json
    rules = {row["rule"]: row for row in report["rules"]}
    rule_of_first = next(a["rule"] for a in decliner_alerts if a["id"] == first)
    assert rules[rule_of_first]["feedback"] == {"useful": 1, "not_useful": 0, "false_alarm": 1}
    assert rules[rule_of_first]["useful_share"] == 0.5
    assert (
        sum(row["raised"] for row in report["rules"]) == 11 and sum(row["acknowledged"] for row in report["rules"]) == 1
    )
    assert report["recovery_window_days"] == 14
    for_ted = client.get("/api/v1/alerts/quality", headers=alerted["ted"]).json
    assert sum(row["raised"] for row in for_ted["rules"]) == 4  # only the alerts of ted's learners
    assert client.get("/api/v1/alerts/quality", headers=alerted["decliner"]).status_code == 403


def test_every_alert_has_its_rules_type_and_whether_it_needs_action(client, alerted):
    alerts = listed(client, alerted["admin"])["alerts"]
    kinds = {a["rule"]: (a["type"], a["action_required"]) for a in alerts}
    assert kinds["streak_milestone"] == ("achievement", False)
    assert kinds["performance_decline"] == ("performance", True) and kinds["low_consistency"] == ("engagement", True)
    only = listed(client, alerted["admin"], "?types=achievement")["alerts"]
    assert only and {a["type"] for a in only} == {"achievement"}
    rules = {r["name"]: r for r in client.get("/api/v1/alerts/rules", headers=alerted["admin"]).json["rules"]}
    assert (rules["account_inactive"]["type"], rules["account_inactive"]["action_required"]) == ("system", True)
    csv = client.get("/api/v1/alerts/export.csv?types=streak_milestone", headers=alerted["admin"]).data.decode()
    header, first = csv.lstrip("\ufeff").splitlines()[:2]
    assert header.endswith(",type,action_required") and first.endswith(",achievement,false")
