"""Each exam's cohort state: its graded learners' figures over all their courses (services.cohort_members), with
the anomaly scores among those learners, stored in exam_summaries, so GET /exams/<id>/analytics reads rows and
marks, never a cohort computation. The worker refreshes the exams of the learners it evaluates: at once when a
grade was recorded since (a grade arrives as an event, so its learner is evaluated), otherwise at most once per
velocity period (6 h), since the figures also follow time. Not in the velocity sweep, unlike the sections:
exams outnumber sections many times over and most are past and rarely read; `as_of` says how old they are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from models import ExamSummary, Grade, db
from models.queries import mapping
from models.upsert import chunks_in, upsert_rows
from services.cohort_members import MemberFigures, compute_figures, figures_from_json, figures_json


def graded_learners(exam_id: int) -> list[int]:
    """Learners with a grade in the exam, in id order."""
    return list(
        db.session.scalars(sa.select(Grade.learner_id).where(Grade.exam_id == exam_id).order_by(Grade.learner_id))
    )


def refresh_exams(exam_ids: Sequence[int], now: datetime | None = None) -> dict[int, MemberFigures]:
    """Recompute and store these exams' figures now (as the exam analytics endpoint computed them per request)."""
    now = now or datetime.now(UTC)
    figures = {exam: compute_figures(graded_learners(exam), None, now.timestamp()) for exam in sorted(set(exam_ids))}
    rows = [{"exam_id": e, "members": figures_json(f), "updated_at": now} for e, f in figures.items()]
    upsert_rows(ExamSummary, ["exam_id"], rows, ["members", "updated_at"])
    return figures


def refresh_exams_of(learner_ids: Sequence[int], interval: timedelta | None = None) -> int:
    """Recompute the exams these learners have grades in: those refreshed longer than `interval` ago (default:
    the velocity sweep's period), never, or before one of their grades was recorded; returns how many."""
    from services.sweeps import PERIOD_SECONDS  # noqa: PLC0415  (services.sweeps imports the evaluation path)

    interval = interval if interval is not None else timedelta(seconds=PERIOD_SECONDS["velocity"])
    now = datetime.now(UTC)
    exams: set[int] = set()
    for condition in chunks_in(Grade.learner_id, learner_ids):
        exams |= set(db.session.scalars(sa.select(Grade.exam_id).where(condition).distinct()))
    if not exams:
        return 0
    newest_grade = sa.select(sa.func.max(Grade.recorded_at)).where(Grade.exam_id == ExamSummary.exam_id)
    fresh = set(
        db.session.scalars(
            sa.select(ExamSummary.exam_id).where(
                ExamSummary.exam_id.in_(exams),
                ExamSummary.updated_at > now - interval,
                ExamSummary.updated_at >= newest_grade.scalar_subquery(),
            )
        )
    )
    stale = sorted(exams - fresh)
    refresh_exams(stale, now)
    db.session.commit()
    return len(stale)


def stored_exam(exam_id: int, learner_ids: Sequence[int]) -> MemberFigures:
    """The exam's stored figures narrowed to these graded learners (the ones the caller may see), in id order;
    recomputed now only if never stored or a learner was graded since (the worker keeps it fresh after that)."""
    stored = mapping(sa.select(ExamSummary.exam_id, ExamSummary.members).where(ExamSummary.exam_id == exam_id))
    wanted = np.asarray(sorted(set(learner_ids)), dtype=np.int64)
    figures = figures_from_json(stored[exam_id]) if exam_id in stored else None
    if figures is None or not np.isin(wanted, figures.learner).all():
        figures = refresh_exams([exam_id])[exam_id]
        db.session.commit()
    return figures.take(np.isin(figures.learner, wanted))
