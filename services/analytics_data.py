"""Load the database into the flat arrays `analytics/` computes on (learners in index order)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import sqlalchemy as sa

from analytics.learner_metrics import KIND_CODES, EventArrays
from analytics.school import ATTENDANCE_CODES, attendance_percent
from models import Attendance, Event, db
from models.queries import driver_read_cursor
from models.upsert import chunks_in

ENGAGEMENT_KINDS = ("activity", "module_completed", "assessment")
# the same as a condition with no expanding IN, so a statement using it compiles to one fixed SQL text
ENGAGEMENT_EVENT = sa.or_(*(Event.kind == kind for kind in ENGAGEMENT_KINDS))


def _index_of(learner_ids: Sequence[int], values: Sequence[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(learner_ids), np.asarray(values, dtype=np.int64))


# PostgreSQL packs the rows server-side into ONE bytea of fixed-width big-endian records, so the
# client does no per-row work at all (COPY would hand Python one message per row).
PACKED_ROW = np.dtype([("learner", ">i8"), ("time", ">f8"), ("kind", ">i2"), ("percent", ">f8"), ("module", ">i8")])
PACKED_EVENTS = """string_agg(
  int8send(learner_id::int8) || float8send(extract(epoch FROM occurred_at)::float8)
  || int2send((CASE kind WHEN 'activity' THEN 0 WHEN 'module_completed' THEN 1 ELSE 2 END)::int2)
  || float8send(COALESCE(100.0 * score / NULLIF(max_score, 0), 'NaN')::float8)
  || int8send(COALESCE(module_id, -1)::int8),
  ''::bytea ORDER BY learner_id, occurred_at, id)"""  # the events rows selected, as PACKED_ROW records
PACKED_QUERY = f"""
SELECT {PACKED_EVENTS}
FROM events
WHERE learner_id = ANY(%(ids)s) AND kind IN ('activity', 'module_completed', 'assessment')
  AND (%(courses)s::int[] IS NULL OR course_id = ANY(%(courses)s::int[]))
"""


def _packed_event_arrays(ids: list[int], course_ids: Sequence[int] | None) -> tuple[EventArrays, np.ndarray]:
    """PostgreSQL: one packed bytea per query, read straight into numpy."""
    cursor = driver_read_cursor()
    courses = sorted(set(int(c) for c in course_ids)) if course_ids is not None else None
    data = cursor.execute(PACKED_QUERY, {"ids": ids, "courses": courses}, binary=True).fetchone()[0]
    return unpacked_event_arrays(ids, data)


def unpacked_event_arrays(ids: list[int], data: bytes | None) -> tuple[EventArrays, np.ndarray]:
    """PACKED_QUERY's value (None: no events) as the learners' event arrays and each event's module id."""
    rows = np.frombuffer(data or b"", PACKED_ROW)
    learner = np.searchsorted(np.asarray(ids), rows["learner"].astype(np.int64))
    events = EventArrays(
        len(ids),
        learner,
        rows["time"].astype(np.float64),
        rows["kind"].astype(np.int8),
        rows["percent"].astype(np.float64),
    )
    return events, rows["module"].astype(np.int64)


def load_event_arrays(
    learner_ids: Sequence[int], course_ids: Sequence[int] | None = None
) -> tuple[EventArrays, np.ndarray]:
    """Engagement events of these learners (sorted ids -> indices 0..n-1), plus each event's module id.

    With course_ids, only events in those courses count (a section's view of its own course).
    On PostgreSQL the rows arrive packed in one value; elsewhere row by row (the embedded mode).
    """
    ids = sorted(set(int(i) for i in learner_ids))
    if db.engine.dialect.name == "postgresql" and ids:
        return _packed_event_arrays(ids, course_ids)
    columns = [Event.learner_id, Event.occurred_at, Event.kind, Event.score, Event.max_score, Event.module_id]
    scope = [Event.kind.in_(ENGAGEMENT_KINDS)]
    if course_ids is not None:
        scope.append(Event.course_id.in_(sorted(set(course_ids))))
    rows: list = []
    for condition in chunks_in(Event.learner_id, ids):
        rows.extend(
            db.session.execute(
                sa.select(*columns).where(condition, *scope).order_by(Event.learner_id, Event.occurred_at, Event.id)
            )
        )
    rows.sort(key=lambda row: (row[0], row[1]))  # chunks arrive in order already; this keeps it so
    learner = _index_of(ids, [row[0] for row in rows]).astype(np.int64)
    time = np.array([row[1].timestamp() for row in rows], dtype=float)
    kind = np.array([KIND_CODES[row[2]] for row in rows], dtype=np.int8)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.array([100.0 * row[3] / row[4] if row[3] is not None else np.nan for row in rows], dtype=float)
    module = np.array([row[5] if row[5] is not None else -1 for row in rows], dtype=np.int64)
    return EventArrays(len(ids), learner, time, kind, percent), module


ONE_LEARNERS_ATTENDANCE = sa.select(Attendance.status).where(Attendance.learner_id == sa.bindparam("learner"))


def one_learners_attendance(statuses: Iterable[str]) -> np.ndarray:
    """One learner's attendance percent (an array of one; NaN without records) from their records' statuses."""
    codes = [ATTENDANCE_CODES[status] for status in statuses]
    return attendance_percent(np.zeros(len(codes), dtype=np.int64), np.array(codes, dtype=np.int64), 1)


def load_attendance_percent(learner_ids: Sequence[int]) -> np.ndarray:
    """Attendance percent per learner (same order as sorted learner_ids); NaN without records. One learner's
    (every report, every learner dashboard) through a statement built once per process."""
    ids = sorted(set(learner_ids))
    if len(ids) == 1:
        return one_learners_attendance(db.session.scalars(ONE_LEARNERS_ATTENDANCE, {"learner": ids[0]}))
    rows = [
        row
        for condition in chunks_in(Attendance.learner_id, ids)
        for row in db.session.execute(sa.select(Attendance.learner_id, Attendance.status).where(condition))
    ]
    return attendance_percent(
        _index_of(ids, [r[0] for r in rows]), np.array([ATTENDANCE_CODES[r[1]] for r in rows], dtype=np.int64), len(ids)
    )
