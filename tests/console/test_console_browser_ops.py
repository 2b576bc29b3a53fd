"""Issue 14's console in headless Chromium against a live server: sign-in, a wrong password
and the lock-out, a role refused a page, a knowledge-base edit that the chat then answers
with, the dashboard drawn with its charts, every console URL refused without a session, and
the pages on a phone-sized screen.

One browser for the module (conftest's ``chromium``; each test gets a fresh context, so no
cookie carries over).
Skipped where Debian's chromium is not installed (Playwright must not download a browser).
Screenshots are kept under ``test-artifacts/`` (ignored by git).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from bot.extensions import db
from bot.kb import answers
from bot.models import KnowledgeEntry
from tests.console.test_console_browser import seed_everything
from tests.factories import CaseFactory

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct-horse-42"
TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def page(live_server: str, chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server) else outside.append(r.url))
    page.base = live_server  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not outside, f"requests outside the server: {outside}"


def shot(page, name: str, **kw) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **kw)
    return path


def account(runner, name: str, role: str) -> str:
    result = runner.invoke(
        args=["admin", "create-user", name, "--role", role, "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    return name


def sign_in(page, name: str, password: str = PASSWORD) -> None:
    page.goto(page.base + "/admin/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_sign_in_a_wrong_password_and_the_lock_out(page, runner) -> None:
    account(runner, "otto", "officer")
    sign_in(page, "otto", "not-the-password")
    expect(page.get_by_text("用户名或密码不正确。")).to_be_visible()
    expect(page.get_by_role("heading", name="工作台")).to_have_count(0)
    # Ten failures from one address pause sign-in there, even with the right password.
    for _ in range(9):
        sign_in(page, "otto", "still-not-it")
    sign_in(page, "otto")
    expect(page.get_by_text(re.compile(r"登录失败次数过多，请 \d+ 分钟后再试"))).to_be_visible()
    shot(page, "console-lockout")
    page.goto(page.base + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))


def test_sign_in_and_a_role_refused_a_page(page, runner) -> None:
    account(runner, "ed", "editor")
    sign_in(page, "ed")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    menu = page.get_by_role("navigation", name="主导航")
    expect(menu.get_by_role("link", name="政策知识库")).to_be_visible()
    expect(menu.get_by_role("link", name="账号与角色")).to_have_count(0)
    expect(menu.get_by_role("link", name="工作台账")).to_have_count(0)
    for url in ("/admin/users", "/admin/audit", "/admin/reports", "/admin/members"):
        response = page.goto(page.base + url)
        assert response.status == 403, url
        expect(page.get_by_role("heading", name="没有权限").first).to_be_visible()
    shot(page, "console-403")


def test_a_knowledge_base_edit_the_chat_then_answers_with(page, runner, wechat) -> None:
    account(runner, "ed", "editor")
    entry = db.session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars().first()
    question, entry_id = entry.question, entry.id
    db.session.rollback()
    sign_in(page, "ed")
    page.goto(f"{page.base}/admin/kb/{entry_id}/edit")
    new_answer = "（浏览器测试）请于每年三月底前向工商联商会工作部报送年度工作报告。"
    page.get_by_label("答案").fill(new_answer)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_text("已保存。各服务进程将在 2 秒内使用新内容。")).to_be_visible()
    # The hit test shows the new answer as the member would get it …
    page.goto(page.base + "/admin/kb/test")
    page.get_by_label("会员的问题").fill(question)
    page.get_by_role("button", name="测试").click()
    deadline = time.monotonic() + 10
    while new_answer not in page.locator("#reply").inner_text():
        assert time.monotonic() < deadline, "the hit test never showed the new answer"
        time.sleep(0.3)
        page.reload()
    expect(page.locator("#band")).to_have_text("直接回答")
    shot(page, "console-kb-hit-test")
    # … and a member asking in the chat (the signed webhook) gets it.
    assert answers.answer(current_app.extensions["kb"], question).band == "answer"
    assert new_answer in wechat.say(question)


def test_the_dashboard_draws_its_charts(page, runner) -> None:
    account(runner, "boss", "admin")
    seed_everything()
    CaseFactory(status="待受理")
    sign_in(page, "boss")
    expect(page.get_by_role("heading", name="每日消息与活跃用户")).to_be_visible()
    page.wait_for_function("window.dashboardCharts && Object.keys(window.dashboardCharts).length")
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map((c) => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let inked = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) inked++;
            return [c.dataset.chart, c.width, c.height, inked];
        })"""
    )
    charts = {name: (w, h, inked) for name, w, h, inked in drawn}
    assert {"talk", "bands", "intents", "cases", "sessions"} <= set(charts), charts
    for name, (width, height, inked) in charts.items():
        assert width > 100 and height > 100, (name, width, height)
        assert inked > 500, f"the {name} chart drew nothing"
    path = shot(page, "console-dashboard-charts", full_page=True)
    assert path.stat().st_size > 20_000


def rule_url(rule) -> str:
    """A URL the rule matches: 1 for a number, "x" for any other part."""
    from werkzeug.routing.converters import NumberConverter

    values = {}
    for name, converter in rule._converters.items():  # noqa: SLF001 (werkzeug's own map)
        values[name] = 1 if isinstance(converter, NumberConverter) else "x"
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), url)
    return url


def test_every_console_url_without_a_session_is_the_login_page(page, app, runner) -> None:
    account(runner, "boss", "admin")
    seed_everything()
    secrets = ("王五", "示范科技有限公司", "139****0001", "贷款贴息怎么申请", "13900000001")
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin")]
    assert len(rules) > 30
    gets = [r for r in rules if "GET" in r.methods and r.endpoint != "admin.auth.login"]
    posts = [r for r in rules if "POST" in r.methods and "GET" not in r.methods]
    for rule in gets:
        url = rule_url(rule)
        response = page.goto(page.base + url)
        if url.endswith(".json"):
            assert response.status == 401, url
            continue
        assert re.search(r"/admin/login\?next=", page.url), (url, page.url)
        expect(page.get_by_role("button", name="登录")).to_be_visible()
        body = page.content()
        assert not any(s in body for s in secrets), url
    for rule in posts:
        url = rule_url(rule)
        response = page.request.post(page.base + url, max_redirects=0, form={"x": "1"})
        body = response.text()
        # Refused before any view runs: the CSRF check (400) or the sign-in (302 to it).
        assert response.status in (302, 400), (url, response.status)
        if response.status == 302:
            assert "/admin/login" in response.headers["location"], url
        assert not any(s in body for s in secrets), url


PHONE_PAGES = (
    "/admin/",
    "/admin/reports",
    "/admin/users",
    "/admin/users/new",
    "/admin/audit",
    "/admin/kb",
    "/admin/kb/unanswered",
    "/admin/kb/test?q=异地商会怎么登记",
    "/admin/log",
    "/admin/members",
    "/admin/training",
    "/admin/handoffs",
    "/admin/disputes",
)


def test_pages_fit_a_phone_screen(page, runner) -> None:
    account(runner, "boss", "admin")
    seed_everything()
    sign_in(page, "boss")
    page.set_viewport_size({"width": 390, "height": 800})
    for number, url in enumerate(PHONE_PAGES):
        response = page.goto(page.base + url)
        assert response.status == 200, url
        fit = page.evaluate(
            """() => {
              const width = document.documentElement.clientWidth;
              const page = document.documentElement.scrollWidth;
              // A table wider than the screen must scroll inside its own box.
              const loose = Array.from(document.querySelectorAll("table")).filter((t) => {
                const box = t.closest(".table-wrap");
                return t.getBoundingClientRect().width > width &&
                  !(box && getComputedStyle(box).overflowX === "auto");
              }).length;
              return [width, page, loose];
            }"""
        )
        width, scroll, loose = fit
        assert scroll <= width + 1, f"{url} is {scroll}px wide on a {width}px screen"
        assert loose == 0, f"{url} has a table that does not scroll inside its card"
        name = re.sub(r"[^a-z0-9]+", "-", url.split("?")[0]).strip("-") or "dashboard"
        shot(page, f"console-phone-{number:02d}-{name}", full_page=True)
