"""/learners/<id>/guardians: contacts who receive that learner's digest by email. Set by the school's
service or an admin; guardians have no login and see nothing but their learner's digest."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from api.access import find_or_404
from api.audit import audit
from api.auth.guard import require_auth
from api.errors import ApiError, field_error
from api.validation import Field, check_fields, json_body
from api.webhooks import bp
from models import GUARDIAN_DIGESTS, GuardianContact, User, db

MAX_GUARDIANS = 10
GUARDIAN_FIELDS = {
    "email": Field("str", required=True, max_length=254),
    "name": Field("str", max_length=200),
    "digest": Field("str", choices=GUARDIAN_DIGESTS),
}
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _learner(learner_id: str) -> User:
    learner = find_or_404(User, learner_id, "learner")
    if learner.role != "learner":
        raise ApiError(404, f"no learner {learner_id!r}")
    return learner


def _contacts(raw: Any) -> list[dict[str, Any]]:
    """Validated {guardians: [...]}: every problem named by its path, duplicates refused."""
    if not isinstance(raw, dict) or set(raw) != {"guardians"} or not isinstance(raw["guardians"], list):
        raise ApiError(422, 'send {"guardians": [...]}', details=[field_error("guardians", "must be a list")])
    if len(raw["guardians"]) > MAX_GUARDIANS:
        raise ApiError(422, "too many guardians", details=[field_error("guardians", f"at most {MAX_GUARDIANS}")])
    clean, errors = [], []
    for i, item in enumerate(raw["guardians"]):
        contact, problems = check_fields(item, GUARDIAN_FIELDS, prefix=f"guardians[{i}].")
        errors += problems
        if "email" in contact and not EMAIL.match(contact["email"]):
            errors.append(field_error(f"guardians[{i}].email", "must be an email address"))
        clean.append(contact)
    emails = [c.get("email", "").lower() for c in clean]
    errors += [field_error(f"guardians[{i}].email", "listed twice") for i, e in enumerate(emails) if e in emails[:i]]
    if errors:
        raise ApiError(422, "the request body is invalid", details=errors)
    return clean


def _json(learner: User) -> dict[str, Any]:
    contacts = db.session.scalars(
        sa.select(GuardianContact).where(GuardianContact.learner_id == learner.id).order_by(GuardianContact.id)
    )
    return {
        "learner": learner.external_id,
        "guardians": [{"name": c.name, "email": c.email, "digest": c.digest} for c in contacts],
    }


@bp.get("/learners/<learner_id>/guardians")
@require_auth("admin", "service")
def get_guardians(learner_id: str):
    """A learner's guardian contacts."""
    return _json(_learner(learner_id))


@bp.put("/learners/<learner_id>/guardians")
@require_auth("admin", "service")
def put_guardians(learner_id: str):
    """Replace a learner's guardian contacts (digest: daily, weekly (default) or never)."""
    learner = _learner(learner_id)
    contacts = _contacts(json_body())
    db.session.execute(sa.delete(GuardianContact).where(GuardianContact.learner_id == learner.id))
    for contact in contacts:
        db.session.add(
            GuardianContact(
                learner_id=learner.id,
                email=contact["email"],
                name=contact.get("name"),
                digest=contact.get("digest", "weekly"),
            )
        )
    audit("guardians.set", f"user:{learner.external_id}", count=len(contacts))
    db.session.commit()
    return _json(learner)
