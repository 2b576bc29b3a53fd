"""The staff console in headless Chromium against a live server: sign in, create a training
session through the form, open it and see the registrants table.

Skipped where Debian's chromium is not installed (Playwright must not download a browser).
Screenshots go to /tmp/admin-*.png for a look at the layout.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from bot.extensions import db
from bot.models import Handoff, HandoffMessage, TrainingSession
from bot.services import clock, training

CHROMIUM = Path("/usr/bin/chromium")  # the conftest `chromium` fixture launches it
SHOTS = Path("/tmp")
PASSWORD = "correct-horse-42"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

TIMEOUT_MS = 10_000


@pytest.fixture
def officer(runner) -> str:
    result = runner.invoke(
        args=["admin", "create-user", "otto", "--role", "officer", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    return "otto"


@pytest.fixture
def page(live_server: str, chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # What the console's Content-Security-Policy refused (an inline handler, say) is no
    # page error, only a console message: count it as one.
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    # Intranet rule: every asset is local, so nothing may leave the server.
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(live_server) else outside.append(r.url),
    )
    page.base = live_server  # type: ignore[attr-defined]
    yield page
    context.close()  # the browser is the module's (conftest's chromium)
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not outside, f"requests outside the server: {outside}"


def sign_in(page, name: str) -> None:
    page.goto(page.base + "/admin/")
    expect(page).to_have_url(page.base + "/admin/login?next=/admin/")
    page.screenshot(path=str(SHOTS / "admin-login.png"))
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def nav(page, name: str):
    return page.get_by_role("navigation", name="主导航").get_by_role("link", name=name)


def test_create_a_session_and_see_its_registrants(page, officer) -> None:
    sign_in(page, officer)
    page.screenshot(path=str(SHOTS / "admin-dashboard.png"))

    nav(page, "培训活动").click()
    page.get_by_role("link", name="新建培训").click()
    start = clock.local_now(current_app.config) + timedelta(days=14)
    page.get_by_label("培训名称").fill("新生代企业家培训班（第五期）")
    page.get_by_label("类别").select_option("新生代企业家培训班")
    page.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT09:00"))
    page.get_by_label("结束时间").fill(start.strftime("%Y-%m-%dT17:00"))
    page.get_by_label("报名截止").fill((start - timedelta(days=3)).strftime("%Y-%m-%dT18:00"))
    page.get_by_label("名额").fill("1")
    page.get_by_label("地点").fill("市民中心 5 楼报告厅")
    page.get_by_label("状态").select_option("open")
    page.get_by_label("介绍").fill("两天课程：企业传承、数字化转型、法治体检。")
    page.screenshot(path=str(SHOTS / "admin-training-form.png"), full_page=True)
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_text("培训已创建。")).to_be_visible()
    expect(page.get_by_role("heading", name="新生代企业家培训班（第五期）")).to_be_visible()
    expect(page.get_by_text("还没有人报名")).to_be_visible()

    # Two members sign up (the second waits); the page lists them. The test's own session
    # starts afresh: the server committed from other threads since it last read.
    db.session.rollback()
    row = db.session.execute(select(TrainingSession)).scalar_one()
    for openid, name, company in (
        ("o-a", "张三", "示范科技有限公司"),
        ("o-b", "李四", "示范贸易有限公司"),
    ):
        training.register(
            db.session,
            row,
            openid=openid,
            member=None,
            name=name,
            company=company,
            position="总经理",
            phone="13800138000",
            now=clock.local_now(current_app.config),
        )
        db.session.commit()
    page.reload()
    table = page.locator("table.registrants")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.get_by_role("cell", name="张三")).to_be_visible()
    expect(table.locator("tr", has_text="李四").get_by_text("候补")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-training-detail.png"), full_page=True)

    page.locator("tr", has_text="张三").get_by_role("button", name="登记签到").click()
    expect(page.get_by_text("已为 张三 登记签到。")).to_be_visible()
    attended = page.locator("tr", has_text="张三")
    expect(attended.get_by_text("已签到", exact=True)).to_be_visible()
    expect(attended.get_by_role("button", name="登记签到")).to_have_count(0)

    nav(page, "培训活动").click()
    expect(page.get_by_role("link", name="新生代企业家培训班（第五期）")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-training-list.png"))


def test_handoff_thread_refreshes_itself(page, officer) -> None:
    row = Handoff(openid="o-help", status="waiting")
    db.session.add(row)
    db.session.flush()
    db.session.add(HandoffMessage(handoff_id=row.id, sender="member", text="我想咨询贷款贴息"))
    handoff_id = row.id
    db.session.commit()
    sign_in(page, officer)
    page.goto(f"{page.base}/admin/handoffs/{handoff_id}")
    thread = page.locator("#thread")
    expect(thread.get_by_text("我想咨询贷款贴息")).to_be_visible()

    page.get_by_label("回复会员").fill("您好，我是工作人员小李，请问贷款金额是多少？")
    page.get_by_role("button", name="发送").click()
    expect(thread.get_by_text("请问贷款金额是多少")).to_be_visible()

    # A member message arriving later shows up without a reload (the page polls every 5 s).
    db.session.rollback()
    db.session.add(HandoffMessage(handoff_id=handoff_id, sender="member", text="<b>大约两百万</b>"))
    db.session.commit()
    expect(thread.get_by_text("<b>大约两百万</b>")).to_be_visible(timeout=8000)
    page.screenshot(path=str(SHOTS / "admin-handoff.png"))


def seed_everything() -> dict:
    """A little of everything, so each page has rows to show."""
    from bot.models import (
        Chamber,
        ConversationLog,
        Follower,
        Member,
        MemberRequest,
        UnansweredQuestion,
        utcnow,
    )

    chamber = Chamber(name="示范市青年企业家商会")
    db.session.add(chamber)
    db.session.add_all([Follower(openid=f"o-f{i}") for i in range(5)])
    db.session.add_all(
        [
            Member(
                name="王五",
                company="示范科技有限公司",
                position="董事长",
                mobile="13900000001",
                chamber=chamber,
                tags="新生代,理事",
                openid="o-help",
            ),
            Member(
                name="钱七", company="示范物流有限公司", position="总经理", mobile="13900000005"
            ),
        ]
    )
    db.session.add(
        MemberRequest(
            openid="o-req",
            name="孙八",
            company="示范食品有限公司",
            position="副总经理",
            mobile="13900000008",
            chamber_name="示范市食品商会",
        )
    )
    db.session.add_all(
        [
            UnansweredQuestion(
                normalised="q1",
                text="异地商会年检需要什么材料",
                count=7,
                best_topic="chamber_registration",
                best_score=0.27,
            ),
            UnansweredQuestion(normalised="q2", text="出口退税多久到账", count=3),
        ]
    )
    earlier = utcnow() - timedelta(minutes=5)
    db.session.add_all(
        [
            ConversationLog(
                at=earlier,
                openid="o-help",
                msg_type="text",
                text="贷款贴息怎么申请",
                reply="您可以咨询经济服务部……",
                intent="policy_question",
                confidence=0.41,
                latency_ms=38.2,
                delivery="passive",
            ),
            ConversationLog(
                at=earlier,
                openid="o-help",
                msg_type="text",
                text="人工",
                reply="已为您转接人工服务",
                intent="human_agent",
                confidence=0.99,
                latency_ms=12.0,
                delivery="passive",
            ),
        ]
    )
    handoff = Handoff(openid="o-help", status="waiting", opened_at=utcnow())
    db.session.add(handoff)
    db.session.flush()
    db.session.add(
        HandoffMessage(handoff_id=handoff.id, sender="member", text="我手机号139****0001")
    )
    session = TrainingSession(
        title="非公经济大讲堂·数字化转型",
        kind="非公经济大讲堂",
        starts_at=clock.local_now(current_app.config) + timedelta(days=7),
        capacity=30,
        status="open",
        place="市民中心报告厅",
    )
    db.session.add(session)
    db.session.commit()
    reg = training.register(
        db.session,
        session,
        openid="o-help",
        member=None,
        name="王五",
        company="示范科技有限公司",
        position="董事长",
        phone="13900000001",
        now=clock.local_now(current_app.config),
    )
    ids = {"handoff": handoff.id, "session": session.id, "code": reg.registration.checkin_code}
    db.session.commit()
    return ids


def test_every_section_renders(page, runner) -> None:
    result = runner.invoke(
        args=["admin", "create-user", "boss", "--role", "admin", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    ids = seed_everything()
    sign_in(page, "boss")
    expect(page.get_by_text("贷款贴息怎么申请").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-dashboard-full.png"), full_page=True)
    tour = [
        ("人工服务", "/admin/handoffs", "139****0001"),
        ("人工服务 #", f"/admin/handoffs/{ids['handoff']}", "转人工之前与机器人的对话"),
        ("会员名册", "/admin/members", "示范物流有限公司"),
        ("导入会员名册", "/admin/members/import", "上传名册文件"),
        ("入会申请", "/admin/members/requests", "孙八"),
        ("政策知识库", "/admin/kb", "编辑"),
        ("未解答问题", "/admin/kb/unanswered", "异地商会年检需要什么材料"),
        ("对话记录", "/admin/log", "policy_question"),
        ("新建知识条目", "/admin/kb/new", "主题编号"),
        ("现场签到", f"/admin/checkin/{ids['code']}", "签到成功"),
        ("现场签到", "/admin/checkin/nonsense", "无效或已取消"),
        ("找不到该页面", "/admin/training/12345", "返回工作台"),
    ]
    for number, (heading, url, text) in enumerate(tour):
        page.goto(page.base + url)
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        expect(page.get_by_text(text).filter(visible=True).first).to_be_visible()
        name = url.strip("/").replace("/", "-")[:40]
        page.screenshot(path=str(SHOTS / f"admin-tour-{number:02d}-{name}.png"), full_page=True)

    # A roster upload: the dry-run report first, then the import.
    page.goto(page.base + "/admin/members/import")
    roster = "\n".join(
        ["姓名,单位,手机", "周九,示范建材公司,13900000009", "吴十,示范能源公司,12345", ",无名,1390"]
    )
    page.get_by_label("CSV 或 Excel（.xlsx）文件").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster.encode()}]
    )
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_text("第3行：手机号“12345”格式不对")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-import-report.png"), full_page=True)
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("导入完成：新增 1 人，更新 0 人。")).to_be_visible()
    expect(page.get_by_role("cell", name="示范建材公司")).to_be_visible()

    # The first knowledge entry's edit page, with its rendered preview.
    page.goto(page.base + "/admin/kb")
    page.get_by_role("link", name="编辑").first.click()
    expect(page.get_by_role("heading", name="会员看到的答案")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-kb-edit.png"), full_page=True)

    # A phone-sized check-in page: what the officer at the door sees.
    page.set_viewport_size({"width": 390, "height": 760})
    page.goto(f"{page.base}/admin/checkin/{ids['code']}")
    expect(page.get_by_text("签到成功")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-checkin-phone.png"))


def test_form_errors_show_beside_their_fields(page, officer) -> None:
    sign_in(page, officer)
    page.goto(page.base + "/admin/training/new")
    page.get_by_label("名额").fill("0")
    page.get_by_role("button", name="保存").click()

    def error_of(label: str):
        return page.locator(".field", has=page.get_by_label(label)).get_by_role("alert")

    expect(error_of("培训名称")).to_have_text("请填写培训名称。")
    expect(error_of("开始时间")).to_have_text("请填写开始时间。")
    expect(error_of("名额")).to_have_text("名额至少为 1。")
    expect(page.get_by_label("培训名称")).to_have_attribute("aria-invalid", "true")
    expect(error_of("地点")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "admin-training-form-errors.png"), full_page=True)


def test_cancelling_a_session_asks_first(page, officer) -> None:
    row = TrainingSession(
        title="非公经济大讲堂·数字化转型",
        kind="非公经济大讲堂",
        starts_at=clock.local_now(current_app.config) + timedelta(days=7),
        capacity=30,
        status="open",
    )
    db.session.add(row)
    db.session.commit()
    session_id = row.id
    sign_in(page, officer)
    page.goto(f"{page.base}/admin/training/{session_id}")
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="取消培训").click()
    expect(page.get_by_role("button", name="取消培训")).to_be_visible()
    assert asked and "确定取消这场培训吗" in asked[0]
    db.session.rollback()
    assert db.session.get(TrainingSession, session_id).status == "open"

    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="取消培训").click()
    expect(page.get_by_text("培训已取消")).to_be_visible()
    db.session.rollback()
    assert db.session.get(TrainingSession, session_id).status == "cancelled"


def test_headers_and_sign_out_in_a_real_browser(page, officer, chromium) -> None:
    """Issue 16, in Chromium: the console's security headers arrive, and after signing out
    a copy of the cookies saved before no longer opens the console."""
    response = page.goto(page.base + "/admin/login")
    headers = response.headers
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    sign_in(page, officer)
    saved = page.context.cookies()
    assert any(c["name"] == "session" for c in saved)
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(page.base + "/admin/login")

    other = chromium.new_context(locale="zh-CN")
    try:
        other.add_cookies(saved)  # as if someone had copied the cookie before the sign-out
        stolen = other.new_page()
        stolen.goto(page.base + "/admin/")
        expect(stolen).to_have_url(page.base + "/admin/login?next=/admin/")
    finally:
        other.close()
