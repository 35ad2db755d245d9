"""bench/reads.py's web process: the application exactly as wsgi.py builds it, plus one bench-only endpoint.

That endpoint is the events page's second floor: the page query alone (the raw-SQL floor's statement, through
the application's own database connection, no joins, no ORM) behind the same authentication and request
logging, its rows encoded by the same JSON provider. What the real page costs beyond it is the object's
authorization (readable_learner), the references' external ids, and each event's JSON shape.

A second bench endpoint answers an authenticated request without reading anything: the HTTP floor, what any
request to this stack costs before its own work.
"""

from __future__ import annotations

from flask import Blueprint

from api.auth.guard import require_auth
from models.queries import driver_cursor
from wsgi import app

EVENTS_PAGE = "SELECT * FROM events WHERE learner_id = %(learner)s ORDER BY id DESC LIMIT 100"
floor = Blueprint("bench_floor", __name__)


@floor.get("/bench/floor/learners/<int:learner_id>/events")
@require_auth()
def events_page_floor(learner_id: int):
    """The page query's rows as JSON lists (column order of the table)."""
    rows = driver_cursor().execute(EVENTS_PAGE, {"learner": learner_id}).fetchall()
    return {"events": [list(row) for row in rows]}


@floor.get("/bench/floor/nothing")
@require_auth()
def nothing():
    """An authenticated request's answer that reads nothing (the same authentication, logging and JSON)."""
    return {}


app.register_blueprint(floor)
