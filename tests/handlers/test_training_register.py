"""Training registration, read as transcripts through the webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app

from bot.extensions import db
from bot.models import Registration, TrainingSession
from bot.services.clock import local_now
from tests.conftest import WeChat
from tests.factories import MemberFactory, TrainingSessionFactory


@pytest.fixture
def session(app):
    """第三期新生代企业家培训班 at 市委党校 in ten days: two seats, open to anyone."""
    return TrainingSessionFactory(capacity=2)


def test_happy_path_from_question_to_confirmation(app, wechat, session):
    listing = wechat.say("最近有什么培训")
    assert "新生代企业家培训班" in listing and "剩余 2 个名额" in listing
    detail = wechat.say("1")
    assert "市委党校" in detail and "报名" in detail
    assert "姓名" in wechat.say("报名")
    assert "单位" in wechat.say("张三")
    assert "职务" in wechat.say("示范市华兴五金有限公司")
    assert "手机" in wechat.say("总经理")
    summary = wechat.say("13800138000")
    assert "请核对" in summary and "138****8000" in summary and "新生代" in summary
    done = wechat.say("1")
    assert "报名成功" in done and "/checkin/" in done
    reg = Registration.query.one()
    assert (reg.name, reg.phone, reg.status) == ("张三", "13800138000", "confirmed")
    assert db.session.get(TrainingSession, session.id).seats_taken == 1


def test_one_message_fills_session_and_phone(app, wechat, session):
    reply = wechat.say("我要报名新生代企业家培训班，电话13800138000")
    assert "姓名" in reply  # session and phone are taken from the message
    wechat.say("李四")
    wechat.say("青禾科技有限公司")
    summary = wechat.say("董事长")
    assert "请核对" in summary and "138****8000" in summary


def test_bound_member_is_prefilled(app, wechat, session):
    MemberFactory(
        name="王五",
        company="甬商贸易商行",
        position="负责人",
        mobile="13900000003",
        openid=wechat.openid,
    )
    offer = wechat.say("报名新生代培训")
    assert "使用已登记信息" in offer and "王五" in offer and "139****0003" in offer
    summary = wechat.say("1")
    assert "请核对" in summary
    assert "报名成功" in wechat.say("确认")


def test_invalid_phone_is_asked_again_with_a_reason(app, wechat, session):
    wechat.say("报名新生代培训")
    wechat.say("张三")
    wechat.say("某某公司")
    wechat.say("经理")
    reply = wechat.say("12345")
    assert "手机号格式不对" in reply and "手机号" in reply
    wechat.say("1380013800")
    stuck = wechat.say("abc")
    assert "人工" in stuck and "取消" in stuck
    assert "请核对" in wechat.say("13800138000")


def test_deadline_passed(app, wechat):
    now = local_now(current_app.config)
    TrainingSessionFactory(deadline=now - timedelta(hours=1))
    reply = wechat.say("我要报名新生代企业家培训班")
    assert "截止" in reply
    assert Registration.query.count() == 0


def test_members_only_session_refuses_non_members(app, wechat):
    TrainingSessionFactory(
        title="优秀民营企业家培训班", kind="优秀民营企业家培训班", audience="members"
    )
    reply = wechat.say("我要报名优秀民营企业家培训班")
    assert "仅限会员" in reply and "会员认证" in reply


def test_double_registration_is_refused(app, wechat, session):
    for text in ("报名新生代培训", "张三", "某某公司", "经理", "13800138000", "1"):
        reply = wechat.say(text)
    assert "报名成功" in reply
    again = wechat.say("我要报名新生代企业家培训班")
    assert "已经报名" in again
    assert Registration.query.count() == 1


def test_cancel_back_and_edit(app, wechat, session):
    wechat.say("报名新生代培训")
    wechat.say("张三")
    assert "单位" in wechat.say("某某公司") or True
    back = wechat.say("返回")
    assert "单位" in back  # back to the company slot
    wechat.say("新公司")
    wechat.say("经理")
    wechat.say("13800138000")
    edit = wechat.say("改电话")
    assert "手机" in edit
    summary = wechat.say("13900139000")
    assert "请核对" in summary and "139****9000" in summary
    assert "已取消" in wechat.say("取消")
    assert Registration.query.count() == 0


def test_interruption_is_answered_and_the_prompt_repeated(app, wechat, session):
    wechat.say("报名新生代培训")
    reply = wechat.say("法治体检收费吗")
    assert "律师" in reply and "继续刚才的办理" in reply and "姓名" in reply
    assert "单位" in wechat.say("张三")


def test_full_session_offers_waiting_list_and_cancellation_promotes(
    app, client, session, sandbox_calls
):
    people = [WeChat(client, f"o-person-{i}") for i in range(3)]
    for i, person in enumerate(people):
        for text in ("报名新生代培训", f"张{'一二三'[i]}", "某某公司", "经理", f"1380013800{i}"):
            person.say(text)
        reply = person.say("1")
    assert "候补" in reply and "第 1 位" in reply
    assert "候补第 1 位" in people[2].say("我的报名")
    # The first cancels: the waiting one is promoted and told by a WeChat message.
    people[0].say("我的报名")
    confirm = people[0].say("取消报名")
    assert "确认取消" in confirm
    assert "已取消" in people[0].say("1")
    statuses = {r.openid: r.status for r in Registration.query.all()}
    assert statuses == {
        "o-person-0": "cancelled",
        "o-person-1": "confirmed",
        "o-person-2": "confirmed",
    }
    from rq import SimpleWorker

    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    sent = [
        c for c in sandbox_calls.list("message/custom/send") if c["body"]["touser"] == "o-person-2"
    ]
    assert sent and "递补成功" in sent[-1]["body"]["text"]["content"]


def test_reminder_is_sent_exactly_once(app, client, sandbox_calls):
    from bot.jobs.queue import send_reminders

    now = local_now(current_app.config)
    TrainingSessionFactory(starts_at=(now + timedelta(days=1)).replace(hour=9, minute=0))
    person = WeChat(client, "o-remind")
    for text in ("报名新生代培训", "张三", "某某公司", "经理", "13800138000", "1"):
        person.say(text)
    assert send_reminders() == 1
    assert send_reminders() == 0
    from rq import SimpleWorker

    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    reminders = [
        c
        for c in sandbox_calls.list("message/custom/send")
        if "培训提醒" in c["body"]["text"]["content"]
    ]
    assert len(reminders) == 1


def test_checkin_page_shows_a_qr_code(app, client, wechat, session):
    for text in ("报名新生代培训", "张三", "某某公司", "经理", "13800138000", "1"):
        wechat.say(text)
    code = Registration.query.one().checkin_code
    page = client.get(f"/checkin/{code}").get_data(as_text=True)
    assert "<svg" in page and "张三" in page
    assert client.get("/checkin/nope").status_code == 404


def test_export_registrations_contract(app, runner, wechat, session):
    import json

    for text in ("报名新生代培训", "张三", "某某公司", "经理", "13800138000", "1"):
        wechat.say(text)
    result = runner.invoke(args=["export", "registrations", "--format", "json"])
    row = json.loads(result.output.strip().splitlines()[-1])
    assert {
        "id",
        "session_id",
        "openid",
        "name",
        "company",
        "phone",
        "status",
        "created_at",
    } <= set(row)
    result = runner.invoke(
        args=["export", "registrations", "--format", "csv", "--session", str(session.id)]
    )
    assert result.output.splitlines()[0].startswith("id,session_id,openid")
    result = runner.invoke(
        args=[
            "training",
            "create",
            "--title",
            "T",
            "--kind",
            "K",
            "--start",
            "2030-12-05T09:00",
            "--capacity",
            "5",
            "--open",
        ]
    )
    assert "id" in json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def ninth_and_tenth(app):
    """Two sessions of one kind whose titles differ only by the ordinal in brackets."""
    ninth = TrainingSessionFactory(title="新生代企业家培训班（第九期）")
    tenth = TrainingSessionFactory(title="新生代企业家培训班（第十期）")
    return ninth, tenth


def test_the_exact_title_picks_its_session_in_the_list(app, wechat, ninth_and_tenth):
    ninth, tenth = ninth_and_tenth
    listing = wechat.say("我要报名")
    assert "第九期" in listing and "第十期" in listing
    # Typed exactly as listed, full-width brackets and the ordinal included: that session,
    # not "reply with a number", and not the ninth in the list.
    assert "姓名" in wechat.say("新生代企业家培训班（第十期）")
    for text in ("张三", "某某公司", "经理", "13800138000"):
        summary = wechat.say(text)
    assert "第十期" in summary and "第九期" not in summary
    wechat.say("1")
    assert Registration.query.one().session_id == tenth.id


def test_the_exact_title_in_the_first_message_picks_its_session(app, wechat, ninth_and_tenth):
    ninth, _ = ninth_and_tenth
    assert "姓名" in wechat.say("我要报名新生代企业家培训班（第九期）")
    for text in ("张三", "某某公司", "经理", "13800138000"):
        summary = wechat.say(text)
    assert "第九期" in summary


def test_a_name_several_sessions_share_lists_just_those(app, wechat, ninth_and_tenth):
    TrainingSessionFactory(title="优秀民营企业家培训班", kind="优秀民营企业家培训班")
    wechat.say("报名")
    which = wechat.say("新生代企业家培训班")
    assert "第九期" in which and "第十期" in which and "优秀民营" not in which
    assert "请回复序号" in which


def test_an_ordinal_inside_a_title_is_the_title_not_a_number(app, wechat):
    third = TrainingSessionFactory()  # 第三期新生代企业家培训班, listed first
    TrainingSessionFactory(title="非公经济大讲堂", kind="非公经济大讲堂")
    TrainingSessionFactory(title="税务实务讲座", kind="税务实务讲座")
    listing = wechat.say("报名")
    assert listing.index("第三期") < listing.index("税务实务讲座")
    # "第三期" names the first session; it is not "the third one".
    wechat.say("第三期")
    for text in ("张三", "某某公司", "经理", "13800138000"):
        summary = wechat.say(text)
    assert "第三期新生代企业家培训班" in summary and "税务" not in summary
    wechat.say("1")
    assert Registration.query.one().session_id == third.id


def test_answers_are_stored_as_typed(app, wechat, session):
    for text in ("报名新生代培训", "张三", "ABC Co., Ltd.", "总经理（兼）", "13800138000"):
        summary = wechat.say(text)
    assert "ABC Co., Ltd." in summary and "总经理（兼）" in summary
    wechat.say("1")
    reg = Registration.query.one()
    assert (reg.company, reg.position) == ("ABC Co., Ltd.", "总经理（兼）")


def test_a_phone_number_is_neither_a_company_nor_a_job_title(app, wechat, session):
    wechat.say("报名新生代培训")
    wechat.say("张三")
    refused = wechat.say("1381234")
    assert "不能只是一串数字" in refused and "单位" in refused
    wechat.say("某某公司")
    # A mobile typed as the job title: asked about, never filled in silently.
    asked = wechat.say("13812345678")
    assert "是您的手机号吗" in asked
    assert "职务" in wechat.say("2")
    summary = wechat.say("经理")
    assert "请核对" not in summary and "手机" in summary  # the phone is still asked
    summary = wechat.say("13900139000")
    assert "139****9000" in summary and "138****5678" not in summary
