"""The second member trial of the four services, as transcripts through the webhook: the
answers that landed in the wrong place, the phrasings that were not understood, and the
replies that forgot the new services."""

from __future__ import annotations

import pytest

from bot.dev.chat import reply_text
from bot.extensions import db
from bot.models import Case, Notice, utcnow
from bot.services.cases import engine
from bot.services.clock import local_now
from bot.services.notices import compose
from tests.conftest import WeChat
from tests.factories import FollowerFactory, MemberFactory
from tests.services.service_fixtures import *  # noqa: F403 (the service fixtures)


def image(wechat: WeChat, media_id: str) -> str:
    status, body = wechat.send("image", PicUrl="http://example.invalid/a.jpg", MediaId=media_id)
    assert status == 200
    return reply_text(body)


def fresh(case: Case) -> Case:
    db.session.rollback()
    return db.session.get(Case, case.id)


@pytest.fixture
def missing(app, wechat, svc) -> Case:
    """A 代办 case of the member's that waits for a material the 代办员 asked for."""
    MemberFactory(
        name="周强", company="示范市周记贸易商行", mobile="13900000009",
        openid=wechat.openid, chamber=svc.zhejiang,
    )  # fmt: skip
    wechat.say("老家的户口迁移能帮忙代办吗")
    wechat.say("1")
    wechat.say("从常山县迁到示范市，给我本人办")
    wechat.say("完成")
    wechat.say("跳过")
    wechat.say("同意")
    wechat.say("1")
    case = Case.query.one()
    today = local_now(app.config).date()
    engine.act(db.session, case, "take", svc.agent, today=today)
    engine.act(
        db.session, case, "ask_materials", svc.agent, today=today,
        data={"missing": "参保缴费凭证"},
    )  # fmt: skip
    db.session.commit()
    assert case.status == "待补材料"
    return case


# -- 4, 13: the loan's term and amount ------------------------------------------------------
@pytest.mark.parametrize("said", ["300w", "没有抵押", "不知道"])
def test_the_loan_term_must_be_a_term(app, wechat, svc, said):
    wechat.say("我要融资")
    wechat.say("300万")
    wechat.say("流动资金")
    again = wechat.say(said)
    assert "期限" in again and "1年" in again
    assert "担保" in wechat.say("6个月")


@pytest.mark.parametrize("said", ["300w", "300W", "1.5w"])
def test_w_is_wan_in_an_amount(app, wechat, svc, said):
    wechat.say("我要融资")
    asked = wechat.say(said)
    assert "单位" not in asked and "用途" in asked


# -- 7: 补材料 in members' words -------------------------------------------------------------
@pytest.mark.parametrize(
    "said", ["材料我补一下", "我要补交材料", "补充材料", "补交材料", "材料补好了"]
)
def test_supplying_materials_in_own_words(app, wechat, svc, missing, said):
    reopened = wechat.say(said)
    assert missing.number in reopened and "参保缴费凭证" in reopened


# -- 6: 补材料 with nothing sent -------------------------------------------------------------
def test_nothing_sent_is_not_recorded_as_supplied(app, wechat, svc, missing):
    wechat.say("补材料")
    assert "已收到" in image(wechat, "media-1")
    assert "取消" in wechat.say("取消")
    wechat.say("补材料")
    wechat.say("完成")
    reply = wechat.say("没有")
    assert "已收到" not in reply and "材料" in reply
    case = fresh(missing)
    assert case.status == "待补材料" and "supplied" not in case.data
    # Sent this time: the 代办员 is named, not the department.
    wechat.say("补材料")
    image(wechat, "media-2")
    wechat.say("完成")
    done = wechat.say("没有")
    assert "已收到" in done and "王代办员" in done
    assert fresh(missing).status == "办理中"


# -- 5: cancelling or changing a booked check-up -------------------------------------------
@pytest.mark.parametrize("said", ["取消体检预约", "我想改一下体检时间", "体检能不能推迟几天"])
def test_changing_a_booking_is_explained_not_a_new_form(app, wechat, svc, said):
    reply = wechat.say(said)
    assert "企业名称" not in reply and "人工" in reply
    assert "行业" not in wechat.say("我想改一下体检时间")  # no form took it as the company
    assert Case.query.count() == 0


# -- 11: a flexible preference for the check-up's day -----------------------------------------
@pytest.mark.parametrize("said", ["月底前", "月底前都行", "这个月内", "尽快", "随便哪天"])
def test_a_flexible_day_is_recorded_as_said(app, wechat, svc, said):
    for text in ("预约法治体检", "示范市青禾科技有限公司", "软件", "30", "合同"):
        wechat.say(text)
    asked = wechat.say(said)
    assert "哪一天" not in asked and "上门" in asked


# -- 17, 18: the replies that name what the bot does -----------------------------------------
@pytest.mark.parametrize("said", ["你好", "拜拜", "帮我写一首诗"])
def test_greeting_goodbye_and_out_of_scope_name_the_new_services(app, wechat, said):
    reply = wechat.say(said)
    for name in ("法治体检", "融资", "代办", "招商"):
        assert name in reply


def test_no_cases_yet_names_every_service(app, wechat, svc):
    reply = wechat.say("我的申请办得怎么样了")
    assert "还没有" in reply and "法治体检" in reply and "商会代办" in reply


# -- 8: "第一条" after the notices -----------------------------------------------------------
def sent_notice(title: str, body: str) -> Notice:
    row = compose.create(db.session, title=title, body=body, summary="摘要", actor="ada")
    row.status, row.started_at = "sent", utcnow()
    db.session.commit()
    return row


@pytest.mark.parametrize("listed", [True, False])
def test_the_first_one_after_the_notices_is_the_first_notice(app, wechat, listed):
    FollowerFactory(openid=wechat.openid)
    sent_notice("关于年会的通知", "年会定于周五。")
    sent_notice("关于培训报名的通知", "请于本周五前报名。")
    if listed:
        assert "关于培训报名的通知" in wechat.say("看看通知")
    opened = wechat.say("第一条" if listed else "看第1条通知")
    assert "招商" not in opened and "请于本周五前报名。" in opened


# -- 10: 招商线索 answers in their own fields ----------------------------------------------
def lead_to_the_project_question(wechat: WeChat) -> None:
    wechat.say("提供招商线索")
    wechat.say("1")
    assert "项目" in wechat.say("宁波甬兴机械有限公司 陈总")


def test_an_amount_at_the_project_question_is_kept_as_the_amount(app, wechat, svc):
    lead_to_the_project_question(wechat)
    again = wechat.say("投资大概5个亿")
    assert "大概5个亿" in again and "项目情况" in again  # kept, and the project still asked
    assert "落地" in wechat.say("汽车零部件生产，要50亩工业用地")
    assert "联系" in wechat.say("高新区")  # the amount is not asked again


def test_a_contact_at_the_project_question_is_not_the_project(app, wechat, svc):
    lead_to_the_project_question(wechat)
    again = wechat.say("张总 13700001111")
    assert "项目" in again and "落地" not in again
    wechat.say("汽车零部件生产，要50亩工业用地")
    wechat.say("高新区")
    assert "资料" in wechat.say("2亿")  # the contact is not asked again


def test_an_amount_is_not_the_landing_place(app, wechat, svc):
    lead_to_the_project_question(wechat)
    assert "落地" in wechat.say("汽车零部件生产，要50亩工业用地")
    again = wechat.say("0.5亿")
    assert "落地" in again and "0.5亿" in again
    assert "联系" in wechat.say("高新区")  # 0.5亿 kept as the amount


def test_asking_for_progress_inside_a_form_is_answered(app, wechat, svc):
    for text in ("预约法治体检", "示范市青禾科技有限公司", "软件", "30"):
        wechat.say(text)
    reply = wechat.say("我的申请办得怎么样了")
    assert "还没有" in reply and "重点检查" in reply  # answered, then the question again
    assert "哪天" in wechat.say("合同")


# -- 22: option words as members type them ----------------------------------------------------
@pytest.mark.parametrize("said", ["500万以下", "1亿以上", "2000万到1亿"])
def test_revenue_ranges_as_typed(app, wechat, svc, said):
    for text in ("我要融资", "300万", "流动资金", "1年", "信用"):
        wechat.say(text)
    assert "企业名称" in wechat.say(said)


# -- 23: the status line after materials were supplied ------------------------------------------
def test_progress_after_supplying_is_not_the_old_request(app, wechat, svc, missing):
    assert "待补材料：参保缴费凭证" in wechat.say("查进度")
    wechat.say("补材料")
    image(wechat, "media-3")
    wechat.say("完成")
    assert "已收到" in wechat.say("没有")
    progress = wechat.say("查进度")
    assert "办理中" in progress and "已补交材料" in progress and "待补材料" not in progress


def test_an_online_check_up_is_a_mode(app, wechat, svc):
    for text in ("预约法治体检", "示范市青禾科技有限公司", "软件", "30", "合同", "下周三"):
        wechat.say(text)
    asked = wechat.say("线上就行")
    assert "怎么做体检" not in asked and "资料" in asked
