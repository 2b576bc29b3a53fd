"""An appeal's whole life as the enterprise lives it, through the webhook and the sandbox:
submitted in chat, answered by the officer (`flask cases set-status … 已答复 --note`), the
answer delivered as a WeChat message, then the 回访 answer by chat — closed when solved,
reopened on 不满意, escalated on the second 不满意 — and the progress the member reads."""

from __future__ import annotations

from datetime import date

import pytest
from rq import SimpleWorker

from bot.extensions import db
from bot.models import Case
from bot.services.cases import appeals, engine
from tests.conftest import WeChat
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)
from tests.services.case_fixtures import open_window, texts_to


def deliver(app) -> None:
    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def cli(runner, *args):
    done = runner.invoke(args=["cases", *args])
    assert done.exit_code == 0, done.output
    return done


@pytest.fixture
def appeal(app, depts, wechat):
    """An acknowledged 融资 appeal of the member talking to the bot (to the economic dept)."""
    open_window(wechat.openid)
    case = engine.open_case(
        db.session, appeals.KIND, openid=wechat.openid, today=date(2026, 12, 1),
        category="融资", title="续贷被抽贷",
        data={"urgency": "一般", "answer_workdays": 10, "answer_due": "2026-12-15",
              "content": "银行到期不续贷，要求一次性还清500万",
              "company": "示范市青禾科技有限公司"},
    )  # fmt: skip
    engine.act(db.session, case, "acknowledge", depts.officer, today=date(2026, 12, 1))
    db.session.commit()
    return case


def answer(runner, case, text="已协调银行续贷一年，请携带材料到支行办理。"):
    cli(runner, "set-status", case.number, "已答复", "--note", text, "--as", "off-econ")


def test_the_answer_is_delivered_and_a_good_rating_closes_it(
    app, runner, wechat, appeal, sandbox_calls
):
    answer(runner, appeal)
    deliver(app)
    texts = texts_to(sandbox_calls, wechat.openid)
    assert any("已协调银行续贷一年" in t and "问题解决了吗" in t for t in texts), texts
    db.session.rollback()  # a new transaction: see what the webhook committed
    case = db.session.get(Case, appeal.id)
    assert case.status == "已答复" and case.data["answers"][0]["by"] == "off-econ"
    reply = wechat.say("已解决，满意！")
    assert "感谢您的评价" in reply and case.number in reply and "已办结" in reply
    db.session.rollback()  # a new transaction: see what the webhook committed
    case = db.session.get(Case, appeal.id)
    assert case.status == "已办结" and case.outcome == "success"
    assert case.data["feedback"]["solved"] == "已解决"
    assert case.data["feedback"]["rating"] == "满意"
    assert case.events[-1].actor == "member" and case.events[-1].visibility == "member"
    # The reply was the message: nothing more is owed to the member for it.
    before = len(texts_to(sandbox_calls, wechat.openid))
    deliver(app)
    assert len(texts_to(sandbox_calls, wechat.openid)) == before
    # Saying it again finds nothing waiting.
    assert "没有等待评价" in wechat.say("满意")


def test_the_rating_is_asked_when_only_the_outcome_is_given(app, runner, wechat, appeal):
    answer(runner, appeal)
    asked = wechat.say("部分解决")
    assert "满意吗" in asked
    comment = wechat.say("2")
    assert "意见" in comment
    done = wechat.say("还差贷款利率的问题，希望能再降一点")
    assert "已办结" in done
    db.session.rollback()  # a new transaction: see what the webhook committed
    case = db.session.get(Case, appeal.id)
    assert case.data["feedback"] == {
        "solved": "部分解决", "rating": "基本满意", "comment": "还差贷款利率的问题，希望能再降一点",
        "on": case.data["feedback"]["on"],
    }  # fmt: skip


def test_unhappy_twice_reopens_then_escalates(app, runner, wechat, appeal, depts):
    answer(runner, appeal)
    first = wechat.say("没解决，不满意")
    assert "意见" in first  # asked what is still wrong
    reopened = wechat.say("银行还是不同意续贷")
    assert "已重新交办" in reopened and "督办" not in reopened
    db.session.rollback()  # a new transaction: see what the webhook committed
    case = db.session.get(Case, appeal.id)
    assert case.status == "办理中" and case.data["reopened"] == 1
    assert not case.data.get("escalated") and case.due_at is not None
    answer(runner, case, "已再次约谈银行，同意续贷半年。")
    assert "问题解决了吗" in wechat.say("不满意")
    assert "意见" in wechat.say("3")
    escalated = wechat.say("没有")
    assert "已重新交办" in escalated and "督办" in escalated
    db.session.rollback()  # a new transaction: see what the webhook committed
    case = db.session.get(Case, appeal.id)
    assert case.data["reopened"] == 2 and case.data["escalated"]["round"] == 2
    assert len(case.data["answers"]) == 2


def test_the_member_sees_their_appeals_progress(app, runner, wechat, appeal):
    listing = wechat.say("我的诉求办得怎么样了")
    assert appeal.number in listing and "已受理" in listing and "诉求" in listing
    answer(runner, appeal)
    listing = wechat.say("查进度")
    assert "已答复" in listing and "问题解决了吗" in listing


def test_anyone_checks_one_ticket_with_its_number_and_code(app, client, appeal):
    stranger = WeChat(client, "o-stranger")
    asked = stranger.say(f"查进度 {appeal.number}")
    assert "查询码" in asked
    shown = stranger.say(appeal.query_code)
    assert appeal.number in shown and "已受理" in shown


def test_rating_words_answer_the_feedback_form_they_started(app, runner, wechat, appeal):
    answer(runner, appeal)
    assert "满意吗" in wechat.say("没解决")
    assert "意见" in wechat.say("不满意")  # a rating word is the answer, not a restart
    assert "已重新交办" in wechat.say("银行还没联系我们")
    db.session.rollback()
    case = db.session.get(Case, appeal.id)
    assert case.data["feedback"]["comment"] == "银行还没联系我们"


@pytest.mark.parametrize(
    ("said", "status"),
    [
        ("解决了，谢谢你们", None),
        ("问题解决了，很满意", "已办结"),
        ("还是没解决，银行根本没联系我们", None),
    ],
)
def test_the_members_own_words_are_taken_as_the_feedback(app, runner, wechat, appeal, said, status):
    answer(runner, appeal)
    reply = wechat.say(said)
    if status is None:  # the outcome understood, the rest asked
        assert "满意吗" in reply
    else:
        assert "已办结" in reply
    db.session.rollback()
    assert db.session.get(Case, appeal.id).status == (status or "已答复")


def test_a_question_about_solving_is_not_taken_as_feedback(app, runner, wechat, appeal):
    answer(runner, appeal)
    reply = wechat.say("融资难的问题怎么解决了？")
    assert "满意吗" not in reply and "解决了吗" not in reply


def test_with_two_answered_appeals_the_member_is_asked_which(app, runner, wechat, appeal, depts):
    second = engine.open_case(
        db.session, appeals.KIND, openid=wechat.openid, today=date(2026, 12, 1),
        category="税费", title="留抵退税迟迟不到账",
        data={"urgency": "一般", "answer_workdays": 10, "answer_due": "2026-12-15"},
    )  # fmt: skip
    engine.act(db.session, second, "acknowledge", depts.officer, today=date(2026, 12, 1))
    db.session.commit()
    answer(runner, appeal)
    answer(runner, second, "退税已于今日到账。")
    asked = wechat.say("已解决，满意")
    assert "哪一件" in asked and "留抵退税迟迟不到账" in asked and "续贷被抽贷" in asked
    done = wechat.say("2")  # the older one, 续贷
    db.session.rollback()
    first = db.session.get(Case, appeal.id)
    assert first.status == "已办结" and first.number in done and "续贷被抽贷" in done
    assert db.session.get(Case, second.id).status == "已答复"


def test_feedback_words_at_another_forms_prompt_answer_that_form(app, runner, wechat, appeal):
    answer(runner, appeal)
    assert "哪方面的问题" in wechat.say("我要反映问题")
    assert "紧急" in wechat.say("4")
    reply = wechat.say("已解决，满意")
    assert "紧急" in reply  # still the new intake's question
    db.session.rollback()
    assert db.session.get(Case, appeal.id).status == "已答复"
