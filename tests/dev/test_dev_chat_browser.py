"""The development chat page (/dev/chat) driven in headless Chromium, against a live server.

Runs the real app (webhook, Redis, database) behind werkzeug on a free port and clicks
through the page as a developer would: follow, a menu item, a typed message.
Skipped where Debian's chromium is not installed (Playwright must not download a browser).
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # the conftest `chromium` fixture launches it

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

TIMEOUT_MS = 10_000


@pytest.fixture
def page(live_server: str, chromium):
    context = chromium.new_context(viewport={"width": 420, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server + "/dev/chat")
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def bot_bubbles(page):
    return page.locator(".msg.bot:not(.typing) .bubble")


def show_dev_toolbar(page) -> None:
    if not page.get_by_role("button", name="关注", exact=True).is_visible():
        page.locator("#devToggle").click()


def test_follow_menu_and_text(page) -> None:
    # First load: only the hint, which mentions 欢迎语 but is not a bot bubble.
    expect(page.locator(".sys.hint")).to_be_visible()
    expect(bot_bubbles(page)).to_have_count(0)
    assert page.locator("#openid").input_value().startswith("dev-")

    # 关注 -> welcome message.
    show_dev_toolbar(page)
    page.get_by_role("button", name="关注", exact=True).click()
    expect(bot_bubbles(page).filter(has_text="欢迎")).to_be_visible()
    expect(page.locator(".sys.hint")).to_have_count(0)

    # 政策咨询 -> 联系我们 sends a CLICK event; the reply has the phone number.
    page.get_by_role("button", name="政策咨询").click()
    item = page.get_by_role("menuitem", name="联系我们")
    expect(item).to_be_visible()
    item.click()
    expect(item).to_be_hidden()
    expect(bot_bubbles(page).filter(has_text="电话")).to_be_visible()

    # Keyboard mode: type 你好 + Enter -> own bubble and a reply bubble.
    before = bot_bubbles(page).count()
    page.locator("#toKeyboard").click()
    box = page.get_by_role("textbox", name="消息")
    box.fill("你好")
    box.press("Enter")
    expect(page.locator(".msg.me .bubble").filter(has_text="你好")).to_be_visible()
    expect(bot_bubbles(page)).to_have_count(before + 1)
    expect(box).to_have_value("")
    expect(page.locator(".msg.typing")).to_have_count(0)


def test_text_is_not_parsed_as_html(page) -> None:
    page.locator("#toKeyboard").click()
    box = page.get_by_role("textbox", name="消息")
    box.fill("<b id=injected>粗体</b>")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".msg.me .bubble").filter(has_text="<b id=injected>")).to_be_visible()
    expect(page.locator("#injected")).to_have_count(0)


def test_encrypted_mode(page) -> None:
    show_dev_toolbar(page)
    page.get_by_label("加密模式").check()
    with page.expect_request("**/dev/chat/send") as request:
        page.get_by_role("button", name="关注", exact=True).click()
    assert request.value.post_data_json["encrypt"] is True
    expect(bot_bubbles(page).filter(has_text="欢迎")).to_be_visible()
