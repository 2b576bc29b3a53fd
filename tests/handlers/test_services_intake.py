"""The four services end to end, as transcripts through the webhook: members' own phrasing,
an attachment mid-form, a cancel in the middle, and a status change made by staff (the
engine, or `flask cases`) that reaches the member through the sandbox."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from bot.dev.chat import reply_text
from bot.extensions import db
from bot.jobs import outbox as sender
from bot.models import Attachment, Case, FormSubmission
from bot.services.cases import engine, scope
from bot.services.clock import local_now
from tests.conftest import WeChat
from tests.factories import MemberFactory
from tests.services.case_fixtures import open_window, texts_to
from tests.services.service_fixtures import *  # noqa: F403 (the service fixtures)


@pytest.fixture
def safe(client) -> WeChat:
    """A member in safe (AES) mode, as a production account runs."""
    return WeChat(client, "o-services", encrypt=True)


def image(wechat: WeChat, media_id: str) -> str:
    status, body = wechat.send("image", PicUrl="http://example.invalid/a.jpg", MediaId=media_id)
    assert status == 200
    return reply_text(body)


def today(app):
    return local_now(app.config).date()


def fresh(case: Case) -> Case:
    db.session.rollback()  # a new transaction: what the webhook committed
    return db.session.get(Case, case.id)


def deliver(app) -> None:
    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


# -- 法治体检 -------------------------------------------------------------------------------
def test_legal_checkup_booked_in_own_words_arranged_and_reported(app, safe, svc, sandbox_calls):
    first = safe.say("我们厂的合同和用工都不太规范，想请律师上门帮忙把把关，能约个法律体检吗")
    assert "法治体检" in first and "免费" in first and "企业名称" in first
    assert "行业" in safe.say("示范市青禾五金制品有限公司")
    assert "员工" in safe.say("五金加工")
    # The areas (合同, 劳动用工) and the mode (上门) came from the first message.
    assert "哪天" in safe.say("差不多六十来号人")
    assert "不能早于今天" in safe.say("2026年11月3日")  # a day gone by is refused
    assert "资料" in safe.say("下周三上午或者周四都行")
    attached = image(safe, "media-contract-1")
    assert "已收到" in attached
    assert "联系人" in safe.say("完成")
    safe.say("李娜")
    assert "信息授权" in safe.say("13800138001")
    summary = safe.say("同意")
    assert "合同管理、劳动用工" in summary and "律师上门体检" in summary
    assert "下周三上午或者周四都行" in summary and "免费" in summary
    done = safe.say("确认")
    case = Case.query.one()
    assert case.number.startswith("FZ") and case.number in done and "示范市工商联法律维权部" in done
    assert (case.kind, case.status, case.category) == ("legal_checkup", "已预约", "综合")
    assert case.department_id == svc.legal.id and case.route_rule == "checkup"
    assert case.data["areas"] == ["合同", "劳动用工"] and case.data["mode"] == "上门体检"
    assert case.data["employees"] == 60 and case.data["preferred_period"] == "上午"
    assert case.data["preferred_on"] > today(app).isoformat()
    (attachment,) = Attachment.query.all()
    assert (attachment.owner_kind, attachment.owner_id) == ("case", case.number)
    assert FormSubmission.query.one().record_ref == case.number

    # The department arranges it with a lawyer of the roster: the member is told both.
    assert not scope.may_see(case, svc.lawyer)
    engine.act(
        db.session, case, "arrange", svc.legal_officer, today=today(app),
        data={"when": "2026-12-09T09:30", "provider_id": svc.lawyer_row.id,
              "place": "企业会议室"},
    )  # fmt: skip
    db.session.commit()
    assert sender.deliver() == 1
    (told,) = texts_to(sandbox_calls, safe.openid)
    assert case.number in told and "12月9日（周三）09:30" in told
    assert "张律师（示范律师事务所）" in told and "13900001111" in told and "免费" in told
    # The lawyer sees it now, records the check-up and the report; the member reads it.
    case = fresh(case)
    assert case.status == "已安排" and scope.may_see(case, svc.lawyer)
    engine.act(db.session, case, "check", svc.lawyer, today=today(app))
    engine.act(
        db.session, case, "report", svc.lawyer, today=today(app),
        data={"recommendations": "劳动合同缺少试用期条款，建议统一修订合同模板"},
    )  # fmt: skip
    db.session.commit()
    assert sender.deliver() == 2
    report = texts_to(sandbox_calls, safe.openid)[-1]
    assert "体检报告" in report and "统一修订合同模板" in report
    assert fresh(case).outcome == "success"


def test_legal_checkup_cancelled_in_the_middle_saves_nothing(app, wechat, svc):
    wechat.say("预约法治体检")
    wechat.say("示范市青禾科技有限公司")
    wechat.say("软件")
    cancelled = wechat.say("算了")
    assert "取消" in cancelled
    assert Case.query.count() == 0
    greeted = wechat.say("你好")  # the form is over: a greeting, no next question
    assert "您好" in greeted and "员工" not in greeted


# -- 融资需求 -------------------------------------------------------------------------------
def test_financing_request_pushed_to_a_bank_and_granted(app, runner, safe, svc, sandbox_calls):
    first = safe.say("厂里资金周转有点紧张，想贷个两百万，有厂房可以抵押")
    assert "多长时间" in first  # amount, purpose and guarantee came from the message
    assert "营业收入" in safe.say("两年")
    assert "企业名称" in safe.say("2")
    assert "统一社会信用代码" in safe.say("示范市青禾科技有限公司")
    assert "信用代码" in safe.say("12345")  # refused: asked again with the reason
    files = safe.say("跳过")
    assert "财务报表" in files
    assert "已收到" in image(safe, "media-statement-1")
    safe.say("完成")
    safe.say("张伟")
    consent = safe.say("13800138002")
    assert "示范农村商业银行" in consent  # the partner banks are named
    summary = safe.say("同意")
    assert "两百万（2,000,000 元）" in summary and "流动资金周转" in summary
    assert "抵押" in summary and "两年" in summary
    done = safe.say("1")
    case = Case.query.one()
    assert case.number.startswith("RZ") and case.number in done
    assert (case.status, case.category, case.amount) == ("已提交", "流动资金", 2000000)
    assert case.department_id == svc.economic.id and case.data["guarantee"] == "抵押"
    assert Attachment.query.one().owner_id == case.number

    # Pushed to one bank (`flask cases act`): that bank sees it, the other does not.
    out = runner.invoke(
        args=["cases", "act", case.number, "push", "--as", "off-econ",
              "--data", f"provider_id={svc.bank_row.id}"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    deliver(app)
    pushed = texts_to(sandbox_calls, safe.openid)[-1]
    assert "已推送给示范农村商业银行" in pushed and case.number in pushed
    case = fresh(case)
    assert scope.may_see(case, svc.bank) and not scope.may_see(case, svc.other_bank)
    engine.act(db.session, case, "start", svc.bank, today=today(app))
    engine.act(db.session, case, "grant", svc.bank, today=today(app), data={"obtained": "150万"})
    db.session.commit()
    assert sender.deliver() == 2
    granted = texts_to(sandbox_calls, safe.openid)[-1]
    assert "已获贷 1,500,000 元" in granted
    case = fresh(case)
    assert (case.status, case.outcome, case.data["outcome_amount"]) == (
        "已获贷",
        "success",
        "1500000",
    )


def test_financing_cancel_mid_form(app, wechat, svc):
    wechat.say("我要融资")
    wechat.say("50万")
    assert "取消" in wechat.say("取消")
    assert Case.query.count() == 0


# -- 商会代办 -------------------------------------------------------------------------------
def test_proxy_item_found_by_description_handled_with_missing_materials(
    app, safe, svc, sandbox_calls
):
    MemberFactory(
        name="周强", company="示范市周记贸易商行", mobile="13900000009",
        openid=safe.openid, chamber=svc.zhejiang,
    )  # fmt: skip
    shown = safe.say("我人在外地回不去，老家的户口迁移能帮忙代办吗")
    assert "户籍迁移" in shown and "公安" in shown and "户口簿" in shown
    assert "使用已登记信息" in shown  # the bound member's name and phone are offered
    assert "具体情况" in safe.say("1")
    assert "材料" in safe.say("从常山县迁到示范市，给我本人办")
    assert "已收到" in image(safe, "media-idcard-1")
    assert "寄" in safe.say("完成")
    assert "代办授权" in safe.say("示范市人民路8号 周强收")
    summary = safe.say("同意")
    assert "户籍迁移（迁入迁出）（公安）" in summary and "授权委托书" in summary
    done = safe.say("1")
    case = Case.query.one()
    assert case.number.startswith("DB") and "王代办员" in done and "13900003333" in done
    assert case.user_id == svc.agent.id and case.department_id == svc.chamber_dept.id
    assert (
        case.route_rule == "chamber-agent" and case.data["item"]["name"] == "户籍迁移（迁入迁出）"
    )

    # The agent takes it and asks for a missing material: the member is asked.
    engine.act(db.session, case, "take", svc.agent, today=today(app))
    engine.act(
        db.session, case, "ask_materials", svc.agent, today=today(app),
        data={"missing": "迁入地派出所开具的准予迁入证明"},
    )  # fmt: skip
    db.session.commit()
    assert sender.deliver() == 2
    asked = texts_to(sandbox_calls, safe.openid)[-1]
    assert "准予迁入证明" in asked and "补材料" in asked
    # The form reopens for the missing materials.
    reopened = safe.say("补材料")
    assert case.number in reopened and "准予迁入证明" in reopened
    assert "已收到" in image(safe, "media-permit-1")
    assert "告诉代办员" in safe.say("完成")
    supplied = safe.say("原件已经寄出，顺丰SF1234")
    assert "已收到" in supplied and case.number in supplied
    case = fresh(case)
    assert case.status == "办理中" and case.data["supplied"] == 1
    assert {a.owner_id for a in Attachment.query.all()} == {case.number}
    assert Attachment.query.count() == 2
    assert case.events[-1].actor == "member" and "顺丰" in case.events[-1].note
    progress = safe.say("查进度")
    assert case.number in progress and "商会代办" in progress and "办理中" in progress
    # Done without the member coming in: 零跑腿.
    engine.act(
        db.session, case, "finish", svc.agent, today=today(app),
        data={"zero_trip": True, "result": "新户口簿已邮寄"},
    )  # fmt: skip
    db.session.commit()
    sender.deliver()
    finished = texts_to(sandbox_calls, safe.openid)[-1]
    assert "已办结" in finished and "零跑腿" in finished and "新户口簿已邮寄" in finished


def test_proxy_several_matches_are_offered_and_in_person_items_say_so(app, wechat, svc):
    offered = wechat.say("商会代办")
    assert "要办什么事" in offered
    listed = wechat.say("社保转移")
    assert "社会保险关系转移" in listed and "1." in listed
    assert "具体情况" in wechat.say("1")
    assert "取消" in wechat.say("取消")
    in_person = wechat.say("我身份证到期了要换，能代办吗")
    assert "须本人" in in_person and "人像" in in_person
    assert Case.query.count() == 0


def test_nothing_to_supply_is_said_plainly(app, wechat, svc):
    assert "没有需要补材料" in wechat.say("补材料")


# -- 招商线索 -------------------------------------------------------------------------------
def test_investment_lead_registered_and_landed(app, runner, wechat, svc, sandbox_calls):
    open_window(wechat.openid)
    first = wechat.say("我一个宁波的朋友想回来这边设厂，投资大概两个亿，信息报给谁")
    assert "投资方或项目方" in first  # a project, with its amount, from the message
    wechat.say("宁波甬兴机械有限公司 陈总")
    assert "落地" in wechat.say("汽车零部件生产，要50亩工业用地，用工200人左右")
    assert "联系" in wechat.say("高新区")
    assert "资料" in wechat.say("陈总 13700001111")
    image(wechat, "media-intro-1")
    wechat.say("完成")
    wechat.say("赵敏")
    wechat.say("13800138003")
    summary = wechat.say("同意")
    assert "大概两个亿（200,000,000 元）" in summary and "投资项目" in summary
    done = wechat.say("1")
    case = Case.query.one()
    assert case.number.startswith("ZS") and "示范市工商联经济服务部" in done
    assert (case.category, case.amount, case.department_id) == ("项目", 200000000, svc.economic.id)

    out = runner.invoke(
        args=["cases", "set-status", case.number, "对接中", "--as", "off-econ",
              "--note", "已约陈总下周考察高新区"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    deliver(app)
    assert "开始对接" in texts_to(sandbox_calls, wechat.openid)[-1]
    out = runner.invoke(
        args=["cases", "set-status", case.number, "已落地", "--as", "off-econ",
              "--data", "project=汽车零部件生产基地", "--data", "landed_amount=1.8亿"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    deliver(app)
    landed = texts_to(sandbox_calls, wechat.openid)[-1]
    assert "已落地" in landed and "汽车零部件生产基地" in landed
    assert fresh(case).data["outcome_amount"] == "180000000"


def test_investment_cancel_mid_form(app, wechat, svc):
    wechat.say("提供招商线索")
    wechat.say("1")
    wechat.say("某新能源公司")
    assert "取消" in wechat.say("取消")
    assert Case.query.count() == 0


# -- where members find them -------------------------------------------------------------------
def test_the_knowledge_base_answer_offers_to_start_the_request(app, wechat, svc):
    answer = wechat.say("法治体检收费吗")
    assert "免费" in answer and "回复1立即预约法治体检" in answer
    assert "企业名称" in wechat.say("1")


def test_the_service_hall_lists_every_service(app, wechat, svc):
    listed = wechat.event("CLICK", "SERVICE_HALL")
    for name in ("调解申请", "诉求反映", "法治体检", "融资需求", "商会代办", "招商线索"):
        assert name in listed
    assert "融资多少" in wechat.say("4")


def test_help_names_every_service(app, wechat):
    shown = wechat.say("帮助")
    for name in ("法治体检", "融资需求", "商会代办", "招商线索", "调解申请", "诉求反映"):
        assert name in shown


@pytest.mark.parametrize(
    ("steps", "said", "says"),
    [
        (["预约法治体检", "示范市青禾科技有限公司", "软件"], "0", "员工人数"),
        (["预约法治体检", "示范市青禾科技有限公司", "软件", "30", "合同"], "说不好", "哪一天"),
        (["我要融资"], "0元", "金额"),
        (["商会代办"], "帮我代办一下", "没找到"),
        (["商会代办"], "给我推荐几只股票", "没找到"),
    ],
)
def test_bad_answers_are_asked_again_politely(app, wechat, svc, steps, said, says):
    for text in steps:
        wechat.say(text)
    again = wechat.say(said)
    assert says in again
    assert Case.query.count() == 0
