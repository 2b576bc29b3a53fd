"""The organisation's units that take cases: mediation committees and departments.

Console users are bound to one (``AdminUser.committee_id`` / ``department_id``): a
mediator sees the cases of their committee, an officer those of their department.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.extensions import db
from bot.models.base import utcnow
from bot.models.members import Chamber


class Committee(db.Model):  # type: ignore[name-defined,misc]
    """A people's mediation committee (人民调解委员会), the federation's or a chamber's.

    ``dispute_types`` are the types it takes (合同, 货款债务 …); routing prefers the
    applicant's chamber's committee, then a federation-level one (no chamber), then the
    one marked ``is_default``.
    """

    __tablename__ = "committees"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"))
    dispute_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact: Mapped[str] = mapped_column(String(200), default="")  # person and phone
    address: Mapped[str] = mapped_column(String(300), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    chamber: Mapped[Chamber | None] = relationship()


class Department(db.Model):  # type: ignore[name-defined,misc]
    """A department of the federation (or a government one it works with) that answers
    appeals of its ``categories`` (融资, 用地 …)."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
