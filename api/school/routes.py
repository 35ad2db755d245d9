"""POST /attendance and POST /exams/<id>/grades: a class register or a mark sheet in one request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from api.access import find_or_404, readable_section
from api.auth.guard import current_user, require_auth
from api.errors import ApiError, field_error
from api.events import routes as events
from api.events.schemas import MAX_BATCH, validate_event
from api.school import bp
from api.validation import Field, json_body, validated
from models import Enrollment, Exam, Section, User, db

RECORD_KEYS = {"records": {"id", "learner", "status"}, "grades": {"id", "learner", "marks"}}


def _events_from_items(body: dict[str, Any], name: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn each record into an event; 422 listing unknown keys and bad values of every record at once."""
    items = body.get(name)
    if not isinstance(items, list) or not items:
        raise ApiError(
            422, f"`{name}` must be a non-empty list", details=[field_error(name, "must be a non-empty list")]
        )
    if len(items) > MAX_BATCH:
        raise ApiError(
            413, f"at most {MAX_BATCH} {name} per request", details=[field_error(name, f"at most {MAX_BATCH} items")]
        )
    allowed = RECORD_KEYS[name]
    now, skew = datetime.now(UTC), timedelta(seconds=current_app.config["MAX_CLOCK_SKEW_SECONDS"])
    raw_events, errors = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": index, **field_error(f"{name}[{index}]", "must be a JSON object")})
            continue
        errors.extend(
            {"index": index, **field_error(f"{name}[{index}].{key}", "unknown field")}
            for key in sorted(set(item) - allowed)
        )
        raw = {**{k: v for k, v in item.items() if k in allowed}, **fields}
        errors.extend({"index": index, **error} for error in validate_event(raw, f"{name}[{index}].", now, skew)[1])
        raw_events.append(raw)
    if errors:
        raise ApiError(422, f"some {name} are invalid; nothing was stored", details=errors)
    return raw_events


def _check_enrolled(section: Section | None, items: list[dict[str, Any]], name: str) -> None:
    """Educators may only record for learners enrolled in their own section."""
    if current_user().role != "educator":
        return
    if section is None or section.educator_id != current_user().id:
        raise ApiError(403, "educators can only record for their own sections")
    enrolled = set(
        db.session.scalars(
            sa.select(User.external_id)
            .join(Enrollment, Enrollment.learner_id == User.id)
            .where(Enrollment.section_id == section.id)
        )
    )
    errors = [
        {"index": i, **field_error(f"{name}[{i}].learner", f"is not enrolled in section {section.external_id!r}")}
        for i, item in enumerate(items)
        if item.get("learner") not in enrolled
    ]
    if errors:
        raise ApiError(422, "some learners are not in this section; nothing was stored", details=errors)


@bp.post("/attendance")
@require_auth("service", "admin", "educator")
def post_attendance():
    """One section's register for one day: {"section", "date", "records": [{"learner", "status"}]}."""
    body = json_body()
    header = validated(
        {k: v for k, v in body.items() if k != "records"} if isinstance(body, dict) else body,
        {"section": Field("str", required=True, max_length=128), "date": Field("date", required=True)},
    )
    section = readable_section(current_user(), header["section"])
    raw = _events_from_items(
        body, "records", {"kind": "attendance", "section": section.external_id, "date": body["date"]}
    )
    _check_enrolled(section, raw, "records")
    return events.ingest_response(events.store_and_evaluate(raw, "records"))


@bp.post("/exams/<external_id>/grades")
@require_auth("service", "admin", "educator")
def post_grades(external_id: str):
    """Marks for one exam: {"grades": [{"learner", "marks"}], "occurred_at"?}."""
    exam = find_or_404(Exam, external_id)
    body = json_body()
    header = validated(
        {k: v for k, v in body.items() if k != "grades"} if isinstance(body, dict) else body,
        {"occurred_at": Field("datetime")},
    )
    extra = {"occurred_at": body["occurred_at"]} if "occurred_at" in header else {}
    raw = _events_from_items(body, "grades", {"kind": "grade", "exam": exam.external_id, **extra})
    _check_enrolled(db.session.get(Section, exam.section_id) if exam.section_id else None, raw, "grades")
    return events.ingest_response(events.store_and_evaluate(raw, "grades"))
