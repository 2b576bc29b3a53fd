"""The conversation log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db


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
    # Set by the process that answered: a line written twice (by the worker's batch and by a
    # web process saving what a lost Redis held) is stored once.
    line_key: Mapped[str | None] = mapped_column(String(32), unique=True)
