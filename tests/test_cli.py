"""The contract CLI: flask users create, flask tokens issue, flask demo seed."""

from __future__ import annotations

import sqlalchemy as sa

from api.auth.tokens import decode_token
from models import Enrollment, Event, LearnerCounters, Section, User, db
from tests.conftest import SECRET


def test_users_create_and_update(runner):
    result = runner.invoke(args=["users", "create", "--external-id", "ted", "--role", "educator", "--name", "Ted"])
    assert result.exit_code == 0 and "created educator ted" in result.output
    result = runner.invoke(args=["users", "create", "--external-id", "ted", "--role", "admin"])
    assert "updated admin ted" in result.output
    user = db.session.scalar(sa.select(User).where(User.external_id == "ted"))
    assert (user.role, user.name) == ("admin", "Ted")


def test_users_create_refuses_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "--external-id", "x", "--role", "wizard"])
    assert result.exit_code != 0 and "wizard" in result.output


def test_tokens_issue_prints_only_the_token(runner, client):
    runner.invoke(args=["users", "create", "--external-id", "lms", "--role", "service"])
    result = runner.invoke(args=["tokens", "issue", "--user", "lms", "--ttl", "120"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert result.output == token + "\n" and "\n" not in token
    claims = decode_token(SECRET, token)
    assert (claims["sub"], claims["role"], claims["exp"] - claims["iat"]) == ("lms", "service", 120)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_tokens_issue_for_unknown_user_fails_clearly(runner):
    result = runner.invoke(args=["tokens", "issue", "--user", "ghost"])
    assert result.exit_code != 0 and "no active user 'ghost'" in result.output


def test_demo_seed_builds_a_school_with_slipping_learners(runner, client):
    result = runner.invoke(args=["demo", "seed", "--learners", "40", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "Seeded 40 learners in 8 sections" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Section)) == 8
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == 80
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) > 40 * 30
    counters = db.session.scalars(sa.select(LearnerCounters)).all()
    assert len(counters) == 40 and all(c.last_evaluated_at for c in counters)
    tokens = [line for line in result.output.splitlines() if line.startswith("eyJ")]
    educator = client.get("/api/v1/learners", headers={"Authorization": f"Bearer {tokens[0]}"}).json["learners"]
    assert len(educator) == 10  # demo-educator-1 teaches one group of each subject: a quarter of the learners
    learner = client.get("/api/v1/learners", headers={"Authorization": f"Bearer {tokens[1]}"}).json["learners"]
    assert len(learner) == 1
    assert learner[0]["external_id"] in {l["external_id"] for l in educator}  # the demo learner is in the demo class
    for section in client.get("/api/v1/sections", headers={"Authorization": f"Bearer {tokens[0]}"}).json["sections"]:
        roster = {
            l["external_id"]
            for l in client.get(
                f"/api/v1/sections/{section['external_id']}/learners", headers={"Authorization": f"Bearer {tokens[0]}"}
            ).json["learners"]
        }
        recorded = set(
            db.session.scalars(
                sa.select(User.external_id)
                .join(Event, Event.learner_id == User.id)
                .join(Section, Section.id == Event.section_id)
                .where(Section.external_id == section["external_id"])
            )
        )
        assert recorded == roster  # attendance is recorded for exactly the enrolled learners
    again = runner.invoke(args=["demo", "seed", "--learners", "40", "--days", "30"])
    assert "events stored 0" in again.output  # idempotent: every event is a duplicate


def test_demo_seed_slipping_learners_visibly_slip(runner):
    runner.invoke(args=["demo", "seed", "--learners", "60", "--days", "60"])
    averages = {}
    for learner_id, when, score, max_score in db.session.execute(
        sa.select(Event.learner_id, Event.occurred_at, Event.score, Event.max_score).where(Event.kind == "assessment")
    ):
        averages.setdefault(learner_id, []).append((when, score / max_score))
    drops = []
    for scores in averages.values():
        scores.sort()
        early = [s for _, s in scores[: len(scores) // 2]]
        late = [s for _, s in scores[-4:]]
        drops.append(sum(early) / len(early) - sum(late) / len(late))
    assert sum(1 for drop in drops if drop > 0.15) >= 5  # a visible group of decliners
    assert sum(1 for drop in drops if drop < 0.1) >= 40  # and a steady majority
