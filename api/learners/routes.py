"""GET /learners, /learners/<id>/events, /learners/<id>/summary, /sections."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import sqlalchemy as sa

from api.access import only_visible, readable_learner, sections_taught
from api.auth.guard import current_user, require_auth
from api.errors import ApiError, field_error
from api.learners import bp
from api.query_args import choice_arg, datetime_arg, int_arg, next_before, page_args
from api.roster_args import roster_query
from api.serializers import EVENT_REFERENCES, counters_json, events_json, section_json, user_json
from models import EVENT_KINDS, Enrollment, Event, LearnerCounters, Section, User, db
from models.unprepared import UNPREPARED
from services.roster import learner_roster, roster_page, standing_json


def _visible_learners() -> sa.Select:
    """Learners the current user may read, as a query."""
    return only_visible(sa.select(User).where(User.role == "learner"), User.id, current_user())


@bp.get("/learners")
@require_auth()
def list_learners():
    """Learners you can see with their roster figures; by internal id descending unless `sort` says otherwise.
    Page with `cursor` (the last `next_cursor`); `before` (the last `next_before`) still pages the default order."""
    query = roster_query(default_sort="id", default_order="desc", extra_args=("before",))
    before = int_arg("before", None, 1, 2**62)
    if before is not None:
        if (query.sort, query.descending) != ("id", True) or query.after is not None:
            reason = "pages only the default order (id descending) and not with cursor; use cursor"
            raise ApiError(400, f"query parameter before {reason}", details=[field_error("before", reason)])
        query = replace(query, after=(before, before))
    rows, next_cursor = roster_page(learner_roster(_visible_learners()), query)
    return {
        "learners": [{**user_json(row), **standing_json(row)} for row in rows],
        "next_cursor": next_cursor,
        "next_before": rows[-1].id if next_cursor and query.sort == "id" and query.descending else None,
    }


@lru_cache(maxsize=16)
def _page_rows(kind: bool, before: bool, since: bool, until: bool) -> sa.Select:
    """The page's events for one combination of filters, built once per process with bind parameters (building
    the select and its cache key per request cost a page more than PostgreSQL ran it). The learner is looked
    up by external id inside it, so a page is one statement like the bare query; the limit is applied here,
    before the references are joined, so the plan is the learner index read backwards whatever the planner
    guesses of the learner's history (joined first, a 10k-event learner's page joined all 10k rows)."""
    learner = sa.select(User.id).where(User.external_id == sa.bindparam("external_id")).scalar_subquery()
    query = sa.select(Event.__table__).where(Event.learner_id == learner)
    for wanted, condition in (
        (kind, Event.kind == sa.bindparam("kind")),
        (before, Event.id < sa.bindparam("before")),
        (since, Event.occurred_at >= sa.bindparam("since")),
        (until, Event.occurred_at < sa.bindparam("until")),
    ):
        if wanted:
            query = query.where(condition)
    return query.order_by(Event.id.desc()).limit(sa.bindparam("limit"))


def _with_references(rows: sa.Select) -> sa.Select:
    """The page's rows with the external ids they refer to, as events_query() gives them (for events_json)."""
    page = rows.subquery("page")
    query = sa.select(*page.c)
    for name, model, column in EVENT_REFERENCES:
        query = query.outerjoin(model, model.id == page.c[column.key]).add_columns(model.external_id.label(name))
    return query.order_by(page.c.id.desc())


_prebuilt_page = lru_cache(maxsize=16)(_with_references)  # the statements of callers who see every learner


@bp.get("/learners/<external_id>/events")
@require_auth()
def learner_events(external_id: str):
    """A learner's events, newest first, filtered by kind and time range. The page is read narrowed to the
    learners the caller may see; only an empty page asks whether the learner exists and is theirs (404)."""
    user = current_user()
    try:
        kind = choice_arg("kind", EVENT_KINDS)
        page = page_args()
        since, until = datetime_arg("since"), datetime_arg("until")
    except ApiError:
        readable_learner(user, external_id)  # an unknown or unreadable learner answers 404 before a bad argument
        raise
    values = {"kind": kind, "before": page["before"], "since": since, "until": until}
    rows = _page_rows(*(value is not None for value in values.values()))
    scoped = only_visible(rows, Event.learner_id, user)  # the caller's learners only, before the limit
    statement = _prebuilt_page(rows) if scoped is rows else _with_references(scoped)
    bound = {name: value for name, value in values.items() if value is not None}
    arguments = {**bound, "external_id": external_id, "limit": page["limit"]}
    ranged = UNPREPARED if since or until else {}  # the range's rows decide the plan (models/unprepared.py)
    result = db.session.execute(statement, arguments, execution_options=ranged)
    events = events_json(result)  # the references come joined
    if not events:
        readable_learner(user, external_id)
    return {
        "learner": external_id,
        "events": events,
        "next_before": next_before([e["server_id"] for e in events], page["limit"]),
    }


@bp.get("/learners/<external_id>/summary")
@require_auth()
def learner_summary(external_id: str):
    """A learner's running counters, as last computed by the evaluation task."""
    learner = readable_learner(current_user(), external_id)
    return {"learner": user_json(learner), "counters": counters_json(db.session.get(LearnerCounters, learner.id))}


@bp.get("/sections")
@require_auth()
def list_sections():
    """Sections you can see: an educator's own, a learner's enrolled ones, all for admins and services."""
    user = current_user()
    query = sa.select(Section).order_by(Section.external_id)
    if user.role == "educator":
        query = query.where(Section.id.in_(sections_taught(user.id)))
    elif user.role == "learner":
        query = query.where(Section.id.in_(sa.select(Enrollment.section_id).where(Enrollment.learner_id == user.id)))
    return {"sections": [section_json(section) for section in db.session.scalars(query)]}
