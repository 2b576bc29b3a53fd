"""Appeal deadlines in working days — across a weekend, a public holiday and a 调休 working
Saturday — extensions, and the staff's reminders and digests (idempotent, working days
only, delivered to the officer's own WeChat through the sandbox)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.extensions import db
from bot.models import CaseEvent, Outbox
from bot.services import calendar
from bot.services.cases import appeals, engine, staff_reminders
from bot.services.cases.engine import CaseRefused
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)
from tests.services.case_fixtures import open_window, texts_to

FRIDAY = date(2026, 12, 4)
NEW_YEARS_EVE = date(2026, 12, 31)  # a Thursday; 元旦 (Friday 1 January 2027) is a holiday
WORKING_SATURDAY = date(2027, 1, 9)


def appeal(day: date, category: str = "融资", urgency: str = "一般", openid: str = "o-ent"):
    workdays = appeals.answer_workdays(category, urgency, {})
    promised = appeals.promise(db.session, day, workdays)
    case = engine.open_case(
        db.session, appeals.KIND, openid=openid, today=day, category=category,
        title=f"{category}问题", data={
            "category": category, "urgency": urgency, "answer_workdays": workdays,
            "answer_due": promised.isoformat() if promised else "",
        },
    )  # fmt: skip
    db.session.commit()
    return case


def test_a_weekend_is_not_counted(depts):
    case = appeal(FRIDAY)
    assert case.due_at == date(2026, 12, 7)  # acknowledged by Monday
    assert case.data["answer_due"] == "2026-12-18"  # 10 working days: the Friday after next
    urgent = appeal(FRIDAY, urgency="紧急")
    assert urgent.data["answer_workdays"] == 1 and urgent.data["answer_due"] == "2026-12-07"
    engine.act(db.session, case, "acknowledge", depts.officer, today=date(2026, 12, 7))
    assert case.due_at == date(2026, 12, 18)  # from now on the promised answer date


def test_a_public_holiday_is_not_counted(depts):
    case = appeal(NEW_YEARS_EVE)
    assert case.due_at == date(2027, 1, 4)  # 元旦 Friday, then the weekend
    land = appeal(date(2026, 12, 28), category="用地")  # 复杂: 15 working days
    assert land.data["answer_workdays"] == 15
    # Dec 29, 30, 31, (Jan 1), Jan 4–8, 11–15, 18–19.
    assert land.data["answer_due"] == "2027-01-19"


def test_a_tiaoxiu_working_saturday_counts(depts):
    assert not calendar.is_workday(db.session, WORKING_SATURDAY)
    before = appeal(date(2026, 12, 28))
    assert before.data["answer_due"] == "2027-01-12"
    calendar.set_day(db.session, WORKING_SATURDAY, "workday", "调休上班")
    db.session.commit()
    after = appeal(date(2026, 12, 28), openid="o-other")
    assert after.data["answer_due"] == "2027-01-11"  # Saturday 9 January was the tenth day
    friday = appeal(date(2027, 1, 8), openid="o-third")
    assert friday.due_at == WORKING_SATURDAY  # acknowledged by the working Saturday


def test_an_extension_is_counted_in_working_days_and_only_before_the_deadline(depts):
    case = appeal(date(2026, 12, 17))
    engine.act(db.session, case, "acknowledge", depts.officer, today=date(2026, 12, 17))
    assert case.due_at == date(2026, 12, 31)
    engine.act(
        db.session, case, "request_extension", depts.officer, "需协调国土部门",
        today=date(2026, 12, 30), data={"workdays": 3},
    )  # fmt: skip
    with pytest.raises(CaseRefused) as refused:
        engine.act(db.session, case, "approve_extension", depts.officer, today=date(2026, 12, 30))
    assert refused.value.reason == "role"
    engine.act(db.session, case, "approve_extension", depts.admin, today=date(2026, 12, 30))
    assert case.due_at == date(2027, 1, 6)  # Jan 4, 5, 6: 元旦 and the weekend skipped
    assert case.extensions == 1
    (told,) = Outbox.query.filter(Outbox.template.like("%approve_extension%")).all()
    assert told.openid == "o-ent" and told.context["due"] == "2027-01-06"
    with pytest.raises(CaseRefused) as late:
        engine.act(
            db.session, case, "request_extension", depts.officer, "还需要时间",
            today=date(2027, 1, 7), data={"workdays": 2},
        )  # fmt: skip
    assert late.value.reason == "extension_too_late"


# -- staff reminders ---------------------------------------------------------------------------
@pytest.fixture
def bound(depts):
    """The economic department's officer and the admin have bound their WeChat."""
    depts.officer.openid = "o-staff-econ"
    depts.admin.openid = "o-staff-chief"
    depts.land_officer.openid = "o-staff-land"  # another department: never reminded here
    db.session.commit()
    return depts


def reminders():
    return [
        (o.openid, o.key.split(":")[3], o.context["number"])
        for o in Outbox.query.filter(Outbox.key.like("staff:%")).order_by(Outbox.id)
    ]


def test_reminders_the_working_day_before_and_each_working_day_after(bound):
    case = appeal(FRIDAY)  # acknowledge by Monday 7 December
    day = {d: FRIDAY + timedelta(days=d) for d in range(9)}
    assert staff_reminders.remind(db.session, FRIDAY - timedelta(days=1)) == 0
    assert staff_reminders.remind(db.session, FRIDAY) == 1  # the working day before
    assert staff_reminders.remind(db.session, FRIDAY) == 0  # once
    assert staff_reminders.remind(db.session, day[1]) == 0  # Saturday
    assert staff_reminders.remind(db.session, day[2]) == 0  # Sunday
    assert staff_reminders.remind(db.session, day[3]) == 0  # Monday: the deadline itself
    assert staff_reminders.remind(db.session, day[4]) == 1  # Tuesday: overdue
    assert staff_reminders.remind(db.session, day[4]) == 0
    assert staff_reminders.remind(db.session, day[5]) == 1  # and every working day after
    db.session.commit()
    assert reminders() == [
        ("o-staff-econ", "before", case.number),
        ("o-staff-econ", "overdue", case.number),
        ("o-staff-econ", "overdue", case.number),
    ]
    rows = CaseEvent.query.filter_by(case_id=case.id, action="staff_reminder").all()
    assert [(r.data["reminder"], r.visibility) for r in rows] == [
        ("before", "internal"), ("overdue", "internal"), ("overdue", "internal"),
    ]  # fmt: skip
    assert rows[0].data["to"] == [bound.officer.username]
    # Acknowledged: the clock is the promised answer date, no reminder until the day before.
    engine.act(db.session, case, "acknowledge", bound.officer, today=day[5])
    assert staff_reminders.remind(db.session, day[6]) == 0
    assert staff_reminders.remind(db.session, date(2026, 12, 17)) == 1  # before Fri 18 Dec


def test_a_working_saturday_is_a_reminder_day_and_unbound_staff_get_none(bound):
    calendar.set_day(db.session, WORKING_SATURDAY, "workday", "调休上班")
    case = appeal(date(2027, 1, 6))  # acknowledge by Thursday 7 January
    assert staff_reminders.remind(db.session, WORKING_SATURDAY) == 1  # overdue, and a workday
    bound.officer.openid = None
    db.session.commit()
    assert staff_reminders.remind(db.session, date(2027, 1, 11)) == 0  # nobody to tell
    assert CaseEvent.query.filter_by(case_id=case.id, action="staff_reminder").count() == 1


def test_the_daily_digest_once_a_working_day_through_the_sandbox(app, bound, sandbox_calls):
    from bot.jobs.outbox import deliver

    late = appeal(FRIDAY)
    fresh = appeal(date(2026, 12, 8), openid="o-fresh")
    escalated = appeal(date(2026, 12, 8), category="用地", openid="o-angry")
    escalated.data = {**escalated.data, "escalated": {"on": "2026-12-08", "round": 2}}
    db.session.commit()
    tuesday = date(2026, 12, 8)
    assert staff_reminders.send_digests(db.session, tuesday, "今日待办") == 3
    assert staff_reminders.send_digests(db.session, tuesday, "今日待办") == 0
    assert staff_reminders.send_digests(db.session, date(2026, 12, 12), "今日待办") == 0
    db.session.commit()
    digests = {o.openid: o for o in Outbox.query.filter(Outbox.key.like("digest:%"))}
    econ = digests["o-staff-econ"].context
    assert econ["overdue"]["count"] == 1 and econ["overdue"]["items"][0]["number"] == late.number
    assert econ["waiting"]["count"] == 2 and econ["escalated"]["count"] == 0
    assert digests["o-staff-land"].context["waiting"]["count"] == 1
    chief = digests["o-staff-chief"].context
    assert chief["escalated"]["count"] == 1 and chief["total"] == 3
    open_window("o-staff-econ")
    deliver()
    (text,) = texts_to(sandbox_calls, "o-staff-econ")
    assert "今日待办" in text and late.number in text and fresh.number in text
    assert "已超期 1 件" in text
