"""A notice in headless Chromium against a live server and the sandbox: composed by one
admin, approved by another, and the progress bar following the send to 100 %.

The send itself runs in a thread playing the worker (the jobs of ``bot.jobs.notices``),
against the WeChat API sandbox over HTTP. Skipped where Debian's chromium is absent.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.extensions import db
from bot.models import Notice
from tests.notices.helpers import invoke, received

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp")
PASSWORD = "correct-horse-42"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


class Sender(threading.Thread):
    """Plays ``flask worker``: sends whatever notice is sending, until stopped."""

    def __init__(self, app) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.stopping = threading.Event()

    def run(self) -> None:
        from bot.jobs import notices as jobs

        with self.app.app_context():
            while not self.stopping.is_set():
                db.session.remove()
                ids = db.session.execute(
                    select(Notice.id).where(Notice.status == "sending")
                ).scalars()
                for notice_id in list(ids):
                    jobs.drive(notice_id)
                time.sleep(0.3)
            db.session.remove()


@pytest.fixture
def page(live_server: str, chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("dialog", lambda dialog: dialog.accept())  # the "确定提交？" confirmations
    page.base = live_server  # type: ignore[attr-defined]
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page, name: str) -> None:
    page.goto(page.base + "/admin/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def test_compose_approve_and_watch_the_progress_bar_reach_100(
    app, runner, page, sandbox, sandbox_calls
):
    app.config["NOTICE_TEMPLATE_ID"] = "tpl-notice"
    for name in ("ada", "bo"):
        args = ["admin", "create-user", name, "--role", "admin", "--password", PASSWORD]
        assert runner.invoke(args=args).exit_code == 0
    invoke(runner, "demo", "followers", "80")  # above the approval threshold (50)

    sign_in(page, "ada")
    page.goto(page.base + "/admin/notices")
    page.get_by_role("link", name="撰写通知").click()
    page.get_by_label("标题").fill("年度会员大会通知")
    page.get_by_label("摘要").fill("12月20日召开年度会员大会")
    page.get_by_label("正文").fill("各会员单位：\n兹定于12月20日召开年度会员大会，请准时参加。")
    page.get_by_label("发送方式").select_option("template")
    page.get_by_label("发送对象").select_option("all")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("通知草稿已保存")).to_be_visible()
    expect(page.locator("[data-count]")).to_have_text("80")
    page.get_by_role("button", name="提交发送").click()
    expect(page.get_by_text("已提交另一位管理员审核")).to_be_visible()
    expect(page.get_by_text("等待另一位管理员审核")).to_be_visible()
    page.get_by_role("button", name="退出").click()

    sign_in(page, "bo")
    page.goto(page.base + "/admin/notices")
    page.get_by_role("link", name="年度会员大会通知").click()
    sender = Sender(app)
    page.get_by_role("button", name="批准并发送").click()
    expect(page.get_by_text("已批准并开始发送，共 80 人")).to_be_visible()
    sender.start()
    try:
        expect(page.locator('#progress [data-field="percent"]')).to_have_text("100", timeout=60_000)
        expect(page.locator('#progress [data-field="sent"]')).to_have_text("80")
        expect(page.locator('#progress [data-field="remaining"]')).to_have_text("0")
        page.screenshot(path=str(SHOTS / "admin-notice-sent.png"), full_page=True)
    finally:
        sender.stopping.set()
        sender.join(timeout=30)
    assert received(sandbox, "template")["recipients"] == 80
