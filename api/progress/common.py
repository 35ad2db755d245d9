"""Whose data a progress request is about, and small shared reads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request

from api.access import readable_learner
from api.auth.guard import current_user
from api.errors import ApiError, field_error
from models import Alert, User, db

ME = "me"


def learner_by_id(external_id: str) -> User:
    """A learner the caller may read (`me` is the caller); 404 otherwise, as everywhere."""
    user = current_user()
    return readable_learner(user, user.external_id if external_id == ME else external_id)


def target_learner() -> User:
    """?learner=<id>, or the caller when they are a learner; other roles must name one."""
    chosen = request.args.get("learner")
    if chosen:
        return learner_by_id(chosen)
    user = current_user()
    if user.role != "learner":
        raise ApiError(
            400,
            f"a {user.role} chooses whose progress to read with ?learner=<external id>",
            details=[field_error("learner", "is required for educators, admins and services")],
        )
    return learner_by_id(ME)


def reads_own(learner: User) -> bool:
    """True when the caller reads their own data (sentences then say "you")."""
    return current_user().id == learner.id


def open_rules(learner_id: int) -> list[str]:
    """Rules with an open alert for the learner, newest first."""
    rows = db.session.scalars(
        sa.select(Alert.rule).where(Alert.learner_id == learner_id, Alert.status == "open").order_by(Alert.id.desc())
    ).all()
    return list(dict.fromkeys(rows))
