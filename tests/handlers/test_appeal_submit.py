"""Appeal intake, read as transcripts through the webhook (safe mode where it matters)."""

from __future__ import annotations

import pytest

from bot.extensions import db
from bot.models import Attachment, Case, FormSubmission
from bot.services import calendar
from bot.services.clock import local_now
from tests.conftest import WeChat
from tests.factories import MemberFactory
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)

CONTENT = "我们厂房的土地证办了两年还没下来，银行说没有证不能抵押贷款，希望帮忙协调"


@pytest.fixture
def safe(client) -> WeChat:
    return WeChat(client, "o-appeal", encrypt=True)


def image(wechat: WeChat, media_id: str = "media-appeal-1") -> str:
    from bot.dev.chat import reply_text

    status, body = wechat.send("image", PicUrl="http://example.invalid/a.jpg", MediaId=media_id)
    assert status == 200
    return reply_text(body)


def test_intake_with_category_and_urgency_from_the_first_message_and_an_image(app, safe, depts):
    first = safe.say("企业用地遇到困难，很急，马上要停产了，想提个诉求")
    assert "一句话概括" in first  # 用地 and 紧急 both understood: straight to the title
    assert "具体说说" in safe.say("厂房土地证办理受阻")
    attached = image(safe)
    assert "已收到图片" in attached and "具体说说" in attached
    asked = safe.say(CONTENT)
    if "已收到 1 个附件" in asked:
        asked = safe.say("完成")
    assert "企业名称" in asked
    assert "统一社会信用代码" in safe.say("示范市青禾科技有限公司")
    assert "不对" in safe.say("91330100MA2B3C4D5X")  # wrong check character
    assert "联系人" in safe.say("跳过")
    assert "联系电话" in safe.say("李四")
    assert "实名" in safe.say("13800138001")
    summary = safe.say("1")
    assert "用地" in summary and "紧急" in summary and "1 个附件" in summary
    done = safe.say("1")
    case = Case.query.one()
    assert case.kind == "appeal" and case.number.startswith("SQ")
    assert case.number in done and case.query_code in done
    assert "示范市投资促进局" in done
    today = local_now(app.config).date()
    answer_by = calendar.add_workdays(db.session, today, 1)
    assert f"{answer_by.month}月{answer_by.day}日" in done
    assert (case.category, case.status, case.department_id) == ("用地", "已提交", depts.land.id)
    assert case.data["urgency"] == "紧急" and case.data["answer_workdays"] == 1
    assert case.data["content"] == CONTENT and case.data["confidential"] is False
    assert case.due_at == calendar.add_workdays(db.session, today, 1)  # acknowledge by
    (attachment,) = Attachment.query.all()
    assert (attachment.owner_kind, attachment.owner_id) == ("case", case.number)
    assert FormSubmission.query.one().record_ref == case.number


def test_a_bound_member_is_prefilled_and_a_normal_appeal_gets_ten_working_days(app, wechat, depts):
    MemberFactory(
        name="王五", company="示范市甬商贸易商行", mobile="13900000003", openid=wechat.openid
    )
    offer = wechat.say("我要反映问题")
    assert "王五" in offer and "139****0003" in offer  # prefilled from the profile
    assert "哪方面的问题" in wechat.say("1")
    assert "紧急" in wechat.say("2")  # 用地 is the second category
    assert "一句话" in wechat.say("一般")
    wechat.say("园区道路年久失修")
    asked = wechat.say("园区门口的道路坑洼不平已经三年了，货车进出很困难，希望能修一修")
    assert "图片" in asked or "文件" in asked
    assert "统一社会信用代码" in wechat.say("没有")
    assert "实名" in wechat.say("跳过")
    summary = wechat.say("2")
    assert "保密" in summary
    done = wechat.say("确认")
    case = Case.query.one()
    assert case.data["confidential"] is True and case.data["company"] == "示范市甬商贸易商行"
    today = local_now(app.config).date()
    # 用地 is a complex category: 15 working days by the default settings.
    promised = calendar.add_workdays(db.session, today, 15)
    assert case.data["answer_due"] == promised.isoformat()
    assert f"{promised.month}月{promised.day}日" in done and "保密" in done


def test_a_suggestion_goes_to_the_department_that_takes_what_nobody_claims(app, wechat, depts):
    assert "紧急" in wechat.say("我想给工商联提个建议")
    assert "一句话" in wechat.say("一般")
    wechat.say("建议多办政策宣讲会")
    wechat.say("很多小企业不知道有哪些惠企政策，建议每季度在园区办一次政策宣讲会")
    wechat.say("没有")
    wechat.say("示范市青禾科技有限公司")
    wechat.say("跳过")
    wechat.say("李四")
    wechat.say("13800138001")
    wechat.say("实名")
    assert "编号" in wechat.say("1")
    case = Case.query.one()
    assert (case.category, case.department_id, case.route_rule) == (
        "建言献策",
        depts.rights.id,
        "default",
    )


def fill_to_identity(wechat: WeChat, phone: str = "13800138001") -> str:
    wechat.say("企业用地遇到困难，一般")
    wechat.say("厂房土地证办理受阻")
    wechat.say(CONTENT)
    wechat.say("没有")
    wechat.say("示范市青禾科技有限公司")
    wechat.say("跳过")
    wechat.say("李四")
    return wechat.say(phone)


def test_a_short_wish_to_stop_ends_the_form_and_is_never_an_answer(app, wechat, depts):
    wechat.say("我要反映问题")
    wechat.say("1")
    wechat.say("一般")
    reply = wechat.say("算了不弄了")
    assert "已退出" in reply or "取消" in reply
    assert "算了不弄了" not in wechat.say("我要反映问题")  # a new run, nothing kept
    assert not Case.query.count()


def test_a_question_mid_form_is_answered_not_stored(app, wechat, depts):
    wechat.say("我要反映问题")
    wechat.say("1")
    wechat.say("一般")
    reply = wechat.say("这个要多久才有答复？")
    assert "一句话概括" in reply  # the prompt again, after the answer
    assert "具体说说" in wechat.say("续贷被抽贷")
    assert "多久" not in (wechat.say(CONTENT) + str(Case.query.count()))


def test_confidential_in_the_members_words_and_a_landline(app, wechat, depts):
    asked = fill_to_identity(wechat, "0591-87654321")
    assert "实名" in asked
    summary = wechat.say("不要公开我们公司名字")
    assert "保密" in summary and "实名反映" not in summary
    wechat.say("1")
    case = Case.query.one()
    assert case.data["confidential"] is True and case.data["phone"] == "0591-87654321"


def test_a_full_width_or_embedded_credit_code_is_read(app, wechat, depts):
    wechat.say("企业用地遇到困难，一般")
    wechat.say("厂房土地证办理受阻")
    wechat.say(CONTENT)
    wechat.say("没有")
    wechat.say("示范市青禾科技有限公司")
    assert "联系人" in wechat.say("９１３５０１００Ｍ０００１００Ｙ４３")
    wechat.say("返回")
    assert "联系人" in wechat.say("信用代码是91350100M000100Y43")


def test_the_same_appeal_sent_twice_is_one_ticket(app, wechat, depts):
    fill_to_identity(wechat)
    wechat.say("实名")
    first = wechat.say("1")
    fill_to_identity(wechat)
    wechat.say("实名")
    again = wechat.say("1")
    case = Case.query.one()
    assert case.number in first and case.number in again and "已经提交过" in again


def test_a_stranger_may_retry_a_mistyped_query_code(app, client, wechat, depts):
    fill_to_identity(wechat)
    wechat.say("实名")
    wechat.say("1")
    case = Case.query.one()
    stranger = WeChat(client, "o-stranger")
    assert "查询码" in stranger.say(f"查一下 {case.number}")
    wrong = "000000" if case.query_code != "000000" else "111111"
    assert "再发送一次" in stranger.say(wrong)
    shown = stranger.say(case.query_code)
    assert case.number in shown and "已提交" in shown


def test_a_first_message_that_tells_the_story_is_kept_as_the_account(app, wechat, depts):
    story = "银行突然抽贷了，500万的贷款要我们一个月内还清，资金链快断了，工人工资都发不出"
    first = wechat.say(story)
    assert "一句话概括" in first  # 融资 and 紧急 from the story; its account is kept
    asked = wechat.say("银行抽贷")
    assert "具体说说" not in asked and ("图片" in asked or "文件" in asked)
    for text in ("没有", "示范市青禾科技有限公司", "跳过", "李四", "13800138001", "实名"):
        summary = wechat.say(text)
    assert story in summary
    wechat.say("1")
    case = Case.query.one()
    assert case.data["content"] == story and case.category == "融资"
    assert case.data["urgency"] == "紧急"
