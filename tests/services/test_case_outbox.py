"""Telling the member: every member-visible change reaches WeChat (the sandbox records it)
once — in the window as a customer-service message, else as a template message whose fields
fit the platform's limits, else held for their next message — and a retried job or a second
worker never sends it twice; the 司法确认 reminders go out on day 20 and day 27."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.extensions import db
from bot.jobs import outbox as sender
from bot.models import Outbox, PendingReply
from bot.services.cases import clocks, engine, mediation
from bot.services.cases import outbox as owed
from tests.conftest import WeChat
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)
from tests.services.case_fixtures import close_window, open_window, texts_to

TODAY = date(2026, 12, 1)
OPENID = "o-applicant"
LONG_STATUS = "调解委员会已经受理并且安排了第一次调解会议"  # 21 characters: over the limit


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WECHAT_NOTICE_TEMPLATE_ID": "tpl-case-progress"}


@pytest.fixture
def case(org):
    open_window(OPENID)
    return engine.open_case(
        db.session, mediation.KIND, openid=OPENID, today=TODAY, category="合同",
        data={"other_party": "示范市华兴五金有限公司"}, chamber_id=org.zhejiang.id,
    )  # fmt: skip


def run(case, org, *steps):
    """Make each step (a status, or (action, note, data)) as the committee's mediator."""
    for step in steps:
        if isinstance(step, str):
            engine.set_status(db.session, case, step, org.mediator, today=TODAY)
        else:
            action, note, data = step
            engine.act(db.session, case, action, org.mediator, note, today=TODAY, data=data)
    db.session.commit()


SCHEDULE = ("schedule", "", {"when": "2026-12-08T14:30", "place": "市民中心5楼调解室"})


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        (["已受理"], ["已受理", "示范市浙江商会人民调解委员会", "1月1日"]),
        (
            [("reject", "不属于民间纠纷受理范围", {})],
            ["不予受理", "不属于民间纠纷", "仲裁", "诉讼"],
        ),
        (["已受理", "调解中"], ["调解", "已开始"]),
        (["已受理", SCHEDULE], ["12月8日（周二）14:30", "市民中心5楼调解室"]),
        (
            [
                "已受理",
                ("settle", "", {"agreement": "分三期付清货款", "effective_on": "2026-12-10"}),
            ],
            ["调解成功", "分三期付清货款", "司法确认", "30 日", "1月9日"],
        ),
        (["已受理", "调解未成功"], ["未能达成协议", "仲裁", "诉讼", "行政部门"]),
        (["已受理", "对方不同意调解"], ["对方不同意调解", "自愿", "诉讼"]),
        (["已受理", ("extend", "双方同意", {})], ["延长一个月", "2月1日"]),
        ([("transfer", "", {"committee_id": "LABOUR"})], ["示范市劳动争议调解委员会"]),
        (["已受理", "调解未成功", "已结案"], ["已结案"]),
    ],
)
def test_each_change_reaches_the_member_once(case, org, sandbox_calls, steps, words):
    steps = [
        (s[0], s[1], {"committee_id": org.labour_committee.id})
        if isinstance(s, tuple) and s[2].get("committee_id") == "LABOUR"
        else s
        for s in steps
    ]
    run(case, org, *steps)
    assert sender.deliver() == len(steps)
    texts = texts_to(sandbox_calls, OPENID)
    assert len(texts) == len(steps)
    assert all(word in texts[-1] for word in words), texts[-1]
    assert case.number in texts[-1]
    assert sender.deliver() == 0 and len(texts_to(sandbox_calls, OPENID)) == len(steps)


def test_internal_steps_tell_the_member_nothing(case, org, sandbox_calls):
    run(case, org, "已受理", ("note", "对方法人电话未接通", {}))
    sender.deliver()
    assert len(texts_to(sandbox_calls, OPENID)) == 1  # the acceptance only
    assert "电话未接通" not in texts_to(sandbox_calls, OPENID)[0]


def test_a_retried_job_never_sends_twice(app, case, org, sandbox_calls):
    run(case, org, "已受理")
    (row,) = db.session.query(Outbox).all()
    # A worker claims the row and dies after WeChat took the message, before marking it.
    assert owed.claim(db.session, row.id) is not None
    db.session.commit()
    assert sender.deliver([row.id]) == 0  # the retry of that job
    assert sender.deliver() == 0  # and the sweep
    assert texts_to(sandbox_calls, OPENID) == []
    # The sweep gives up on it after the claim goes stale: unknown, never re-sent.
    row.claimed_at -= timedelta(hours=1)
    db.session.commit()
    sender.sweep()
    db.session.refresh(row)
    assert row.status == "unknown" and texts_to(sandbox_calls, OPENID) == []


def test_the_enqueued_job_retried_by_rq_sends_once(app, case, org, sandbox_calls):
    from rq import SimpleWorker

    run(case, org, "已受理")
    ids = [r.id for r in db.session.query(Outbox).all()]
    sender.enqueue(ids)
    sender.enqueue(ids)  # the same job queued twice (a console double-click, a retry)
    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert len(texts_to(sandbox_calls, OPENID)) == 1


def test_a_busy_platform_is_tried_again_later(case, org, sandbox_calls):
    run(case, org, "已受理")
    sandbox_calls.fault("message/custom/send", errcode=-1, times=1)
    with pytest.raises(Exception, match="-1"):
        sender.deliver()
    row = db.session.query(Outbox).one()
    db.session.refresh(row)
    assert row.status == "pending" and row.attempts == 1
    assert sender.deliver() == 1
    assert len(texts_to(sandbox_calls, OPENID)) == 1


def test_outside_the_window_a_template_message_with_checked_fields(case, org, sandbox_calls):
    run(case, org, "已受理")
    close_window(OPENID)
    sender.deliver()
    assert texts_to(sandbox_calls, OPENID) == []
    (call,) = sandbox_calls.list("message/template/send")
    body = call["body"]
    assert (body["touser"], body["template_id"]) == (OPENID, "tpl-case-progress")
    values = {key: item["value"] for key, item in body["data"].items()}
    assert values == {
        "character_string1": case.number,
        "thing2": "调解申请",
        "phrase3": "已受理",
        "time4": values["time4"],
    }
    assert all(len(v) <= 20 and "\n" not in v for v in values.values())
    assert db.session.query(Outbox).one().status == "template"


def test_a_field_over_the_limits_is_kept_for_the_next_visit(app, client, case, org, sandbox_calls):
    close_window(OPENID)
    assert owed.add(
        db.session, key="test:long", openid=OPENID, case_id=case.id,
        template="replies/cases/mediation/close.txt",
        context=engine.member_context(db.session, case),
        fields={"number": case.number, "status": LONG_STATUS, "date": "2026-12-01"},
    )  # fmt: skip
    db.session.commit()
    sender.deliver()
    assert sandbox_calls.list("message/template/send") == []
    assert db.session.query(PendingReply).filter_by(openid=OPENID).count() == 1
    # The member writes again: the held message comes first.
    reply = WeChat(client, OPENID).say("你好")
    assert "已结案" in reply and case.number in reply
    assert (
        sender.field_ok("已受理") and not sender.field_ok("两行\n文字") and not sender.field_ok("")
    )


def test_judicial_confirmation_reminders_on_day_20_and_27(case, org, sandbox_calls):
    run(
        case, org, "已受理",
        ("settle", "", {"agreement": "分三期付清货款", "effective_on": "2026-12-10"}),
    )  # fmt: skip
    effective = date(2026, 12, 10)
    sent = {}
    for day in range(0, 35):
        if clocks.owe_reminders(db.session, effective + timedelta(days=day)):
            sent[day] = True
        clocks.owe_reminders(db.session, effective + timedelta(days=day))  # twice a day: no-op
    db.session.commit()
    assert sorted(sent) == [20, 27]
    sender.deliver()
    reminders = [t for t in texts_to(sandbox_calls, OPENID) if "司法确认提醒" in t]
    assert len(reminders) == 2
    assert "还有 10 天" in reminders[0] and "还有 3 天" in reminders[1]
    assert "1月9日" in reminders[0]


def test_a_missed_day_sends_only_the_latest_reminder(case, org):
    run(
        case, org, "已受理", ("settle", "", {"agreement": "一次付清", "effective_on": "2026-12-10"})
    )
    assert clocks.owe_reminders(db.session, date(2026, 12, 10) + timedelta(days=28)) == 1
    assert [o.key.rsplit(":", 1)[1] for o in db.session.query(Outbox).filter(
        Outbox.key.like("%judicial%")
    )] == ["27"]  # fmt: skip
    assert clocks.owe_reminders(db.session, date(2026, 12, 10) + timedelta(days=31)) == 0


def test_the_periodic_case_chore_owes_and_sends(app, case, org, sandbox_calls):
    from bot.jobs.chores import CHORES
    from bot.services.clock import local_now

    assert "case-chores" in [chore.name for chore in CHORES]
    effective = local_now(app.config).date() - timedelta(days=20)
    run(case, org, "已受理", ("settle", "", {"agreement": "一次付清", "effective_on": effective}))
    # The acceptance and the settlement (their job not run here), and today's day-20 reminder.
    assert sender.case_chores() == 3
    assert sender.case_chores() == 0
    assert "司法确认提醒" in texts_to(sandbox_calls, OPENID)[-1]
