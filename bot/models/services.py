"""The services' rosters and catalogue: who takes 法治体检, 融资对接 and 代办 cases, and the
items a chamber's 代办点 can handle (商会+最多跑一次).

A :class:`Provider` is a lawyer or law firm, a partner bank or a 代办员 as staff keep them:
a name members read (示范律师事务所 张律师, 示范农商银行), optionally the console user who works
the cases (role ``lawyer``, ``bank`` or ``agent``: they see the cases assigned to them) and
the chamber an agent serves. A :class:`ProxyItem` is one row of the 代办事项清单, imported
from the departments' XLSX lists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow

# Provider.kind: which service's roster the row is on (and the console role it works in).
PROVIDER_KINDS = ("lawyer", "bank", "agent")


class Provider(db.Model):  # type: ignore[name-defined,misc]
    """One entry of a service roster: a lawyer or firm, a partner bank, a 代办员."""

    __tablename__ = "service_providers"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # PROVIDER_KINDS
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")  # the firm, the bank
    contact: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"), index=True)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProxyItem(db.Model):  # type: ignore[name-defined,misc]
    """One item of the 代办事项清单: what it is, who handles it, what it needs."""

    __tablename__ = "proxy_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100), default="")
    materials: Mapped[str] = mapped_column(Text, default="")  # one per line
    by_proxy: Mapped[bool] = mapped_column(Boolean, default=True)  # 可代办
    workdays: Mapped[int | None] = mapped_column(Integer)  # typical working days
    keywords: Mapped[str] = mapped_column(Text, default="")  # comma-separated, for matching
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def material_list(self) -> list[str]:
        return [m.strip() for m in (self.materials or "").splitlines() if m.strip()]
