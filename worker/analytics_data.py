"""Load the database into the flat arrays `analytics/` computes on (learners in index order)."""
from __future__ import annotations

from collections.abc import Sequence
import numpy as np
import sqlalchemy as sa

from analytics.learner_metrics import KIND_CODES, EventArrays
from analytics.school import ATTENDANCE_CODES, attendance_percent
from models import Attendance, Event, db
from models.upsert import chunks_in

ENGAGEMENT_KINDS = ("activity", "module_completed", "assessment")


def _index_of(learner_ids: Sequence[int], values: Sequence[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(learner_ids), np.asarray(values, dtype=np.int64))


# One binary COPY row: field count, then (length, value) per field; every field is NOT NULL.
COPY_ROW = np.dtype([("fields", ">i2"), ("n1", ">i4"), ("learner", ">i8"), ("n2", ">i4"), ("time", ">f8"),
                     ("n3", ">i4"), ("kind", ">i2"), ("n4", ">i4"), ("percent", ">f8"), ("n5", ">i4"), ("module", ">i8")])
COPY_HEADER, COPY_TRAILER = 19, 2
COPY_QUERY = """COPY (
  SELECT learner_id::int8, extract(epoch FROM occurred_at)::float8,
         (CASE kind WHEN 'activity' THEN 0 WHEN 'module_completed' THEN 1 ELSE 2 END)::int2,
         COALESCE(100.0 * score / NULLIF(max_score, 0), 'NaN')::float8, COALESCE(module_id, -1)::int8
  FROM events
  WHERE learner_id = ANY({ids}) AND kind IN ('activity', 'module_completed', 'assessment') {course_filter}
  ORDER BY learner_id, occurred_at, id
) TO STDOUT (FORMAT binary)"""


def _copy_event_arrays(ids: list[int], course_ids: Sequence[int] | None) -> tuple[EventArrays, np.ndarray]:
    """PostgreSQL: binary COPY into one numpy structured array, no Python object per row."""
    from psycopg import sql  # noqa: PLC0415  (PostgreSQL only)

    course_filter = sql.SQL("")
    if course_ids is not None:
        course_filter = sql.SQL("AND course_id = ANY({})").format(sql.Literal(sorted(set(course_ids))))
    query = sql.SQL(COPY_QUERY).format(ids=sql.Literal(ids), course_filter=course_filter)
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(query) as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    rows = np.frombuffer(data, COPY_ROW, count=(len(data) - COPY_HEADER - COPY_TRAILER) // COPY_ROW.itemsize,
                         offset=COPY_HEADER)
    learner = np.searchsorted(np.asarray(ids), rows["learner"].astype(np.int64))
    events = EventArrays(len(ids), learner, rows["time"].astype(np.float64), rows["kind"].astype(np.int8),
                         rows["percent"].astype(np.float64))
    return events, rows["module"].astype(np.int64)


def load_event_arrays(learner_ids: Sequence[int], course_ids: Sequence[int] | None = None) -> tuple[EventArrays, np.ndarray]:
    """Engagement events of these learners (sorted ids -> indices 0..n-1), plus each event's module id.

    With course_ids, only events in those courses count (a section's view of its own course).
    """
    ids = sorted(set(int(i) for i in learner_ids))
    if db.engine.dialect.name == "postgresql" and ids:
        return _copy_event_arrays(ids, course_ids)
    columns = [Event.learner_id, Event.occurred_at, Event.kind, Event.score, Event.max_score, Event.module_id]
    scope = [Event.kind.in_(ENGAGEMENT_KINDS)]
    if course_ids is not None:
        scope.append(Event.course_id.in_(sorted(set(course_ids))))
    rows: list = []
    for condition in chunks_in(Event.learner_id, ids):
        rows.extend(db.session.execute(sa.select(*columns).where(condition, *scope)
                                       .order_by(Event.learner_id, Event.occurred_at, Event.id)))
    rows.sort(key=lambda row: (row[0], row[1]))  # chunks arrive in order already; this keeps it so
    learner = _index_of(ids, [row[0] for row in rows]).astype(np.int64)
    time = np.array([row[1].timestamp() for row in rows], dtype=float)
    kind = np.array([KIND_CODES[row[2]] for row in rows], dtype=np.int8)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.array([100.0 * row[3] / row[4] if row[3] is not None else np.nan for row in rows], dtype=float)
    module = np.array([row[5] if row[5] is not None else -1 for row in rows], dtype=np.int64)
    return EventArrays(len(ids), learner, time, kind, percent), module


def load_attendance_percent(learner_ids: Sequence[int]) -> np.ndarray:
    """Attendance percent per learner (same order as sorted learner_ids); NaN without records."""
    ids = sorted(set(learner_ids))
    rows = [row for condition in chunks_in(Attendance.learner_id, ids)
            for row in db.session.execute(sa.select(Attendance.learner_id, Attendance.status).where(condition))]
    return attendance_percent(_index_of(ids, [r[0] for r in rows]), np.array([ATTENDANCE_CODES[r[1]] for r in rows], dtype=np.int64),
                              len(ids))

