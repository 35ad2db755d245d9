"""The school use case: exams with their grades, and daily attendance."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Moment, Timestamps, db, external_id_column, utcnow
from models.events import ATTENDANCE_STATUSES


class Exam(Timestamps, db.Model):
    __tablename__ = "exams"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    max_marks: Mapped[float] = mapped_column(default=100.0)
    held_on: Mapped[date | None]
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="SET NULL"), index=True)
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subjects.id", ondelete="SET NULL"), index=True)
    section_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sections.id", ondelete="SET NULL"), index=True)


class Grade(db.Model):
    """A learner's current marks in one exam; every change is also in the event log."""

    __tablename__ = "grades"
    __table_args__ = (sa.UniqueConstraint("exam_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    marks: Mapped[float]
    recorded_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)


class Attendance(db.Model):
    """One row per learner, section and day; the latest report of that day wins."""

    __tablename__ = "attendance"
    __table_args__ = (
        sa.UniqueConstraint("learner_id", "section_id", "date"),
        sa.CheckConstraint(f"status IN {ATTENDANCE_STATUSES}", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"), index=True)
    date: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16))
    recorded_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
