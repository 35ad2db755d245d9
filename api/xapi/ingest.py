"""Store a batch of statements all-or-nothing and feed the mapped ones to the event ingest path.

validate -> prepare (ids, stored, authority) -> refuse repeats and voided voiding statements ->
map to events (already in the event validator's form) -> insert statements -> the new statements'
events go through POST /api/v1/events' own store and announce steps (idempotency, evaluation, live
messages), in the same transaction, with the statement id as the event id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from api.errors import ApiError
from api.events.routes import store_checked_and_evaluate
from api.events.schemas import body_hash
from models import db
from services.xapi.formats import iso_utc, now_ms
from services.xapi.mapping import Outcome, map_statements
from services.xapi.mapping_table import load_mapping
from services.xapi.metrics import count_statements
from services.xapi.statement_check import check_statement
from services.xapi.statements import Prepared, prepare
from services.xapi.store import StatementConflict, VoidingRefused, check_voiding, insert_statements


def _validated(raw: list[Any], paths: list[str]) -> None:
    problems = [problem for statement, path in zip(raw, paths) for problem in check_statement(statement, path)]
    if problems:
        bad = len({p["path"].split(".")[0] for p in problems})
        raise ApiError(
            400, f"{bad} of {len(raw)} statement(s) are invalid; nothing was stored", "invalid_statement", problems
        )


def _refuse_repeats(batch: list[Prepared], paths: list[str]) -> None:
    """Two statements with one id in a batch: the specification asks for 400."""
    seen: dict[str, str] = {}
    problems = []
    for prepared, path in zip(batch, paths):
        if prepared.statement_id in seen:
            problems.append({"path": f"{path}.id", "reason": f"repeats the id of {seen[prepared.statement_id]}"})
        seen.setdefault(prepared.statement_id, path)
    if problems:
        raise ApiError(400, "a batch may not hold two statements with the same id", "duplicate_statement_id", problems)


def _rows(batch: list[Prepared], outcomes: list[Outcome]) -> list[tuple[Any, ...]]:
    """The xapi_statements rows, with the event kind each produced or why it produced none."""
    return [p.row(o.event["kind"] if o.event else None, o.reason) for p, o in zip(batch, outcomes)]


def _checked(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mapped events as the event validator hands them on: with the fingerprint of their fields (the
    same function, over the same values, so a re-send through POST /events compares equal) and their index."""
    for index, event in enumerate(events):
        event["hash"] = body_hash(event)
        event["index"] = index
    return events


def store_statements(raw: list[Any], paths: list[str], authority: dict[str, Any]) -> list[str]:
    """Validate and store; returns every statement id in batch order (new and already stored alike)."""
    _validated(raw, paths)
    stored_at = now_ms()
    stored_text = iso_utc(stored_at)
    batch = [prepare(statement, stored_at, authority, stored_text) for statement in raw]
    _refuse_repeats(batch, paths)
    table = load_mapping(current_app.config.get("XAPI_MAPPING_FILE"))
    try:
        check_voiding(batch, paths)
        not_after = datetime.now(UTC) + timedelta(seconds=current_app.config["MAX_CLOCK_SKEW_SECONDS"])
        outcomes, users = map_statements(batch, table, current_app.config["AUTO_CREATE_LEARNERS"], not_after)
        result = insert_statements(batch, _rows(batch, outcomes), paths)
        new = {p.statement_id for p in result.new}
        events = _checked([o.event for p, o in zip(batch, outcomes) if o.event and p.statement_id in new])
        if events:
            store_checked_and_evaluate(events, "statements", users)  # commits the statements with the events
        else:
            db.session.commit()
    except StatementConflict as exc:
        db.session.rollback()
        raise ApiError(
            409, "a statement id is already stored with a different statement", details=exc.problems
        ) from exc
    except VoidingRefused as exc:
        db.session.rollback()
        raise ApiError(400, "a voiding statement cannot be voided", "voiding_refused", exc.problems) from exc
    except BaseException:
        db.session.rollback()
        raise
    unmapped = sum(1 for p, o in zip(batch, outcomes) if o.reason and p.statement_id in new)
    count_statements(statements=len(new), duplicates=len(batch) - len(new), events=len(events), unmapped=unmapped)
    return [p.statement_id for p in batch]
