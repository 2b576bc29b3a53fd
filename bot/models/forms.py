"""Submitted forms, one row per idempotency key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow


class FormSubmission(db.Model):  # type: ignore[name-defined,misc]
    """One submitted form run, by its idempotency key: a repeated confirmation adds nothing
    and is answered with ``reply``, the text the first confirmation got.

    ``consent_version`` and ``consent_at`` record the consent text the member agreed to
    (its template's version) and when, for forms with a consent slot.
    """

    __tablename__ = "form_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    form: Mapped[str] = mapped_column(String(40))
    openid: Mapped[str] = mapped_column(String(64), index=True)
    record_ref: Mapped[str] = mapped_column(String(64), default="")
    reply: Mapped[str] = mapped_column(Text, default="")
    consent_version: Mapped[str | None] = mapped_column(String(40))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What was submitted (the answers, not the media or the consent moment), hashed: the
    # same request sent again in a new run of the form is recognised, not recorded twice.
    digest: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
