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
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

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
