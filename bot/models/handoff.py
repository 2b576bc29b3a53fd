"""Conversations handed over to a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow


class Handoff(db.Model):  # type: ignore[name-defined,misc]
    """A conversation handed to a person: waiting → active → closed."""

    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    reason: Mapped[str] = mapped_column(String(40), default="asked")  # asked|stuck
    staff: Mapped[str | None] = mapped_column(String(50))
    # The mediation committee it is routed to, if any: the console shows a mediator only
    # their committee's hand-offs (bot.console.access.scoped).
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_member_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class HandoffMessage(db.Model):  # type: ignore[name-defined,misc]
    """One line of a hand-off conversation, from the member or from staff."""

    __tablename__ = "handoff_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    sender: Mapped[str] = mapped_column(String(10))  # member|staff|bot
    staff: Mapped[str | None] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    delivery: Mapped[str] = mapped_column(String(12), default="")  # sent|held for staff lines
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
