"""The audit log: security-relevant actions are recorded with actor, time and target; admins read them."""

from __future__ import annotations

import sqlalchemy as sa

from models import Alert, AuditEntry, User, db
from services.monitoring import evaluate_rules
from tests.conftest import bearer, create_user


def entries(client, admin, query=""):
    response = client.get(f"/api/v1/admin/audit{query}", headers=admin)
    assert response.status_code == 200, response.json
    return response.json["entries"]


def test_security_relevant_actions_are_logged_and_only_admins_read_them(client, service, admin, runner):
    assert client.put("/api/v1/users/amy", json={"role": "learner"}, headers=service).status_code == 201
    assert client.post("/api/v1/auth/token", json={"user": "amy", "ttl": 60}, headers=service).status_code == 201
    assert client.put("/api/v1/users/amy", json={"active": False}, headers=service).status_code == 200
    assert (
        client.put("/api/v1/users/amy", json={"active": True, "role": "educator"}, headers=service).status_code == 200
    )
    override = {"rule": "engagement_drop", "parameter": "days", "scope_type": "global", "value": 4}
    created = client.put("/api/v1/admin/thresholds", json=override, headers=admin).json
    assert client.delete(f"/api/v1/admin/thresholds/{created['id']}", headers=admin).status_code == 204
    runner.invoke(args=["users", "create", "--external-id", "bot", "--role", "service"])
    assert runner.invoke(args=["tokens", "issue", "--user", "bot", "--ttl", "600"]).exit_code == 0

    log = entries(client, admin)
    actions = [(e["action"], e["actor"], e["target"]) for e in reversed(log)]
    assert actions == [
        ("user.created", "lms", "user:amy"),
        ("token.minted", "lms", "user:amy"),
        ("user.deactivated", "lms", "user:amy"),
        ("user.role_changed", "lms", "user:amy"),
        ("user.reactivated", "lms", "user:amy"),
        ("threshold.set", "root", "global:*"),
        ("threshold.removed", "root", "global:*"),
        ("user.created", "cli", "user:bot"),
        ("token.minted", "cli", "user:bot"),
    ]
    assert log[-4]["details"] == {"from": "learner", "to": "educator"} and log[0]["at"]
    assert [e["action"] for e in entries(client, admin, "?action=token.minted")] == ["token.minted"] * 2
    assert {e["target"] for e in entries(client, admin, "?actor=lms")} == {"user:amy"}
    assert len(entries(client, admin, "?limit=2")) == 2
    bad = client.get("/api/v1/admin/audit?action=nope", headers=admin)
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "action"
    assert client.get("/api/v1/admin/audit", headers=service).status_code == 403


def test_acknowledgements_and_feedback_are_logged(planted, client, admin):
    evaluate_rules(planted.values(), "performance")
    alert = db.session.scalars(sa.select(Alert)).first()
    assert (
        client.post(f"/api/v1/alerts/{alert.id}/acknowledge", json={"note": "seen"}, headers=admin).status_code == 200
    )
    assert (
        client.post(f"/api/v1/alerts/{alert.id}/feedback", json={"verdict": "useful"}, headers=admin).status_code == 200
    )
    log = entries(client, admin)
    assert [(e["action"], e["target"]) for e in log[:2]] == [
        ("alert.feedback", f"alert:{alert.id}"),
        ("alert.acknowledged", f"alert:{alert.id}"),
    ]
    assert log[1]["details"]["note"] == "seen"


def test_a_refused_action_leaves_no_entry(client, service, admin):
    create_user("boss", "admin")
    assert client.put("/api/v1/users/boss", json={"active": False}, headers=service).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_cli_tokens_for_people_live_at_most_a_week(runner):
    runner.invoke(args=["users", "create", "--external-id", "ann", "--role", "learner"])
    too_long = runner.invoke(args=["tokens", "issue", "--user", "ann", "--ttl", str(8 * 86400)])
    assert too_long.exit_code != 0 and "7 days" in too_long.output
    assert runner.invoke(args=["tokens", "issue", "--user", "ann", "--ttl", str(7 * 86400)]).exit_code == 0
    user = db.session.scalar(sa.select(User).where(User.external_id == "ann"))
    assert bearer(user)


def test_exports_are_logged_with_their_filters(client, service, admin):
    assert client.put("/api/v1/users/amy", json={"role": "learner"}, headers=service).status_code == 201
    assert client.get("/api/v1/learners/amy/events.csv?kind=activity", headers=admin).status_code == 200
    entry = entries(client, admin, "?action=export.downloaded")[0]
    assert entry["actor"] == "root" and entry["target"] == "/api/v1/learners/amy/events.csv"
    assert entry["details"] == {"filters": {"kind": "activity"}}


def test_revoking_a_users_tokens_refuses_every_earlier_one(client, service, admin, runner):
    """Rotation of an integration's credential: earlier tokens (and sessions) stop, new ones work."""
    from tests.conftest import SECRET  # noqa: PLC0415

    lms2 = create_user("lms2", "service")
    old = bearer(lms2)
    assert client.get("/api/v1/me", headers=old).status_code == 200
    response = client.post("/api/v1/admin/users/lms2/revoke-tokens", headers=admin)
    assert response.status_code == 200 and response.json["user"] == "lms2"
    refused = client.get("/api/v1/me", headers=old)
    assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]
    import time  # noqa: PLC0415

    time.sleep(0.01)
    from api.auth.tokens import issue_token  # noqa: PLC0415

    fresh = {"Authorization": f"Bearer {issue_token(SECRET, 'lms2', 'service', 600)[0]}"}
    assert client.get("/api/v1/me", headers=fresh).status_code == 200
    assert client.post("/api/v1/admin/users/lms2/revoke-tokens", headers=service).status_code == 403
    assert client.post("/api/v1/admin/users/nobody/revoke-tokens", headers=admin).status_code == 404
    assert entries(client, admin, "?action=token.revoked")[0]["target"] == "user:lms2"

    # the CLI: --rotate revokes the earlier tokens and prints a working one; revoke alone cuts them all
    first = runner.invoke(args=["tokens", "issue", "--user", "lms2", "--ttl", "600"]).output.strip()
    second = runner.invoke(args=["tokens", "issue", "--user", "lms2", "--ttl", "600", "--rotate"]).output.strip()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert runner.invoke(args=["tokens", "revoke", "--user", "lms2"]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401


def test_revocation_ends_browser_sessions_too(client, admin):
    from api.auth.tokens import issue_token  # noqa: PLC0415
    from tests.conftest import SECRET  # noqa: PLC0415

    create_user("ann", "learner")
    token, _ = issue_token(SECRET, "ann", "learner", 600)
    assert client.get(f"/login?token={token}").status_code == 302
    assert client.get("/api/v1/me").status_code == 200  # the cookie now authenticates
    assert client.post("/api/v1/admin/users/ann/revoke-tokens", headers=admin).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
