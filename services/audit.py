"""Recording security-relevant actions (token minting, role and activation changes, thresholds,
acknowledgements, feedback, exports) in the audit log, in the same transaction as the action."""

from __future__ import annotations

from typing import Any

from models import AUDIT_ACTIONS, AuditEntry, db

CLI_ACTOR = "cli"  # commands run on the host act as the operator, not as a user


def record(action: str, target: str, actor_id: int | None, actor: str, **details: Any) -> None:
    """Add one entry to the current session; it commits with the action it describes."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db.session.add(AuditEntry(action=action, target=target, actor_id=actor_id, actor=actor, details=details))


def user_changes(before: tuple[str, bool] | None, role: str, active: bool) -> list[tuple[str, dict[str, Any]]]:
    """The audit actions a user upsert amounts to: created, role changed, (de/re)activated."""
    if before is None:
        return [("user.created", {"role": role, "active": active})]
    changes = []
    if before[0] != role:
        changes.append(("user.role_changed", {"from": before[0], "to": role}))
    if before[1] != active:
        changes.append(("user.deactivated" if not active else "user.reactivated", {}))
    return changes
