"""Who may read what: learners themselves, educators their sections' learners, admins and services all."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from api.auth.guard import Principal
from api.errors import ApiError
from models import Enrollment, Section, User, db

SEES_EVERYONE = ("admin", "service")


def sections_taught(educator_id: int) -> sa.Select:
    """Ids of the sections an educator teaches, as a subquery."""
    return sa.select(Section.id).where(Section.educator_id == educator_id)


def visible_learner_ids(user: Principal) -> sa.Select | None:
    """The one rule of who sees which learners, as a subquery of ids; None means everyone.
    Learners see themselves, educators the learners enrolled in their sections, admins and services all."""
    if user.role in SEES_EVERYONE:
        return None
    if user.role == "educator":
        return sa.select(Enrollment.learner_id).where(Enrollment.section_id.in_(sections_taught(user.id)))
    return sa.select(sa.literal(user.id))


def only_visible(query: sa.Select, learner_column: sa.ColumnElement, user: Principal) -> sa.Select:
    """Narrow a query to rows about learners the user may see."""
    scope = visible_learner_ids(user)
    return query if scope is None else query.where(learner_column.in_(scope))


def can_read_learner(user: Principal, learner: User) -> bool:
    """True if `user` may read `learner`'s data."""
    if user.role in SEES_EVERYONE or user.id == learner.id:
        return True
    if user.role != "educator":
        return False
    taught = sa.select(Enrollment.id).where(
        Enrollment.learner_id == learner.id, Enrollment.section_id.in_(sections_taught(user.id))
    )
    return db.session.scalar(taught.limit(1)) is not None


def find_or_404(model: type[Any], external_id: str, what: str | None = None) -> Any:
    """The row of `model` with this external id, or a 404 naming what was looked for."""
    row = db.session.scalar(sa.select(model).where(model.external_id == external_id))
    if row is None:
        raise not_found(what or model.__tablename__.rstrip("s"), external_id)
    return row


def not_found(what: str, external_id: str) -> ApiError:
    """find_or_404's 404, for a route that looked the row up its own way."""
    return ApiError(404, f"no {what} {external_id!r}")


def can_read_section(user: Principal, section: Section) -> bool:
    """Educators read their own sections, learners the sections they are enrolled in."""
    if user.role in SEES_EVERYONE or user.role == "educator":
        return staff_can_read_section(user, section.educator_id)
    enrolled = sa.select(Enrollment.id).where(Enrollment.section_id == section.id, Enrollment.learner_id == user.id)
    return db.session.scalar(enrolled) is not None


def staff_can_read_section(user: Principal, educator_id: int | None) -> bool:
    """can_read_section for a caller who is not a learner, knowing only the section's educator: those who
    see everyone, and the educator who teaches it."""
    return user.role in SEES_EVERYONE or (user.role == "educator" and educator_id == user.id)


def section_unseen(external_id: str) -> ApiError:
    """The 404 of a section that does not exist or that the caller may not read: the same, so ids do not leak."""
    return ApiError(404, f"no section {external_id!r} that you can see")


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
        raise section_unseen(external_id)
    return section
