"""Appeal statistics on a known set of six appeals, each figure worked out by hand.

All submitted on Tuesday 1 December 2026 (acknowledge by Wed 2 Dec; 一般 answers promised
by Tue 15 Dec — 10 working days — and 用地, 复杂, by Tue 22 Dec), counted on Thu 17 Dec:

====  ====  ===============  =================  ==========================  ==========
case  cat.  acknowledged     first answer       回访                        now
====  ====  ===============  =================  ==========================  ==========
A     融资  Dec 2 (in time)  Dec 10 (on time)   已解决, 满意                已办结
B     融资  Dec 3 (late)     Dec 16 (late)      未解决, 不满意 → 重办       办理中
C     税费  Dec 1 (in time)  Dec 4 (on time)    部分解决, 基本满意          已办结
D     用地  returned Dec 2                                                 退回
E     用地  never (late)                                                   已提交
F     融资  Dec 2 (in time)  Dec 8 (on time)    none yet                    已答复
====  ====  ===============  =================  ==========================  ==========
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.extensions import db
from bot.services.cases import appeal_stats, appeals, engine
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)

ZONE = ZoneInfo("Asia/Shanghai")
SUBMITTED = date(2026, 12, 1)
COUNTED = date(2026, 12, 17)


def moment(day: date) -> datetime:
    """10:00 local on ``day``, stored as naive UTC."""
    return datetime.combine(day, time(10), ZONE).astimezone(UTC).replace(tzinfo=None)


def appeal(category: str, openid: str):
    workdays = appeals.answer_workdays(category, "一般", {})
    promised = appeals.promise(db.session, SUBMITTED, workdays)
    case = engine.open_case(
        db.session, appeals.KIND, openid=openid, today=SUBMITTED, category=category,
        title=f"{category}问题", data={
            "category": category, "urgency": "一般", "company": f"{openid}公司",
            "answer_workdays": workdays, "answer_due": promised.isoformat(),
        },
    )  # fmt: skip
    case.created_at = moment(SUBMITTED)
    return case


def act(case, action, day, user, note="", **data):
    event = engine.act(db.session, case, action, user, note, today=day, data=data)
    event.at = moment(day)
    return event


@pytest.fixture
def known(depts):
    officer, land = depts.officer, depts.land_officer
    a, b, c = appeal("融资", "o-a"), appeal("融资", "o-b"), appeal("税费", "o-c")
    d, e, f = appeal("用地", "o-d"), appeal("用地", "o-e"), appeal("融资", "o-f")
    assert a.data["answer_due"] == "2026-12-15" and d.data["answer_due"] == "2026-12-22"
    assert a.due_at == date(2026, 12, 2)  # acknowledge within one working day
    act(a, "acknowledge", date(2026, 12, 2), officer)
    act(a, "answer", date(2026, 12, 10), officer, "已协调银行放款")
    appeals.feedback(
        db.session, a, solved="已解决", rating="满意", comment="", today=date(2026, 12, 11)
    )
    act(b, "acknowledge", date(2026, 12, 3), officer)
    act(b, "answer", date(2026, 12, 16), officer, "已转银行研究")
    appeals.feedback(
        db.session, b, solved="未解决", rating="不满意", comment="没解决", today=COUNTED
    )
    act(c, "acknowledge", date(2026, 12, 1), officer)
    act(c, "answer", date(2026, 12, 4), officer, "已办理留抵退税")
    appeals.feedback(
        db.session, c, solved="部分解决", rating="基本满意", comment="", today=date(2026, 12, 7)
    )
    act(d, "return", date(2026, 12, 2), land, "属于司法程序，请通过诉讼解决")
    act(f, "acknowledge", date(2026, 12, 2), officer)
    act(f, "answer", date(2026, 12, 8), officer, "贴息申报材料已转交")
    db.session.commit()
    assert [x.status for x in (a, b, c, d, e, f)] == [
        "已办结", "办理中", "已办结", "退回", "已提交", "已答复",
    ]  # fmt: skip
    return a, b, c, d, e, f


def figures(user=None, **kw):
    return appeal_stats.report(db.session, user, today=COUNTED, zone=ZONE, **kw)


def test_each_rate_of_the_known_set(depts, known):
    t = figures().total
    assert (t.received, t.returned, t.closed, t.open, t.overdue) == (6, 1, 2, 3, 1)
    assert (t.reopened, t.reopenings, t.escalated) == (1, 1, 0)
    rates = {name: rate.as_tuple() for name, rate in t.rates.items()}
    assert rates == {
        "acknowledged_in_time": (4, 6),  # A, C, D (returned in time), F of all six
        "solved": (1, 3),  # A said 已解决; A, B, C answered the 回访
        "satisfied": (2, 3),  # 满意 (A) + 基本满意 (C) of three ratings
        "answered_on_time": (3, 4),  # A, C, F by 15 Dec; B late; E not yet due (22 Dec)
        "closed": (2, 5),  # A, C of the five not returned
    }
    # Working days from 1 Dec to the first answer: A 7, B 11, C 3, F 5.
    assert sorted(t.answer_days) == [3, 5, 7, 11] and t.average_answer_days == 6.5
    assert round(t.rate("satisfied").value or 0, 4) == 0.6667


def test_per_category_and_per_department(depts, known):
    report = figures(categories=appeals.CATEGORIES)
    assert list(report.by_category) == ["融资", "用地", "税费"]  # in the categories' order
    finance = report.by_category["融资"]  # A, B, F
    assert finance.received == 3 and finance.rate("answered_on_time").as_tuple() == (2, 3)
    assert finance.rate("acknowledged_in_time").as_tuple() == (2, 3)
    land = report.by_category["用地"]  # D returned, E waiting
    assert (land.received, land.returned) == (2, 1)
    assert land.rate("acknowledged_in_time").as_tuple() == (1, 2)
    assert land.rate("closed").as_tuple() == (0, 1)
    economic = report.by_department["示范市工商联经济服务部"]
    assert economic.received == 4 and economic.rate("solved").as_tuple() == (1, 3)
    assert report.by_department["示范市投资促进局"].received == 2


def test_the_rates_the_dashboard_calls_are_scoped_and_by_period(depts, known):
    everything = appeals.rates(db.session, None, None, None, zone=ZONE, today=COUNTED)
    assert everything["closed"] == (2, 5) and everything["acknowledged_in_time"] == (4, 6)
    mine = appeals.rates(db.session, SUBMITTED, SUBMITTED, depts.officer, zone=ZONE, today=COUNTED)
    assert mine["acknowledged_in_time"] == (3, 4) and mine["closed"] == (2, 4)
    later = appeals.rates(db.session, date(2026, 12, 2), None, None, zone=ZONE, today=COUNTED)
    assert later == {name: (0, 0) for name in appeal_stats.RATES}
