"""Small talk, the interim services, and what members met in the first trials, as transcripts."""

from __future__ import annotations

import pytest

from bot import create_app
from bot.jobs.convlog import flush
from bot.models import ConversationLog, Registration, UnansweredQuestion
from tests.factories import TrainingSessionFactory


def test_asking_whether_it_is_a_robot_gets_the_help_not_a_hand_off(app, wechat):
    reply = wechat.say("你是机器人吗")
    assert "我能为您办理" in reply and "转接人工" not in reply
    assert "已为您转接" not in reply


def test_goodbye_is_a_goodbye(app, wechat):
    reply = wechat.say("拜拜")
    assert "再见" in reply and "您好" not in reply


def test_the_latest_notices_are_the_notices_not_the_training_list(app, wechat):
    TrainingSessionFactory()  # an open session must not turn this into the training list
    reply = wechat.say("最新通知")
    assert "还没有发给您的通知" in reply  # none sent yet (tests/notices/test_chat.py: the list)
    assert "新生代" not in reply


def test_a_question_about_new_policies_goes_to_the_knowledge_base(app, wechat):
    TrainingSessionFactory()
    wechat.say("有没有新出的惠企政策")
    flush(app.extensions["redis"])
    row = ConversationLog.query.one()
    assert row.intent == "policy_question" and row.handler.endswith("policy_qa.answer")


def test_booking_a_legal_check_up_starts_the_booking(app, wechat):
    reply = wechat.say("帮我约一下法制体检")
    assert "预约法治体检" in reply and "免费" in reply and "企业名称" in reply
    flush(app.extensions["redis"])
    assert ConversationLog.query.one().intent == "legal_checkup"


def test_a_declined_message_lands_in_the_unanswered_queue(app, wechat):
    reply = wechat.say("给我推荐几只股票")
    assert "不在我的服务范围" in reply
    flush(app.extensions["redis"])
    row = UnansweredQuestion.query.one()
    assert row.text == "给我推荐几只股票" and row.best_topic is None


def test_form_answers_do_not_land_in_the_unanswered_queue(app, wechat):
    TrainingSessionFactory()
    for text in ("报名新生代培训", "张三", "某某公司", "经理"):
        wechat.say(text)
    flush(app.extensions["redis"])
    assert UnansweredQuestion.query.count() == 0


@pytest.fixture
def port_5300(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "5300")


def test_links_point_at_the_port_the_server_runs_on(port_5300, app_config):
    app = create_app(app_config)  # PORT from the environment, as `make run` passes it
    assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5300"
    explicit = create_app({**app_config, "PUBLIC_BASE_URL": "https://bot.example.org"})
    assert explicit.config["PUBLIC_BASE_URL"] == "https://bot.example.org"


def test_a_check_in_link_says_the_port(port_5300, app, wechat):
    TrainingSessionFactory()
    for text in ("报名新生代培训", "张三", "某某公司", "经理", "13800138000"):
        wechat.say(text)
    done = wechat.say("1")
    assert Registration.query.count() == 1
    assert "http://127.0.0.1:5300/checkin/" in done


def test_goodbye_in_the_middle_of_a_form_is_not_taken_for_a_name(app, wechat):
    TrainingSessionFactory()
    wechat.say("报名新生代培训")
    reply = wechat.say("拜拜")
    assert "再见" in reply and "继续刚才的办理" in reply and "姓名" in reply
    assert "单位" in wechat.say("张三")


def test_a_question_the_model_misreads_is_answered_when_the_base_is_sure(wechat):
    # The intent model takes 「贷款难怎么办」 for small talk; the knowledge base knows it.
    reply = wechat.say("贷款难怎么办")
    assert "融资" in reply or "贷款" in reply
    assert "不在我的服务范围内" not in reply


def test_what_the_base_does_not_know_is_still_declined(wechat):
    reply = wechat.say("帮我写一首关于月亮的诗")
    assert "不在我的服务范围内" in reply
