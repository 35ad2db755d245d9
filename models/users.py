"""People: learners, educators, admins and service integrations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Timestamps, db, external_id_column

ROLES = ("learner", "educator", "admin", "service")


class User(Timestamps, db.Model):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    role: Mapped[str] = mapped_column(sa.String(16), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(200), index=True)  # roster sort
    email: Mapped[str | None] = mapped_column(sa.String(254))
    active: Mapped[bool] = mapped_column(default=True)
    # Tokens (and sign-in sessions) issued before this instant (epoch ms) are refused: revocation and
    # rotation of a credential without a list of every token ever issued.
    tokens_valid_after_ms: Mapped[int | None] = mapped_column(sa.BigInteger)

    def __repr__(self) -> str:
        return f"<User {self.external_id} {self.role}>"
