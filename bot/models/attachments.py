"""Files members sent with a submitted form (images, voice messages, videos, files).

WeChat hands the bot only a temporary media id, valid for three days; the attachment job
(``bot.jobs.media``) fetches the file right after the submission commits and stores it
under the instance folder. Each row says what it belongs to (``owner_kind`` + ``owner_id``:
a form's record, e.g. ``mediation_apply`` / ``TJ20261201001``), so any record can have them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow

# pending → stored, or failed (WeChat refused; see error), or expired (three days passed)
ATTACHMENT_STATUSES = ("pending", "stored", "failed", "expired")


class Attachment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_owner", "owner_kind", "owner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[str] = mapped_column(String(64))
    submission_key: Mapped[str] = mapped_column(String(200), index=True, default="")
    openid: Mapped[str] = mapped_column(String(64), index=True)
    media_id: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(20))  # image | voice | video | file …
    title: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int | None] = mapped_column(Integer)
    # Relative to the attachments folder (ATTACHMENTS_FOLDER, else instance/attachments).
    stored_path: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(300), default="")
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
