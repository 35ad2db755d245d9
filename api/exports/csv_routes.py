"""GET /sections/<id>/export.csv, /alerts/export.csv, /learners/<id>/events.csv: streamed in keyset batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, request, stream_with_context

from api.access import readable_learner, readable_section
from api.alerts.queries import alerts_json, filtered_alerts
from api.audit import record_export
from api.auth.guard import current_user, require_auth
from api.exports import bp
from api.query_args import choice_arg, in_time_range, reject_unknown_args
from api.roster_args import roster_query
from api.serializers import event_json, events_query
from models import EVENT_KINDS, EVENT_REFERENCE_FIELDS, EVENT_VALUE_FIELDS, Alert, Event, db
from services.csv_export import attachment_name, csv_lines
from services.roster import iter_roster, section_roster, standing_json

BATCH = 1000
ROSTER_COLUMNS = [
    "external_id",
    "name",
    "status",
    "average",
    "recent_average",
    "trend_direction",
    "engagement",
    "attendance_percent",
    "risk_light",
    "risk_probability",
    "open_alerts",
    "open_alert_rules",
    "standing_updated_at",
]
ALERT_COLUMNS = [
    "id",
    "learner",
    "rule",
    "scope",
    "severity",
    "status",
    "title",
    "message",
    "factors",
    "recommendations",
    "created_at",
    "acknowledged_at",
    "resolved_at",
    "type",  # added after the original columns, so readers by position keep working
    "action_required",
]
EVENT_COLUMNS = ["server_id", "id", "kind", "occurred_at", "received_at", *EVENT_REFERENCE_FIELDS, *EVENT_VALUE_FIELDS]


def csv_response(header: list[str], rows: Iterable[Iterable[Any]], *name_parts: str) -> Response:
    """A streamed CSV download (the rows are produced while the response is sent); the download is audited."""
    record_export()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    filename = attachment_name(*name_parts, stamp) + ".csv"
    return Response(
        stream_with_context(csv_lines(header, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def batches_newest_first(query: sa.Select, id_column: Any, entities: bool = True) -> Iterator[Any]:
    """Every row of `query` by id descending, BATCH rows per query (a keyset, never OFFSET); ORM entities,
    or plain rows (`entities=False`, read by the `id` column)."""
    before = None
    while True:
        page = query.order_by(id_column.desc()).limit(BATCH)
        if before is not None:
            page = page.where(id_column < before)
        rows = db.session.scalars(page).all() if entities else db.session.execute(page).all()
        yield rows
        if len(rows) < BATCH:
            return
        before = rows[-1].id
        db.session.expunge_all()  # a long export must not hold every row it has sent


@bp.get("/sections/<section_id>/export.csv")
@require_auth("educator", "admin", "service")
def section_export(section_id: str) -> Response:
    """The section's roster with its figures; takes the roster's filters and sort (sort, order, risk, rule, q)."""
    section = readable_section(current_user(), section_id)
    query = roster_query(paged=False)
    rows = (
        [row.external_id, row.name, row.status, *standing_json(row).values()]
        for row in iter_roster(section_roster(section.id), query)
    )
    return csv_response(ROSTER_COLUMNS, rows, "roster", section.external_id)


@bp.get("/alerts/export.csv")
@require_auth()
def alerts_export() -> Response:
    """The alerts you can see, newest first; the alert list's filters (learner, types, severity, status)."""
    reject_unknown_args(("learner", "types", "severity", "status"))
    query = filtered_alerts(current_user())
    rows = (
        [alert[column] for column in ALERT_COLUMNS]
        for batch in batches_newest_first(query, Alert.id)
        for alert in alerts_json(batch)
    )
    return csv_response(ALERT_COLUMNS, rows, "alerts", request.args.get("learner", ""))


@bp.get("/learners/<external_id>/events.csv")
@require_auth()
def events_export(external_id: str) -> Response:
    """A learner's events, newest first; the events list's filters (kind, since, until)."""
    reject_unknown_args(("kind", "since", "until"))
    learner = readable_learner(current_user(), external_id)
    kind = choice_arg("kind", EVENT_KINDS)
    query = events_query().where(Event.learner_id == learner.id)
    if kind:
        query = query.where(Event.kind == kind)
    query = in_time_range(query, Event.occurred_at)
    rows = (
        [event_json(event).get(column) for column in EVENT_COLUMNS]
        for batch in batches_newest_first(query, Event.id, entities=False)
        for event in batch
    )
    return csv_response(EVENT_COLUMNS, rows, "events", learner.external_id)
