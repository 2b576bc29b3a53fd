"""Cases: every service request of every kind (mediation, appeals …), their history and the
notifications owed to members, plus the per-day counters their numbers come from."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.extensions import db
from bot.models.base import utcnow


class Case(db.Model):  # type: ignore[name-defined,misc]
    """One service request: a kind (``bot.services.cases``) declares what its states mean.

    The assignee is a committee, a department or a person (any of them, as the kind routes);
    ``data`` holds what the intake form collected and what staff recorded since, by key.
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # TJ20261201-0007
    kind: Mapped[str] = mapped_column(String(30), index=True)
    query_code: Mapped[str] = mapped_column(String(8))
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(40), default="")  # dispute type, appeal category
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))  # yuan involved or asked
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"))
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"), index=True)
    route_rule: Mapped[str] = mapped_column(String(40), default="")  # the rule that chose
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[date | None] = mapped_column(Date)  # local date the current clock ends
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    # success | failure once an outcome state is reached (kept after 已结案, for statistics)
    outcome: Mapped[str] = mapped_column(String(10), default="")
    settled_at: Mapped[datetime | None] = mapped_column(DateTime)  # when the outcome came
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )


class CaseEvent(db.Model):  # type: ignore[name-defined,misc]
    """One change to a case, never edited: who, when, from → to, the note, who may read it."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(50))  # a username, "member" or "system"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str] = mapped_column(String(20), default="")
    to_status: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(10), default="internal")  # member | internal
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    case: Mapped[Case] = relationship(back_populates="events")


class Outbox(db.Model):  # type: ignore[name-defined,misc]
    """A notification owed to a member, sent by a job; ``key`` makes each one happen once.

    ``pending`` → ``sending`` (claimed) → ``sent`` | ``template`` | ``held``; ``unknown`` when
    the platform may have received it but did not answer (never sent again).
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    template: Mapped[str] = mapped_column(String(200))  # the reply template of the text
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # template message
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class CaseCounter(db.Model):  # type: ignore[name-defined,misc]
    """The last serial handed out for a number prefix on a local day."""

    __tablename__ = "case_counters"
    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
