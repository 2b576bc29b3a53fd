"""Dispatch precedence, forms' edge cases, hand-off, conversation log, registry rules."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from bot.dialogue.intents import Intent, Registry
from bot.dialogue.state import DialogueState
from bot.extensions import db
from bot.jobs.convlog import flush, mask_phones
from bot.models import ConversationLog, Handoff, HandoffMessage, Member, MemberRequest
from tests.conftest import WeChat
from tests.factories import ChamberFactory, MemberFactory, TrainingSessionFactory


def test_registry_refuses_duplicates():
    a, b = Intent("x", commands=("同",)), Intent("y", commands=("同",))
    for intent in (a, b):
        intent.handler(lambda turn: None)
    with pytest.raises(RuntimeError, match="claimed by"):
        Registry((a, b))


def test_unknown_state_version_starts_over():
    assert DialogueState.from_json('{"version": 99, "active_form": "x"}') == DialogueState()
    assert DialogueState.from_json("not json") == DialogueState()


def test_menu_key_wins_over_a_form_in_progress(app, wechat):
    TrainingSessionFactory()
    wechat.say("报名新生代培训")
    assert "电话" in wechat.event("CLICK", "CONTACT")
    # The tap started over: the form is gone.
    assert "没有正在办理" in wechat.say("取消")


def test_timeout_closes_the_form_and_says_so(app, wechat):
    TrainingSessionFactory()
    wechat.say("报名新生代培训")
    key = f"bot:dialogue:{wechat.openid}"
    redis = app.extensions["redis"]
    state = json.loads(redis.get(key))
    state["touched_at"] -= app.config["DIALOGUE_TTL_SECONDS"] + 5
    redis.set(key, json.dumps(state))
    reply = wechat.say("张三")
    assert "超时关闭" in reply and "没有提交" in reply


def test_two_messages_of_one_user_at_once_keep_state_consistent(app, client):
    TrainingSessionFactory()
    member = WeChat(client, "o-concurrent")
    member.say("报名新生代培训")
    results = []

    def send(text):
        results.append(WeChat(client, "o-concurrent").say(text))

    threads = [threading.Thread(target=send, args=(t,)) for t in ("张三", "李四")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One answered the name, the other the company: both saved, neither lost.
    state = DialogueState.from_json(app.extensions["redis"].get("bot:dialogue:o-concurrent"))
    assert state.values.get("name") in ("张三", "李四")
    assert state.values.get("company") in ("张三", "李四")
    assert state.values["name"] != state.values["company"]


def test_handoff_and_return(app, wechat, monkeypatch):
    import bot.services.handoff

    monkeypatch.setattr(bot.services.handoff, "in_office_hours", lambda now, cfg: True)
    assert "工作人员" in wechat.say("人工")
    first = wechat.say("我想问一下我们企业的用地问题")
    assert "转给工作人员" in first
    assert wechat.say("还有补充材料") == ""  # the bot does not talk over the staff
    row = Handoff.query.one()
    assert row.status == "waiting"
    texts = [m.text for m in HandoffMessage.query.order_by(HandoffMessage.id)]
    assert texts == ["我想问一下我们企业的用地问题", "还有补充材料"]
    # Staff close it in the console; the next message is answered by the bot again.
    bot.services.handoff.close(db.session, row, staff="admin")
    db.session.commit()
    assert "商会助手" in wechat.say("你好")


def test_during_a_handoff_policy_questions_are_answered_as_the_bots(app, wechat, monkeypatch):
    import bot.services.handoff

    monkeypatch.setattr(bot.services.handoff, "in_office_hours", lambda now, cfg: True)
    wechat.say("人工")
    told = wechat.say("我想问一下我们企业的用地问题")
    assert "转给工作人员" in told and "自动解答" in told
    answered = wechat.say("法治体检收费吗")
    assert answered.startswith("【机器人自动回复】") and "免费" in answered
    assert "工作人员" in answered  # and staff will still answer
    assert wechat.say("还有补充材料") == ""  # told once: no more reminders
    row = Handoff.query.one()
    lines = HandoffMessage.query.filter_by(handoff_id=row.id).order_by(HandoffMessage.id)
    assert [m.sender for m in lines] == ["member", "member", "bot", "member"]
    assert row.status == "waiting"  # the hand-off goes on


def test_the_handoff_transcript_masks_members_numbers_not_the_offices(app, wechat):
    from bot.services import handoff as handoffs

    wechat.say("我的手机是13800138000，请联系我")
    wechat.say("联系方式")
    flush(app.extensions["redis"])
    wechat.say("人工")
    lines = handoffs.thread(db.session, Handoff.query.one())
    member = " ".join(line["text"] for line in lines if line["sender"] == "member")
    bot = " ".join(line["text"] for line in lines if line["sender"] == "bot")
    assert "138****8000" in member and "13800138000" not in member
    assert app.config["ORG_PHONE"] in bot


def test_handoff_after_hours_says_when(app, wechat, monkeypatch):
    import bot.services.handoff

    monkeypatch.setattr(bot.services.handoff, "in_office_hours", lambda now, cfg: False)
    reply = wechat.say("转人工")
    assert "非工作时间" in reply and app.config["ORG_OFFICE_HOURS"] in reply
    assert "已结束人工服务" in wechat.say("退出人工")


def test_conversation_log_is_written_in_batches_with_phones_masked(app, wechat):
    wechat.say("你好，我的电话是13800138000")
    wechat.say("法治体检收费吗")
    assert flush(app.extensions["redis"]) == 2
    rows = ConversationLog.query.order_by(ConversationLog.id).all()
    assert "138****8000" in rows[0].text and "13800138000" not in rows[0].text
    assert rows[1].intent == "policy_question" and rows[1].confidence > 0.5
    assert rows[1].handler.endswith("policy_qa.answer") and rows[1].latency_ms > 0


def test_mask_phones():
    assert mask_phones("拨打0771-1234567或13912345678") == "拨打0771-****4567或139****5678"
    kept = mask_phones("请拨0771-1234567，或13912345678", keep=("0771-1234567",))
    assert kept == "请拨0771-1234567，或139****5678"


def test_member_binding_matches_the_roster(app, wechat):
    MemberFactory(name="张三", company="华兴五金有限公司", mobile="13800000001")
    assert "姓名" in wechat.say("会员认证")
    wechat.say("张三")
    wechat.say("13800000001")
    reply = wechat.say("华兴五金")
    assert "认证成功" in reply
    assert Member.query.one().openid == wechat.openid
    assert "您已完成会员认证" in wechat.say("会员认证")


def test_member_binding_without_a_match_offers_to_apply(app, wechat):
    ChamberFactory(name="示范市浙江商会")
    ChamberFactory(name="示范市五金行业商会")
    wechat.say("我要绑定会员身份")
    wechat.say("赵六")
    wechat.say("13700000006")
    offer = wechat.say("跳过")
    assert "没有找到" in offer and "申请" in offer
    ask = wechat.say("1")
    assert "示范市浙江商会" in ask and "示范市五金行业商会" in ask
    # The chamber is one of the chambers, not whatever was typed.
    refused = wechat.say("我的会员状态")
    assert "没能对应" in refused and "示范市浙江商会" in refused
    assert MemberRequest.query.count() == 0
    assert "入会申请已提交" in wechat.say("浙江商会")
    request = MemberRequest.query.one()
    assert (request.status, request.chamber_name) == ("pending", "示范市浙江商会")


def test_join_request_without_chambers_skips_the_chamber(app, wechat):
    for text in ("我要绑定会员身份", "赵六", "13700000006", "跳过"):
        wechat.say(text)
    assert "入会申请已提交" in wechat.say("1")
    assert MemberRequest.query.one().chamber_name == ""


def test_repeated_confirmation_submits_once(app, client):
    TrainingSessionFactory(capacity=5)
    member = WeChat(client, "o-twice")
    for text in ("报名新生代培训", "张三", "某某公司", "经理", "13800138000"):
        member.say(text)
    from bot.wechat.simulate import text_xml

    xml = text_xml("o-twice", "1", msg_id="424242")
    first = member.post(xml)
    second = member.post(xml)  # WeChat's retry of the same confirmation
    assert first == second
    from bot.models import Registration

    assert Registration.query.count() == 1


def test_session_date_entities_in_nlu_parse(runner):
    result = runner.invoke(
        args=["nlu", "parse", "我要报名下周三的新生代培训，电话13800138000", "--json"]
    )
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["intent"] == "training_register"
    assert data["entities"].get("phone") == "13800138000"


def test_a_turn_tells_local_time_and_builds_public_links(app):
    from bot.dialogue.turn import Turn

    dispatcher = app.extensions["dispatcher"]
    noon_utc = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    turn = Turn(
        user_id="o-1",
        text="",
        message=None,
        db=db.session,
        now=noon_utc,
        state=DialogueState(),
        org={},
        config=app.config,
        links=dispatcher.links,
    )
    assert turn.local_now() == datetime(2026, 12, 1, 12, 0)  # ORG_TIMEZONE, Asia/Shanghai
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert turn.url("pages.checkin_code", code="ab12") == f"{base}/checkin/ab12"
