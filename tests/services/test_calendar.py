"""Working days over the holiday table: weekends, public holidays, 调休 make-up days, and a
year the table does not cover (refused, never guessed)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.extensions import db
from bot.models import CalendarYear, Holiday
from bot.services import calendar


@pytest.fixture
def seeded(app):
    added = calendar.seed(db.session)
    db.session.commit()
    return added


def test_seed_covers_the_package_years_once(seeded):
    assert seeded[0] == 2004 and seeded[-1] == 2026
    assert calendar.seed(db.session) == []  # a second seed adds nothing
    national = db.session.get(CalendarYear, 2026)
    assert national is not None and national.source == "chinese-calendar"
    oct1 = Holiday.query.filter_by(day=date(2026, 10, 1)).one()
    assert (oct1.kind, oct1.name) == ("holiday", "国庆节")
    makeup = Holiday.query.filter_by(day=date(2026, 10, 10)).one()
    assert makeup.kind == "workday"  # a 调休 Saturday


def test_working_days_across_a_weekend(seeded):
    friday = date(2026, 12, 4)
    assert calendar.add_workdays(db.session, friday, 1) == date(2026, 12, 7)  # Monday
    assert calendar.add_workdays(db.session, friday, 3) == date(2026, 12, 9)
    assert calendar.workdays_between(db.session, friday, date(2026, 12, 9)) == 3
    assert calendar.workdays_between(db.session, date(2026, 12, 9), friday) == -3


def test_working_days_across_a_holiday_and_a_makeup_saturday(seeded):
    # 国庆 2026: 1–7 October off; Saturday 10 October is worked (调休).
    assert calendar.add_workdays(db.session, date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_workdays(db.session, date(2026, 10, 9), 1) == date(2026, 10, 10)
    assert calendar.is_workday(db.session, date(2026, 10, 10))
    assert not calendar.is_workday(db.session, date(2026, 10, 5))
    # and 20 September, a Sunday, is worked before 国庆
    assert calendar.add_workdays(db.session, date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_a_year_the_table_does_not_cover_is_refused(seeded):
    with pytest.raises(calendar.CalendarGap) as refused:
        calendar.add_workdays(db.session, date(2026, 12, 30), 3)
    assert refused.value.year == 2027 and "2027" in str(refused.value)
    # Staff enter 2027 (元旦 on Friday 1 January) and declare the year: now it counts.
    calendar.set_day(db.session, date(2027, 1, 1), "holiday", "元旦")
    calendar.cover_year(db.session, 2027)
    assert calendar.add_workdays(db.session, date(2026, 12, 30), 3) == date(2027, 1, 5)


def test_staff_edits_survive_a_reseed(seeded):
    calendar.set_day(db.session, date(2026, 12, 31), "holiday", "临时放假")
    db.session.query(CalendarYear).filter_by(year=2026).delete()
    assert calendar.seed(db.session, [2026]) == [2026]
    row = Holiday.query.filter_by(day=date(2026, 12, 31)).one()
    assert (row.kind, row.source) == ("holiday", "staff")


def test_the_console_is_warned_a_month_before_the_table_runs_out(seeded):
    assert calendar.covered_until(db.session, date(2026, 6, 1)) == date(2026, 12, 31)
    assert calendar.runs_out_soon(db.session, date(2026, 6, 1)) is None
    assert calendar.runs_out_soon(db.session, date(2026, 12, 1)) == date(2026, 12, 31)
    assert calendar.covered_until(db.session, date(2027, 2, 1)) is None


def test_cli_workdays_json_and_the_gap_exit(app, runner, seeded):
    done = runner.invoke(args=["calendar", "workdays", "2026-09-30", "1", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"date": "2026-10-08"}
    gap = runner.invoke(args=["calendar", "workdays", "2026-12-31", "2", "--json"])
    assert gap.exit_code == 2
    assert "2027" in gap.output and "does not cover" in gap.output


def test_cli_seed_reports_the_years(app, runner):
    done = runner.invoke(args=["calendar", "seed"])
    assert done.exit_code == 0 and "23 years added (2004–2026)" in done.output
