"""Chambers, members and requests to join or bind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.extensions import db
from bot.models.base import utcnow


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
