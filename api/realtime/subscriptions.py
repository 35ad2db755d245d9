"""Which channels a user may follow: the REST access rules, applied to channel names.

learner:<id>  the learner themself, their educators, admins
section:<id>  the section's educator and admins (a section channel carries every member's data,
              so learners follow only their own channel)
admin         admins and services
"""

from __future__ import annotations

import sqlalchemy as sa

from api.access import SEES_EVERYONE, readable_learner, readable_section
from api.auth.guard import Principal
from api.errors import ApiError
from models import Section, User, db
from models.queries import core_execute
from services.channels import ADMIN_CHANNEL, learner_channel, section_channel

MAX_CHANNELS = 500  # per connection; an educator with more sections should use several sockets


def authorize_channel(user: Principal, channel: str) -> None:
    """Raise ApiError (403/404) unless `user` may follow `channel`; unknown and hidden look alike."""
    if channel == ADMIN_CHANNEL:
        if user.role not in SEES_EVERYONE:
            raise ApiError(403, "only admins follow the admin channel")
        return
    kind, _, name = channel.partition(":")
    if kind == "learner" and name:
        readable_learner(user, name)
    elif kind == "section" and name:
        if user.role == "learner":
            raise ApiError(403, "learners follow their own channel, not a section's")
        readable_section(user, name)
    else:
        raise ApiError(404, f"no channel {channel!r}: channels are learner:<id>, section:<id> or admin")


SECTIONS_TAUGHT = (  # built once per process: every educator's socket open reads it
    sa.select(Section.id, Section.external_id, Section.course_id)
    .where(Section.educator_id == sa.bindparam("educator"))
    .order_by(Section.external_id)
)


def taught_section_rows(educator_id: int) -> list[sa.Row]:
    """(id, external_id, course_id) of the educator's sections, by external id: an educator's dashboard open
    reads them once, for its channels and its initial data."""
    return list(core_execute(SECTIONS_TAUGHT, {"educator": educator_id}))


def _section_channels(sections: list[sa.Row]) -> list[str]:
    """The channels of these (taught_section_rows) sections, at most MAX_CHANNELS of them."""
    return [section_channel(row.external_id) for row in sections[:MAX_CHANNELS]]


def own_channels(user: Principal, taught: list[sa.Row] | None = None) -> list[str]:
    """What `user`'s personal endpoints follow: a learner's own channel, an educator's sections (`taught`
    when the caller read them already), everything for admins and services."""
    if user.role in SEES_EVERYONE:
        return [ADMIN_CHANNEL]
    if user.role == "educator":
        return _section_channels(taught_section_rows(user.id) if taught is None else taught)
    return [learner_channel(user.external_id)]


def educator_channels(user: Principal, educator_external_id: str) -> list[str]:
    """The section channels of one educator's classes: for that educator and for admins."""
    educator = db.session.execute(sa.select(User.id, User.role).where(User.external_id == educator_external_id)).first()
    allowed = user.role in SEES_EVERYONE or (user.role == "educator" and user.external_id == educator_external_id)
    if educator is None or educator.role != "educator" or not allowed:
        raise ApiError(404, f"no educator {educator_external_id!r} whose classes you can see")
    return _section_channels(taught_section_rows(educator.id))
