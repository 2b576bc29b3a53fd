"""Durable records (SQLAlchemy 2, typed). Models never commit: the dispatcher or view does.

Only portable column types, so the same models and migrations run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Follower(db.Model):  # type: ignore[name-defined,misc]
    """A WeChat user who follows (or followed) the account, keyed by openid."""

    __tablename__ = "followers"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    # The qrscene_ of the QR code they followed through: a chamber's code marks its members.
    source_scene: Mapped[str | None] = mapped_column(String(64))
    last_scene: Mapped[str | None] = mapped_column(String(64))
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConversationLog(db.Model):  # type: ignore[name-defined,misc]
    """One inbound message and its reply, written in batches off the request path."""

    __tablename__ = "conversation_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")  # phone numbers masked
    reply: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str | None] = mapped_column(String(40), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    handler: Mapped[str | None] = mapped_column(String(60))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    delivery: Mapped[str] = mapped_column(String(12), default="passive")  # passive|push|held


class PendingReply(db.Model):  # type: ignore[name-defined,misc]
    """A reply that could not be pushed (no window left): shown on the user's next message."""

    __tablename__ = "pending_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboundMessage(db.Model):  # type: ignore[name-defined,misc]
    """A message the bot sent through the API (customer-service, template, mass)."""

    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # custom | template | mass
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    msg_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(40), default="sent")
    detail: Mapped[str | None] = mapped_column(Text)
    total_count: Mapped[int | None] = mapped_column(Integer)
    sent_count: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class KnowledgeEntry(db.Model):  # type: ignore[name-defined,misc]
    """The live copy of one curated answer; files under knowledge/entries/ import/export it."""

    __tablename__ = "knowledge_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(500))
    paraphrases: Mapped[str] = mapped_column(Text, default="")  # one per line
    keywords: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    answer: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(500), default="")
    region: Mapped[str | None] = mapped_column(String(100))
    valid_until: Mapped[date | None] = mapped_column(Date)
    reviewed: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class UnansweredQuestion(db.Model):  # type: ignore[name-defined,misc]
    """A question the knowledge base could not answer, counted, for curators."""

    __tablename__ = "unanswered_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    normalised: Mapped[str] = mapped_column(String(255), unique=True)
    text: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    best_topic: Mapped[str | None] = mapped_column(String(80))
    best_score: Mapped[float | None] = mapped_column(Float)
    first_asked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class FormSubmission(db.Model):  # type: ignore[name-defined,misc]
    """The idempotency key of one submitted form run: a repeated confirmation adds nothing."""

    __tablename__ = "form_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    form: Mapped[str] = mapped_column(String(40))
    openid: Mapped[str] = mapped_column(String(64), index=True)
    record_ref: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Chamber(db.Model):  # type: ignore[name-defined,misc]
    """A chamber of commerce (商会) guided by the federation."""

    __tablename__ = "chambers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # 异地商会 / 行业商会 / 乡镇街道商会 / 综合性商会
    kind: Mapped[str] = mapped_column(String(20), default="综合性商会")
    region: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Member(db.Model):  # type: ignore[name-defined,misc]
    """A person on the roster; ``openid`` is set once they bind their WeChat account."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    company: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(100), default="")
    mobile: Mapped[str] = mapped_column(String(20), index=True)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"))
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    bound_at: Mapped[datetime | None] = mapped_column(DateTime)
    source_scene: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    chamber: Mapped[Chamber | None] = relationship()

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags or "").split(",") if t.strip()]


class MemberRequest(db.Model):  # type: ignore[name-defined,misc]
    """A follower not on the roster asking to join; staff approve or reject it."""

    __tablename__ = "member_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(50))
    company: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(100), default="")
    mobile: Mapped[str] = mapped_column(String(20))
    chamber_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|approved|rejected
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


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


class Handoff(db.Model):  # type: ignore[name-defined,misc]
    """A conversation handed to a person: waiting → active → closed."""

    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    reason: Mapped[str] = mapped_column(String(40), default="asked")  # asked|stuck
    staff: Mapped[str | None] = mapped_column(String(50))
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


class AdminUser(db.Model):  # type: ignore[name-defined,misc]
    """A staff account for the console."""

    __tablename__ = "admin_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # admin|mediator|officer|editor
    committee_id: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(db.Model):  # type: ignore[name-defined,misc]
    """Who changed what in the console."""

    __tablename__ = "audit_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
