"""What members met in a trial (transcripts through the webhook): politeness around a real
question, hand-offs nobody asked for, and leaving a cancellation without cancelling."""

from __future__ import annotations

from bot.extensions import db
from bot.models import Handoff, Registration
from tests.factories import RegistrationFactory


def handoffs() -> int:
    db.session.rollback()  # the webhook's turns commit in threads of their own
    return db.session.query(Handoff).count()


def test_a_question_wrapped_in_greetings_is_answered(wechat):
    reply = wechat.say("您好，想问下法治体检收费吗，谢谢")
    assert "法治体检" in reply and "不客气" not in reply
    reply = wechat.say("谢谢，再问一下社保能缓交吗")
    assert "社保" in reply or "社会保险" in reply
    assert "再见" not in reply


def test_plain_greetings_and_goodbyes_stay_what_they_are(wechat):
    assert "不客气" in wechat.say("谢谢") or "感谢" in wechat.say("谢谢")
    assert "再见" in wechat.say("拜拜")


def test_a_story_ending_in_a_question_is_answered_not_handed_over(wechat):
    reply = wechat.say(
        "我们厂今年订单少了一半，工人工资都快发不出来了，我听说有什么稳岗补贴，我们这种能不能申请"
    )
    assert "稳岗" in reply
    assert handoffs() == 0


def test_leaving_a_hand_off_that_is_over_opens_no_new_one(wechat):
    reply = wechat.say("退出人工")
    assert "没有在人工服务中" in reply
    assert handoffs() == 0
    wechat.say("人工")
    assert handoffs() == 1
    wechat.say("算了")  # leaves the hand-off, as it leaves a form
    assert "没有在人工服务中" in wechat.say("退出人工")
    assert handoffs() == 1


def test_leaving_the_cancellation_keeps_the_registration_and_says_so(wechat):
    reg = RegistrationFactory(openid=wechat.openid)
    assert "确认取消" in wechat.say("取消报名")
    reply = wechat.say("退出")
    assert "保留" in reply and "已取消" not in reply
    db.session.rollback()
    assert db.session.get(Registration, reg.id).status == "confirmed"
