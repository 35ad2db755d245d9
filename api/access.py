"""Who may read what: learners themselves, educators their sections' learners, admins and services all."""

from __future__ import annotations

import sqlalchemy as sa

from api.auth.guard import Principal
from api.errors import ApiError
from models import Enrollment, Section, User, db

SEES_EVERYONE = ("admin", "service")


def can_read_learner(user: Principal, learner: User) -> bool:
    """True if `user` may read `learner`'s data."""
    if user.role in SEES_EVERYONE or user.id == learner.id:
        return True
    if user.role != "educator":
        return False
    taught = (
        sa.select(Enrollment.id)
        .join(Section, Section.id == Enrollment.section_id)
        .where(Enrollment.learner_id == learner.id, Section.educator_id == user.id)
        .limit(1)
    )
    return db.session.scalar(taught) is not None


def can_read_section(user: Principal, section: Section) -> bool:
    """Educators read their own sections, learners the sections they are enrolled in."""
    if user.role in SEES_EVERYONE:
        return True
    if user.role == "educator":
        return section.educator_id == user.id
    enrolled = sa.select(Enrollment.id).where(Enrollment.section_id == section.id, Enrollment.learner_id == user.id)
    return db.session.scalar(enrolled) is not None


def readable_learner(user: Principal, external_id: str) -> User:
    """The learner with this external id if `user` may read them; 404 otherwise, so ids do not leak."""
    learner = db.session.scalar(sa.select(User).where(User.external_id == external_id))
    if learner is None or not can_read_learner(user, learner):
        raise ApiError(404, f"no learner {external_id!r} that you can see")
    return learner


def readable_section(user: Principal, external_id: str) -> Section:
    """The section with this external id if `user` may read it; 404 otherwise."""
    section = db.session.scalar(sa.select(Section).where(Section.external_id == external_id))
    if section is None or not can_read_section(user, section):
        raise ApiError(404, f"no section {external_id!r} that you can see")
    return section
