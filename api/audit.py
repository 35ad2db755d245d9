"""GET /api/v1/admin/audit: the audit log for admins, newest first, filtered by action, actor, target."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, request

from api.auth.guard import current_user, require_auth
from api.query_args import choice_arg, in_time_range, newest_first, next_before
from models import AUDIT_ACTIONS, AuditEntry, db
from services.audit import record

bp = Blueprint("audit", __name__)


def audit(action: str, target: str, **details: object) -> None:
    """Record an action of the current request's caller (commits with the caller's transaction)."""
    user = current_user()
    record(action, target, user.id, user.external_id, **details)


def record_export() -> None:
    """Exports carry personal data out of LearnPulse: who downloaded what, with which filters."""
    audit("export.downloaded", request.path[:200], filters=request.args.to_dict())
    db.session.commit()


@bp.get("/admin/audit")
@require_auth("admin")
def list_audit():
    """Security-relevant actions with actor, time and target; `action`, `actor`, `target`, `since`, `until`."""
    query = sa.select(AuditEntry)
    action = choice_arg("action", AUDIT_ACTIONS)
    if action:
        query = query.where(AuditEntry.action == action)
    for name, column in (("actor", AuditEntry.actor), ("target", AuditEntry.target)):
        value = _text_arg(name)
        if value:
            query = query.where(column == value)
    paged, limit = newest_first(in_time_range(query, AuditEntry.at), AuditEntry.id)
    entries = db.session.scalars(paged).all()
    return {
        "entries": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "details": e.details,
            }
            for e in entries
        ],
        "next_before": next_before([e.id for e in entries], limit),
    }


def _text_arg(name: str) -> str | None:
    value = request.args.get(name)
    return value[:200] if value else None
