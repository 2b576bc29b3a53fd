"""Notices (通知公告) and their per-recipient deliveries.

A notice is composed, approved when its audience is large, then sent by background workers
from :class:`Delivery` rows: one per notice and recipient (unique), claimed by conditional
UPDATE with a lease (``claimed_until``), so each member gets a notice once however many
workers run and whichever of them dies mid-send. A mass send (to a tag or to all) is one
WeChat job, not per-recipient rows: its outcome is on the notice (``mass_*``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow


class Notice(db.Model):  # type: ignore[name-defined,misc]
    """One notice: what it says, who it goes to, by which channel, and where it stands.

    ``status``: draft → pending (waiting for a second admin's approval) → approved →
    sending → sent; or cancelled. ``audience``: ``all``, ``chamber:ID``, ``tag:NAME``,
    ``session:ID`` or ``list`` (``audience_list`` holds the matched openids).
    """

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachment_url: Mapped[str] = mapped_column(String(500), default="")
    audience: Mapped[str] = mapped_column(String(100), default="all")
    audience_list: Mapped[list[str] | None] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(12), default="template")
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(50), default="")
    created_via: Mapped[str] = mapped_column(String(12), default="console")  # console|wechat|cli
    submitted_by: Mapped[str | None] = mapped_column(String(50))
    approved_by: Mapped[str | None] = mapped_column(String(50))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    preview_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Why sending paused (45009, -1) and until when: the workers resume after it.
    paused_until: Mapped[datetime | None] = mapped_column(DateTime)
    pause_reason: Mapped[str | None] = mapped_column(String(60))
    # The mass job (mass channel only): WeChat's ids and what it reported.
    mass_msg_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    mass_msg_data_id: Mapped[int | None] = mapped_column(BigInteger)
    mass_status: Mapped[str | None] = mapped_column(String(40))
    mass_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Delivery(db.Model):  # type: ignore[name-defined,misc]
    """One recipient of one notice (template or customer-service channel).

    ``status``: pending → sending (claimed until ``claimed_until``) → sent | failed |
    skipped | unknown. ``unknown`` is a request whose outcome nobody knows (a time-out
    after sending) on a channel without a de-duplication key: it is never sent again.
    """

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "openid"),
        Index("ix_notice_deliveries_notice_status", "notice_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    openid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    msg_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    error: Mapped[str | None] = mapped_column(String(200))
    # What WeChat said afterwards (TEMPLATESENDJOBFINISH's Status), for the report.
    confirmed: Mapped[str | None] = mapped_column(String(40))
    # The first request's time: WeChat keeps a template's client_msg_id for 10 minutes only,
    # so an unknown outcome older than that is not retried under it.
    first_tried_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
