"""Mediation intake, read as transcripts through the webhook (safe mode where it matters)."""

from __future__ import annotations

import pytest

from bot.extensions import db
from bot.models import Attachment, Case, FormSubmission
from bot.services import calendar
from bot.services.clock import local_now
from tests.conftest import WeChat
from tests.factories import MemberFactory
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)

FACTS = "去年签了供货合同，我们按约交货，对方至今拖欠货款20万元不付"


@pytest.fixture
def safe(client) -> WeChat:
    """A member talking to the bot in safe (AES) mode, as a production account does."""
    return WeChat(client, "o-mediation", encrypt=True)


def image(wechat: WeChat, media_id: str = "media-evidence-1") -> str:
    from bot.dev.chat import reply_text

    status, body = wechat.send("image", PicUrl="http://example.invalid/a.jpg", MediaId=media_id)
    assert status == 200
    return reply_text(body)


def test_intake_from_the_first_message_with_an_image_mid_form(app, safe, org):
    first = safe.say("我要申请调解，合同纠纷，对方欠我20万")
    assert "纠纷的另一方" in first  # type and amount taken from the message
    assert "对方的联系人" in safe.say("示范市华兴五金有限公司")
    assert "纠纷经过" in safe.say("跳过")
    attached = image(safe)
    assert "已收到图片" in attached and "纠纷经过" in attached  # and the prompt again
    assert "起诉" in safe.say(FACTS)
    asked = safe.say("2")
    if "已收到 1 个附件" in asked:  # the engine asks the evidence slot once even so
        asked = safe.say("完成")
    assert "申请人姓名" in asked
    assert "单位" in safe.say("张三")
    assert "联系电话" in safe.say("示范市青禾科技有限公司")
    consent = safe.say("13800138000")
    assert "信息授权" in consent and "调解委员会" in consent
    summary = safe.say("同意")
    assert "合同纠纷" in summary and "20万（200,000 元）" in summary
    assert "1 个附件" in summary and "138****8000" in summary
    done = safe.say("1")
    case = Case.query.one()
    assert case.number in done and case.query_code in done
    assert "示范市商会人民调解委员会" in done  # not a member: the default committee
    contact_by = calendar.add_workdays(db.session, local_now(app.config).date(), 3)
    assert f"{contact_by.month}月{contact_by.day}日" in done
    assert (case.category, case.amount, case.status) == ("合同", 200000, "待受理")
    assert case.data["other_party"] == "示范市华兴五金有限公司"
    assert case.data["facts"].startswith("去年签了供货合同")
    assert case.data["phone"] == "13800138000" and case.data["consent"]["version"]
    assert case.route_rule == "default" and case.due_at == contact_by
    (attachment,) = Attachment.query.all()
    assert (attachment.owner_kind, attachment.owner_id) == ("case", case.number)
    assert attachment.media_id == "media-evidence-1"
    assert FormSubmission.query.one().record_ref == case.number


def test_a_bound_member_is_prefilled_and_routed_by_chamber_and_type(app, wechat, org):
    MemberFactory(
        name="王五", company="示范市甬商贸易商行", mobile="13900000003",
        openid=wechat.openid, chamber=org.zhejiang,
    )  # fmt: skip
    offer = wechat.say("和客户有货款纠纷，想请商会调解一下")
    assert "使用已登记信息" in offer and "王五" in offer and "139****0003" in offer
    assert "纠纷的另一方" in wechat.say("1")  # the type came from "货款纠纷"
    wechat.say("示范市华兴五金有限公司")
    assert "金额" in wechat.say("13700001111")  # their contact: theirs, not our phone
    assert "纠纷经过" in wechat.say("大概5000元")
    wechat.say(FACTS)
    assert "证据" in wechat.say("否")
    assert "信息授权" in wechat.say("没有")  # name, company and phone came from the roster
    summary = wechat.say("同意")
    assert "货款、债务纠纷" in summary and "大概5000元" in summary and "139****0003" in summary
    assert "提交" in wechat.say("确认")
    case = Case.query.one()
    assert case.committee_id == org.chamber_committee.id and case.route_rule == "chamber+type"
    assert case.data["other_contact"] == "13700001111" and case.data["phone"] == "13900000003"
    assert case.amount == 5000 and case.chamber_id == org.zhejiang.id


def test_court_case_under_way_explains_what_mediation_can_still_do(app, wechat, org):
    wechat.say("申请调解")
    wechat.say("劳动用工")
    wechat.say("张记餐饮店")
    wechat.say("跳过")
    wechat.say("跳过")
    wechat.say("员工说我们拖欠三个月加班费，已经去劳动仲裁了")
    explained = wechat.say("是")
    assert "诉调对接" in explained and "法院" in explained
    assert "证据" in wechat.say("示范市劳动人事争议仲裁委员会")


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("大概20万", "大概20万（200,000 元）"),
        ("两万五", "两万五（25,000 元）"),
        ("12.5万元", "12.5万元（125,000 元）"),
        ("3000元", "3000元"),
    ],
)
def test_amounts_as_members_say_them(app, wechat, org, said, shown):
    for text in ("申请调解", "合同", "示范市华兴五金有限公司", "跳过"):
        wechat.say(text)
    assert "纠纷经过" in wechat.say(said)
    for text in (FACTS, "否", "没有", "张三", "跳过", "13800138000"):
        wechat.say(text)
    assert shown in wechat.say("同意")


def test_an_amount_without_a_unit_is_asked_again(app, wechat, org):
    for text in ("申请调解", "合同", "示范市华兴五金有限公司", "跳过"):
        wechat.say(text)
    again = wechat.say("20")
    assert "单位" in again and "金额" in again


def test_short_facts_and_refused_consent(app, wechat, org):
    for text in ("申请调解", "其他", "李四", "跳过", "跳过"):
        wechat.say(text)
    assert "15" in wechat.say("欠钱不还")
    for text in (FACTS, "否", "没有", "张三", "跳过", "13800138000"):
        wechat.say(text)
    declined = wechat.say("不同意")
    assert "没有提交" in declined
    assert Case.query.count() == 0


def test_the_intake_replaces_the_stub(app, wechat, org):
    reply = wechat.event("CLICK", "MEDIATION_APPLY")
    assert "正在开通中" not in reply and "纠纷" in reply
