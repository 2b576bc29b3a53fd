"""With Redis really stopped (issue 16): no form or numbered list that could not go on, and
no form answer sent to the curators' queue as an unanswered question."""

from __future__ import annotations

import pytest

from bot.extensions import db
from bot.models import ConversationLog, UnansweredQuestion
from tests.factories import TrainingSessionFactory


@pytest.fixture
def app_config(app_config, embedded_redis):
    return {**app_config, "REDIS_URL": embedded_redis.url}


@pytest.fixture
def outage(app, embedded_redis):
    TrainingSessionFactory(title="新生代企业家培训班（第九期）", status="open")
    embedded_redis.stop()
    yield
    embedded_redis.start()


def test_a_form_is_not_started_while_redis_is_down(wechat, outage):
    reply = wechat.say("我要报名培训")
    assert "暂时无法在对话中办理" in reply and "回复序号" not in reply
    # The next answer is not mistaken for anything either, and nothing pretends to go on.
    follow_up = wechat.say("2")
    assert "回复序号" not in follow_up


def test_form_answers_typed_in_an_outage_are_not_queued_as_questions(wechat, outage):
    for text in ("张三", "销售总监", "示范市某某科技有限公司"):
        wechat.say(text)
    assert db.session.query(UnansweredQuestion).count() == 0
    # The log is still written, directly to the database.
    assert db.session.query(ConversationLog).filter_by(text="销售总监").count() == 1


def test_questions_are_still_answered_in_an_outage(wechat, outage):
    reply = wechat.say("法治体检收费吗")
    assert "法治体检" in reply
