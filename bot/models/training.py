"""Training sessions and registrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.extensions import db
from bot.models.base import utcnow


class TrainingSession(db.Model):  # type: ignore[name-defined,misc]
    """A training session, lecture or class members can sign up for."""

    __tablename__ = "training_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # local time of the organisation
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    place: Mapped[str] = mapped_column(String(300), default="")
    online_link: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    # Kept by conditional UPDATEs only, so the database itself refuses an overbooking.
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[datetime | None] = mapped_column(DateTime)
    audience: Mapped[str] = mapped_column(String(100), default="anyone")  # anyone|members|tag:X
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft|open|closed|cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def seats_left(self) -> int:
        return max(0, self.capacity - self.seats_taken)


class Registration(db.Model):  # type: ignore[name-defined,misc]
    """One member's place (or waiting-list place) in a training session."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("session_id", "openid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    name: Mapped[str] = mapped_column(String(50))
    company: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # confirmed|waitlisted|cancelled|attended
    checkin_code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    attended_at: Mapped[datetime | None] = mapped_column(DateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    session: Mapped[TrainingSession] = relationship()
