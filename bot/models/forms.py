"""Submitted forms, one row per idempotency key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow


class FormSubmission(db.Model):  # type: ignore[name-defined,misc]
    """The idempotency key of one submitted form run: a repeated confirmation adds nothing."""

    __tablename__ = "form_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    form: Mapped[str] = mapped_column(String(40))
    openid: Mapped[str] = mapped_column(String(64), index=True)
    record_ref: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
