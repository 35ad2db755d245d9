"""What is taught and to whom: courses, modules, subjects, sections and enrollments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Moment, Timestamps, db, external_id_column, utcnow

ENROLLMENT_STATUSES = ("active", "completed", "dropped", "failed")


class Course(Timestamps, db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))  # IANA name; NULL: ALERT_TIME_ZONE


class Module(Timestamps, db.Model):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)


class Subject(Timestamps, db.Model):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    name: Mapped[str] = mapped_column(sa.String(200))


class Section(Timestamps, db.Model):
    """A class group, taught by an educator, for a course or a subject."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    name: Mapped[str] = mapped_column(sa.String(200))
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="SET NULL"), index=True)
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subjects.id", ondelete="SET NULL"), index=True)
    educator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))  # IANA name; NULL: the course's zone


class Enrollment(Timestamps, db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (
        sa.UniqueConstraint("learner_id", "section_id"),
        sa.CheckConstraint(f"status IN {ENROLLMENT_STATUSES}", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    enrolled_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
