"""/webhooks: admins, services and educators register signed endpoints; each sees and changes only its own
(admins see all). Educators scope theirs to a section they teach, so an endpoint never hears about a learner
its owner could not read through the API."""

from __future__ import annotations

import sqlalchemy as sa
from celery import current_app as current_celery

from api.audit import audit
from api.auth.guard import Principal, current_user, require_auth
from api.errors import ApiError, field_error
from api.query_args import choice_arg, newest_first, next_before
from api.validation import json_body, validated
from api.webhooks import bp
from api.webhooks.schemas import CREATE_FIELDS, UPDATE_FIELDS, checked_events, checked_url, endpoint_json
from models import DELIVERY_STATUSES, Course, Section, WebhookDelivery, WebhookEndpoint, db, utcnow
from services.notifications.delivery import ping_delivery
from services.notifications.signing import new_secret

ROLES = ("admin", "service", "educator")


def _scope(user: Principal, body: dict) -> tuple[int | None, int | None]:
    """(section id, course id) of a new endpoint, within what its owner may see."""
    if "section" in body and "course" in body:
        raise ApiError(
            422, "scope to a section or a course, not both", details=[field_error("course", "give section or course")]
        )
    if user.role == "educator":
        section = db.session.scalar(sa.select(Section).where(Section.external_id == body.get("section", "")))
        if section is None or section.educator_id != user.id:
            raise ApiError(
                403,
                "educators register webhooks for a section they teach",
                details=[field_error("section", "must be a section you teach")],
            )
        return section.id, None
    if "section" in body:
        section_id = db.session.scalar(sa.select(Section.id).where(Section.external_id == body["section"]))
        if section_id is None:
            raise ApiError(422, "unknown section", details=[field_error("section", "no such section")])
        return section_id, None
    if "course" in body:
        course_id = db.session.scalar(sa.select(Course.id).where(Course.external_id == body["course"]))
        if course_id is None:
            raise ApiError(422, "unknown course", details=[field_error("course", "no such course")])
        return None, course_id
    return None, None


def _own(webhook_id: int) -> WebhookEndpoint:
    """The caller's endpoint (any endpoint for an admin); 404 otherwise, so ids do not leak."""
    endpoint = db.session.get(WebhookEndpoint, webhook_id)
    user = current_user()
    if endpoint is None or (user.role != "admin" and endpoint.owner_id != user.id):
        raise ApiError(404, f"no webhook {webhook_id} of yours")
    return endpoint


@bp.post("/webhooks")
@require_auth(*ROLES)
def create_webhook():
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    body = validated(json_body(), CREATE_FIELDS)
    user = current_user()
    section_id, course_id = _scope(user, body)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        owner_id=user.id,
        url=checked_url(body["url"]),
        events=checked_events(body["events"]),
        description=body.get("description"),
        section_id=section_id,
        course_id=course_id,
        secret=secret,
        enabled=True,
        consecutive_failures=0,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit("webhook.created", f"webhook:{endpoint.id}", url=endpoint.url, events=endpoint.events)
    db.session.commit()
    return endpoint_json(endpoint, secret=secret), 201


@bp.get("/webhooks")
@require_auth(*ROLES)
def list_webhooks():
    """Your endpoints (every endpoint for an admin), with why any was disabled."""
    query = sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if current_user().role != "admin":
        query = query.where(WebhookEndpoint.owner_id == current_user().id)
    return {"webhooks": [endpoint_json(e) for e in db.session.scalars(query)]}


@bp.get("/webhooks/<int:webhook_id>")
@require_auth(*ROLES)
def get_webhook(webhook_id: int):
    return endpoint_json(_own(webhook_id))


@bp.patch("/webhooks/<int:webhook_id>")
@require_auth(*ROLES)
def update_webhook(webhook_id: int):
    """Change url, events, description; `enabled: true` re-enables a disabled endpoint (failures reset)."""
    endpoint = _own(webhook_id)
    body = validated(json_body(), UPDATE_FIELDS)
    if "url" in body:
        endpoint.url = checked_url(body["url"])
    if "events" in body:
        endpoint.events = checked_events(body["events"])
    if "description" in body:
        endpoint.description = body["description"]
    if body.get("enabled") is True and not endpoint.enabled:
        endpoint.enabled, endpoint.consecutive_failures = True, 0
        endpoint.disabled_reason = endpoint.disabled_at = None
    elif body.get("enabled") is False and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_at = False, utcnow()
        endpoint.disabled_reason = f"disabled by {current_user().external_id}"
    audit("webhook.changed", f"webhook:{endpoint.id}", **{k: v for k, v in body.items() if k != "description"})
    db.session.commit()
    return endpoint_json(endpoint)


@bp.delete("/webhooks/<int:webhook_id>")
@require_auth(*ROLES)
def delete_webhook(webhook_id: int):
    endpoint = _own(webhook_id)
    audit("webhook.deleted", f"webhook:{endpoint.id}", url=endpoint.url)
    db.session.delete(endpoint)
    db.session.commit()
    return "", 204


@bp.post("/webhooks/<int:webhook_id>/rotate-secret")
@require_auth(*ROLES)
def rotate_secret(webhook_id: int):
    """A new signing secret, effective for every attempt from now on; shown this once."""
    endpoint = _own(webhook_id)
    endpoint.secret = new_secret()
    audit("webhook.secret_rotated", f"webhook:{endpoint.id}")
    db.session.commit()
    return {"id": endpoint.id, "secret": endpoint.secret}


@bp.post("/webhooks/<int:webhook_id>/test")
@require_auth(*ROLES)
def test_webhook(webhook_id: int):
    """Queue a signed `ping` delivery; follow it in the delivery log."""
    endpoint = _own(webhook_id)
    if not endpoint.enabled:
        raise ApiError(409, 'the webhook is disabled; re-enable it with PATCH {"enabled": true} first')
    delivery = ping_delivery(endpoint)
    current_celery.send_task("learnpulse.webhooks.deliver", args=[delivery.id])
    return {"delivery": delivery.summary()}, 202


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@require_auth(*ROLES)
def list_deliveries(webhook_id: int):
    """The endpoint's deliveries, newest first (`status`, `limit`, `before`)."""
    endpoint = _own(webhook_id)
    query = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    status = choice_arg("status", DELIVERY_STATUSES)
    if status:
        query = query.where(WebhookDelivery.status == status)
    paged, limit = newest_first(query, WebhookDelivery.id)
    rows = db.session.scalars(paged).all()
    return {"deliveries": [d.summary() for d in rows], "next_before": next_before([d.id for d in rows], limit)}
