"""The dashboard's period figures (issue 14): messages and active users per local day,
questions by the band the member got, top intents and questions, hand-offs, cases of every
kind by status with overdue counts (scoped), registrations per session; the period chosen
in the query string; the chart library served locally."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
from flask import current_app

from bot.console import figures
from bot.extensions import db
from bot.models import ConversationLog, Member, utcnow
from bot.services import clock
from bot.services.cases import KINDS
from tests.console.helpers import make_committee, make_session, open_handoff
from tests.factories import CaseFactory, RegistrationFactory


def chart_specs(page: str) -> dict[str, dict]:
    found = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', page)
    assert found, "no chart data on the page"
    return {spec["id"]: spec for spec in json.loads(found.group(1))}


def log(at: datetime, openid: str, text: str, reply: str = "好的", intent: str = "greeting"):
    db.session.add(
        ConversationLog(
            at=at, openid=openid, msg_type="text", text=text, reply=reply, intent=intent,
            latency_ms=5.0, delivery="passive",
        )
    )  # fmt: skip


def local_to_utc(local: datetime) -> datetime:
    zone = clock.zone(current_app.config)
    return local.replace(tzinfo=zone).astimezone(clock.UTC).replace(tzinfo=None)


def test_messages_are_counted_on_the_local_day_and_questions_by_band(console, client) -> None:
    today = clock.local_now(current_app.config).date()
    yesterday = today - timedelta(days=1)
    # 00:30 local time today is the previous day in UTC: it counts for today.
    early = local_to_utc(datetime.combine(today, datetime.min.time()) + timedelta(minutes=30))
    late = local_to_utc(datetime.combine(yesterday, datetime.min.time()) + timedelta(hours=23))
    log(early, "o-1", "社保缓缴怎么办", "社保费可以申请缓缴……", "policy_question")
    log(early, "o-1", "社保", "您是想问：\n1. 社保缓缴\n2. 社保补贴", "policy_question")
    log(early, "o-2", "火星移民", "抱歉，暂时没有找到“火星移民”的准确答案", "policy_question")
    log(early, "o-2", "社保缓缴怎么办", "社保费可以申请缓缴……", "policy_question")
    log(late, "o-3", "你好")
    db.session.add(Member(name="王五", mobile="13900000001", openid="o-1"))
    db.session.commit()
    console.login()
    page = client.get("/admin/?days=7").get_data(as_text=True)
    specs = chart_specs(page)
    talk = specs["talk"]
    assert talk["labels"][-2:] == [yesterday.isoformat(), today.isoformat()]
    assert talk["datasets"][0]["data"][-2:] == [1, 4]  # messages
    assert talk["datasets"][1]["data"][-2:] == [1, 2]  # active users
    assert specs["bands"]["datasets"][0]["data"] == [2, 1, 1]  # answer, choices, none
    assert specs["intents"]["labels"][0] == "政策咨询"  # policy_question, as staff read it
    assert "其中已绑定会员 <strong>1</strong>" in page
    # The top questions (the admin may open the log): the most asked first.
    assert page.index("社保缓缴怎么办") < page.index("火星移民")
    # The period is the one asked for; a day outside it is not counted.
    page = client.get(f"/admin/?start={today.isoformat()}&end={today.isoformat()}")
    specs = chart_specs(page.get_data(as_text=True))
    assert specs["talk"]["labels"] == [today.isoformat()]
    assert specs["talk"]["datasets"][0]["data"] == [4]


def test_cases_of_every_kind_are_shown_by_status_with_overdue_in_scope(console, client) -> None:
    ours, theirs = make_committee("甲调委会", "合同"), make_committee("乙调委会", "合同")
    today = clock.local_now(current_app.config).date()
    CaseFactory(committee=ours, status="待受理", created_at=utcnow())
    CaseFactory(
        committee=ours, status="调解中", created_at=utcnow(), due_at=today - timedelta(days=2)
    )
    CaseFactory(committee=theirs, status="待受理", created_at=utcnow())
    CaseFactory(committee=ours, status="待受理", created_at=utcnow() - timedelta(days=60))
    open_handoff()
    console.create("medi", "mediator", "--committee", str(ours.id))
    console.login("medi", "mediator")
    page = client.get("/admin/").get_data(as_text=True)
    specs = chart_specs(page)
    cases = specs["cases"]
    # One bar per kind the engine declares (appeals and other services too, as they land).
    assert len(cases["labels"]) == len(KINDS) and "调解案件" in cases["labels"]
    at = cases["labels"].index("调解案件")
    by_status = {d["label"]: d["data"][at] for d in cases["datasets"]}
    # Their committee's two cases of the last 30 days; the other committee's is not theirs.
    assert by_status["待受理"] == 1 and by_status["调解中"] == 1
    row = re.search(r'<tr class="case-kind" data-kind="mediation">(.*?)</tr>', page, re.S)
    assert row and '<td class="num">2</td>' in row.group(1)
    assert '<span class="badge badge-red">1</span>' in row.group(1)  # overdue today
    # A mediator sees no hand-off outside their committee, and no conversation texts.
    assert "等待接入 <strong>0</strong>" in page and "热门问题" not in page
    console.logout()
    console.login()  # an admin: all three recent cases
    specs = chart_specs(client.get("/admin/").get_data(as_text=True))
    at = specs["cases"]["labels"].index("调解案件")
    assert {d["label"]: d["data"][at] for d in specs["cases"]["datasets"]}["待受理"] == 2


def test_registrations_per_session_in_the_period(console, client) -> None:
    now = clock.local_now(current_app.config)
    held = make_session(title="非公经济大讲堂", starts_at=now - timedelta(days=3), capacity=2)
    make_session(title="上个季度的培训", starts_at=now - timedelta(days=100))
    make_session(title="下个月的培训", starts_at=now + timedelta(days=30))
    RegistrationFactory(session=held, status="attended")
    RegistrationFactory(session=held, status="confirmed")
    RegistrationFactory(session=held, status="waitlisted")
    console.create("otto", "officer")
    console.login("otto", "officer")
    specs = chart_specs(client.get("/admin/?days=30").get_data(as_text=True))
    sessions = specs["sessions"]
    # Sessions of the period and those to come; not those before it.
    assert sessions["labels"] == ["非公经济大讲堂", "下个月的培训"]
    assert [d["data"] for d in sessions["datasets"]] == [[1, 0], [1, 0], [1, 0]]


def test_an_editor_sees_no_registrations_and_notices_wait_for_their_tables(console, client):
    console.create("ed", "editor")
    console.login("ed", "editor")
    page = client.get("/admin/").get_data(as_text=True)
    assert "sessions" not in chart_specs(page) and "培训报名" not in page
    if not figures.notices_available():
        assert "通知公告功能尚未启用" in page


def test_the_period_is_bounded_and_bad_dates_fall_back() -> None:
    today = date(2026, 12, 1)
    assert figures.period_from({}, today, 30) == figures.Period(date(2026, 11, 2), today)
    assert figures.period_from({"days": "7"}, today, 30).start == date(2026, 11, 25)
    long = figures.period_from({"start": "2020-01-01", "end": "2026-12-01"}, today, 30)
    assert long.length == figures.MAX_DAYS and long.end == today
    swapped = figures.period_from({"start": "2026-11-30", "end": "2026-11-01"}, today, 30)
    assert (swapped.start, swapped.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert figures.period_from({"start": "nonsense", "days": "x"}, today, 30).length == 30
    assert figures.period_from({"end": "2099-01-01"}, today, 30).end == today
    assert figures.period_from({"start": "2099-01-01"}, today, 30) == figures.Period(today, today)
    # Year 1 has no UTC midnight in UTC+8: such dates are ignored, not an OverflowError.
    assert figures.period_from({"start": "0001-01-01", "end": "0001-01-02"}, today, 30).length == 30
    assert figures.year_period({"year": "2025"}, today) == figures.Period(
        date(2025, 1, 1), date(2025, 12, 31)
    )
    assert figures.year_period({"year": "1900"}, today).start == date(2026, 1, 1)


def test_dates_out_of_range_are_ignored_filters(console, client) -> None:
    console.login()
    for url in (
        "/admin/?start=0001-01-01&end=0001-01-02",
        "/admin/?start=9999-12-31",
        "/admin/audit?start=0001-01-01&end=9999-12-31",
        "/admin/reports?start=0001-01-01",
        "/admin/reports/report.xlsx?start=0001-01-01&end=0001-01-01",
        "/admin/reports?year=99999999999999999999",
    ):
        assert client.get(url).status_code == 200, url


def test_the_chart_library_is_served_by_the_app(console, client) -> None:
    console.login()
    page = client.get("/admin/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == [
        "/static/console/vendor/chartjs/chart.umd.js",
        "/static/console/dashboard.js",
    ]
    library = client.get(scripts[0])
    assert library.status_code == 200 and b"Chart.js v4.4.9" in library.data[:200]
    assert client.get("/static/console/vendor/chartjs/LICENSE.md").status_code == 200


@pytest.mark.skipif(not figures.notices_available(), reason="the notices tables have not landed")
def test_notices_sent_and_failed_in_the_period(console, client) -> None:
    from bot.models import Delivery, Notice  # type: ignore[attr-defined]

    sent = Notice(title="关于召开年会的通知", status="done", started_at=utcnow())
    draft = Notice(title="草稿", status="draft")
    old = Notice(title="去年的通知", status="done", started_at=utcnow() - timedelta(days=400))
    db.session.add_all([sent, draft, old])
    db.session.flush()
    statuses = ["sent", "sent", "sent", "failed", "skipped", "unknown"]
    db.session.add_all(
        [Delivery(notice_id=sent.id, openid=f"o-{n}", status=s) for n, s in enumerate(statuses)]
        + [Delivery(notice_id=old.id, openid="o-old", status="sent")]
        + [Delivery(notice_id=draft.id, openid="o-draft", status="pending")]
    )
    db.session.commit()
    console.login()
    specs = chart_specs(client.get("/admin/?days=30").get_data(as_text=True))
    assert specs["notices"]["datasets"][0]["data"] == [3, 1, 1, 1, 0]
    page = client.get("/admin/reports").get_data(as_text=True)
    assert '发布通知</td><td class="num"><strong>1</strong>' in page
    assert '送达人次</td><td class="num"><strong>3</strong>' in page
