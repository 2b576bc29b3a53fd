"""Working days: the holiday table (public holidays, 调休 make-up working days) and counting in it.

Weekdays are working days and Saturdays and Sundays rest days, unless the ``holidays`` table
says otherwise. The State Council publishes each year's arrangement late in the year before,
so the table is seeded from the ``chinese-calendar`` package for the years it covers and
staff add later years in the console. A count that reaches a year the table does not cover
raises :class:`CalendarGap`: a deadline is never guessed from the plain week, because a wrong
deadline told to a member is worse than none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select

from bot.extensions import DBSession
from bot.models.calendar import CalendarYear, Holiday

HOLIDAY = "holiday"
WORKDAY = "workday"  # 调休: a weekend day worked to make up for a holiday
SEEDED = "chinese-calendar"
STAFF = "staff"
# Data, not wording: the package names holidays in English; the table keeps the Chinese name.
_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
# No sane count of working days spans more than this; a longer walk means a bad argument.
_MAX_SPAN_DAYS = 3 * 366
WARN_DAYS = 31  # the console warns this long before the table runs out


class CalendarGap(Exception):
    """The table does not cover ``year``: staff must add that year's holidays first."""

    def __init__(self, day: date) -> None:
        super().__init__(
            f"the holiday calendar does not cover {day.year} (needed for {day.isoformat()}); "
            f"add {day.year}'s public holidays and 调休 days in the console, then retry"
        )
        self.day = day
        self.year = day.year


@dataclass(frozen=True)
class Days:
    """The table's view of a stretch of days: which years it covers and what it says."""

    years: frozenset[int]
    special: dict[date, str]  # day → holiday | workday

    def is_workday(self, day: date) -> bool:
        if day.year not in self.years:
            raise CalendarGap(day)
        kind = self.special.get(day)
        if kind is not None:
            return kind == WORKDAY
        return day.weekday() < 5


def load(db: DBSession, start: date, end: date) -> Days:
    """What the table says about ``start``..``end`` (inclusive), in two small queries."""
    years = frozenset(db.execute(select(CalendarYear.year)).scalars())
    rows = db.execute(
        select(Holiday.day, Holiday.kind).where(Holiday.day >= start, Holiday.day <= end)
    ).all()
    return Days(years, {day: kind for day, kind in rows})


def is_workday(db: DBSession, day: date) -> bool:
    """Whether ``day`` is a working day (raises :class:`CalendarGap` outside the table)."""
    return load(db, day, day).is_workday(day)


def add_workdays(db: DBSession, start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself never counts; ``n`` ≥ 1).

    Three working days from a Friday is the Wednesday after; across 国庆 the holiday week is
    skipped and a 调休 Saturday counts.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    # Holidays are at most ~8 days in a row: twice the span plus a fortnight always suffices.
    window = timedelta(days=min(n * 2 + 21, _MAX_SPAN_DAYS))
    end = start + window
    days = load(db, start, end)
    day, left = start, n
    while left:
        day += timedelta(days=1)
        if day > end:  # a long count: read the next stretch
            end = day + window
            days = load(db, day, end)
        if days.is_workday(day):
            left -= 1
    return day


def workdays_between(db: DBSession, start: date, end: date) -> int:
    """Working days in (``start``, ``end``]: how many ``add_workdays`` steps ``end`` is away.

    Negative when ``end`` is before ``start`` (a deadline already passed).
    """
    if end < start:
        return -workdays_between(db, end, start)
    if (end - start).days > _MAX_SPAN_DAYS:
        raise ValueError("span too long to count in working days")
    days = load(db, start, end)
    return sum(days.is_workday(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def covered_until(db: DBSession, today: date) -> date | None:
    """The last day of the run of covered years that starts with ``today``'s year, or None
    when this year itself is missing (then every deadline is refused)."""
    years = set(db.execute(select(CalendarYear.year)).scalars())
    if today.year not in years:
        return None
    year = today.year
    while year + 1 in years:
        year += 1
    return date(year, 12, 31)


def runs_out_soon(db: DBSession, today: date) -> date | None:
    """The day the table runs out when that is within :data:`WARN_DAYS` (the console's
    warning), else None."""
    last = covered_until(db, today)
    if last is None:
        return today
    return last if (last - today).days <= WARN_DAYS else None


def seed(db: DBSession, years: Iterable[int] | None = None) -> list[int]:
    """Load ``chinese-calendar``'s holidays and 调休 days for the years it covers (or those of
    ``years`` it covers); answer the years added. Rows staff edited are kept as they are."""
    from chinese_calendar import constants

    known = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    wanted = sorted(known if years is None else known & set(years))
    present = set(db.execute(select(CalendarYear.year)).scalars())
    staff_days = set(db.execute(select(Holiday.day).where(Holiday.source == STAFF)).scalars())
    added: list[int] = []
    for year in wanted:
        if year in present:
            continue
        # Replace what an earlier seed of this year left, never what staff entered.
        db.execute(
            delete(Holiday).where(
                Holiday.day >= date(year, 1, 1),
                Holiday.day <= date(year, 12, 31),
                Holiday.source == SEEDED,
            )
        )
        for table, kind in ((constants.holidays, HOLIDAY), (constants.workdays, WORKDAY)):
            for day, name in table.items():
                if day.year != year or day in staff_days:
                    continue
                # A weekend holiday changes nothing, but is kept: staff read the table.
                label = _HOLIDAY_NAMES.get(str(name), str(name))
                db.add(Holiday(day=day, kind=kind, name=label, source=SEEDED))
        db.add(CalendarYear(year=year, source=SEEDED))
        added.append(year)
    db.flush()
    return added


def set_day(db: DBSession, day: date, kind: str | None, name: str = "") -> None:
    """Staff's edit of one day: a holiday, a 调休 working day, or (``None``) a plain day."""
    if kind not in (HOLIDAY, WORKDAY, None):
        raise ValueError(f"unknown day kind {kind!r}")
    row = db.execute(select(Holiday).where(Holiday.day == day)).scalar_one_or_none()
    if kind is None:
        if row is not None:
            db.delete(row)
        return
    if row is None:
        row = Holiday(day=day)
        db.add(row)
    row.kind, row.name, row.source = kind, name, STAFF
    db.flush()


def cover_year(db: DBSession, year: int) -> None:
    """Staff declare ``year``'s holidays entered: deadlines may now be counted in it."""
    if db.get(CalendarYear, year) is None:
        db.add(CalendarYear(year=year, source=STAFF))
        db.flush()


def days_of_year(db: DBSession, year: int) -> list[Holiday]:
    """The table's rows for ``year``, in date order (the console's calendar page)."""
    return list(
        db.execute(
            select(Holiday)
            .where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
            .order_by(Holiday.day)
        ).scalars()
    )
