"""Knowledge-base entries and the questions the bot could not answer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow


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
    # The form the answer offers to start ("回复1立即预约"): a form's name, or "".
    offer: Mapped[str] = mapped_column(String(40), default="")
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
