"""PUT/GET /<collection>/<external_id> for users, courses, modules, subjects, sections and exams."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from api.access import can_read_learner, find_or_404, readable_learner, readable_section
from api.audit import audit
from api.auth.guard import current_user, require_auth
from api.entities import bp
from api.entities.specs import SPECS, EntitySpec
from api.errors import ApiError, field_error
from api.query_args import MAX_LIMIT
from api.realtime.announce import announce_exam, revoke_sockets
from api.roster_args import roster_query
from api.serializers import enrollment_json
from api.validation import Field, json_body, validated
from models import ENROLLMENT_STATUSES, Enrollment, User, db
from services.audit import user_changes
from services.roster import roster_page, section_roster, standing_json

WRITERS = ("service", "admin")
SERVICE_MANAGED_ROLES = ("learner", "educator")


def _resolve_references(spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
    """Replace referenced external ids with row ids; 422 naming each unknown reference."""
    values, errors = {}, []
    for name, value in body.items():
        if name not in spec.references:
            values[name] = value
            continue
        target = db.session.scalar(sa.select(spec.references[name]).where(spec.references[name].external_id == value))
        if target is None:
            errors.append(field_error(name, f"unknown {name} {value!r}"))
        elif name == "educator" and target.role != "educator":
            errors.append(field_error(name, f"{value!r} is a {target.role}, not an educator"))
        else:
            values[f"{name}_id"] = target.id
    if errors:
        raise ApiError(422, "the request body refers to unknown entities", details=errors)
    return values


def _cleared(spec: EntitySpec, raw: dict[str, Any]) -> dict[str, None]:
    """The clearable fields sent as null (e.g. a time_zone back to the default); other nulls change nothing."""
    return {name: None for name in spec.clearable if name in raw and raw[name] is None}


def _guard_user_roles(existing: Any, body: dict[str, Any]) -> None:
    """A service manages learners and educators only; it can never create or alter an admin or service."""
    if current_user().role == "admin":
        return
    roles = {body.get("role"), existing.role if existing is not None else None} - {None}
    if not roles <= set(SERVICE_MANAGED_ROLES):
        raise ApiError(403, "a service can only create or change learners and educators")


def upsert(collection: str, external_id: str):
    """Create (201) or update (200) one entity by its external id."""
    spec = SPECS[collection]
    if len(external_id) > 128:
        raise ApiError(
            422, "external id is too long", details=[field_error("external_id", "must be at most 128 characters")]
        )
    raw = json_body()
    body = validated(raw, spec.fields)
    existing = db.session.scalar(sa.select(spec.model).where(spec.model.external_id == external_id))
    if collection == "users":
        _guard_user_roles(existing, body)
    if existing is None:
        missing = [field_error(name, "is required") for name in spec.required_on_create if name not in body]
        if missing:
            raise ApiError(422, f"creating {_with_article(collection[:-1])} needs more fields", details=missing)
    values = {**_resolve_references(spec, body), **_cleared(spec, raw)}
    access_before = (existing.role, existing.active) if collection == "users" and existing is not None else None
    entity = existing or spec.model(external_id=external_id)
    for name, value in values.items():
        setattr(entity, name, value)
    db.session.add(entity)
    if collection == "users":
        active = True if entity.active is None else entity.active
        for action, details in user_changes(access_before, entity.role, active):
            audit(action, f"user:{external_id}", **details)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # a concurrent PUT created it first: apply ours as an update
        if existing is not None:
            raise
        return upsert(collection, external_id)
    if collection == "exams" and existing is None:
        announce_exam(entity)
    if access_before is not None and access_before != (entity.role, entity.active):
        revoke_sockets(entity.id)  # deactivated or re-roled: their open sockets close now, not at token expiry
    return spec.to_json(entity), (200 if existing else 201)


def read(collection: str, external_id: str):
    """Read one entity; people and sections follow the access rules, catalog entries are open to all users."""
    spec = SPECS[collection]
    if collection == "users":
        user = db.session.scalar(sa.select(User).where(User.external_id == external_id))
        if user is None or not can_read_learner(current_user(), user):
            raise ApiError(404, f"no user {external_id!r} that you can see")
        return spec.to_json(user)
    if collection == "sections":
        return spec.to_json(readable_section(current_user(), external_id))
    return spec.to_json(find_or_404(spec.model, external_id, collection[:-1]))


for _collection in SPECS:
    bp.add_url_rule(
        f"/{_collection}/<external_id>",
        f"put_{_collection}",
        require_auth(*WRITERS)(upsert),
        methods=["PUT"],
        defaults={"collection": _collection},
    )
    bp.add_url_rule(
        f"/{_collection}/<external_id>",
        f"get_{_collection}",
        require_auth()(read),
        methods=["GET"],
        defaults={"collection": _collection},
    )


@bp.put("/sections/<section_id>/enrollments/<learner_id>")
@require_auth(*WRITERS)
def put_enrollment(section_id: str, learner_id: str):
    """Enroll a learner in a section, or change the enrollment's status (active, completed, dropped, failed)."""
    body = validated(json_body(), {"status": Field("str", choices=ENROLLMENT_STATUSES)})
    section = readable_section(current_user(), section_id)
    learner = readable_learner(current_user(), learner_id)
    if learner.role != "learner":
        raise ApiError(
            422, f"{learner_id!r} is a {learner.role}", details=[field_error("learner", "must be a learner")]
        )
    enrollment = db.session.scalar(
        sa.select(Enrollment).where(Enrollment.section_id == section.id, Enrollment.learner_id == learner.id)
    )
    created = enrollment is None
    enrollment = enrollment or Enrollment(section_id=section.id, learner_id=learner.id)
    enrollment.status = body.get("status", enrollment.status or "active")
    db.session.add(enrollment)
    db.session.commit()
    return enrollment_json(enrollment), (201 if created else 200)


@bp.get("/sections/<section_id>/learners")
@require_auth("educator", "admin", "service")
def section_learners(section_id: str):
    """The section's roster: each enrollment's status and the learner's figures, sorted, filtered and paged."""
    section = readable_section(current_user(), section_id)
    query = roster_query(default_limit=MAX_LIMIT)  # it used to return every learner: keep that for classes
    rows, next_cursor = roster_page(section_roster(section.id), query)
    return {
        "section": section.external_id,
        "learners": [
            {"external_id": row.external_id, "name": row.name, "status": row.status, **standing_json(row)}
            for row in rows
        ],
        "next_cursor": next_cursor,
    }


def _with_article(noun: str) -> str:
    """'an exam', 'a course': error messages read as sentences."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
