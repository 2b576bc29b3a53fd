"""The holiday calendar: public holidays, 调休 make-up working days, and the years it covers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.extensions import db
from bot.models.base import utcnow


class Holiday(db.Model):  # type: ignore[name-defined,misc]
    """A day that differs from the plain week: a public holiday, or a 调休 working weekend day.

    Weekdays are working days and weekends rest days unless a row says otherwise.
    """

    __tablename__ = "holidays"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday (调休)
    name: Mapped[str] = mapped_column(String(50), default="")
    # chinese-calendar (seeded) | staff (edited in the console; a re-seed never overwrites it)
    source: Mapped[str] = mapped_column(String(20), default="staff")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class CalendarYear(db.Model):  # type: ignore[name-defined,misc]
    """A year whose holidays are in the table: only these years may be counted in."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(20), default="staff")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
