"""The console's notices area: compose, the count, approval by a second admin, progress."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.extensions import db
from bot.models import AuditLog, Member, Notice
from tests.console.helpers import Console
from tests.notices.helpers import invoke, received, run_send

FORM = {
    "title": "年度会员大会通知",
    "summary": "12月20日召开年度会员大会",
    "body": "各会员单位：\n兹定于12月20日召开年度会员大会。",
    "channel": "template",
    "audience_kind": "all",
}
LONG_TITLE = "关于召开二〇二六年度全体会员代表大会暨换届选举的通知"  # 26 characters


def test_compose_approve_by_a_second_admin_and_send(app, client, runner, sandbox, sandbox_calls):
    console = Console(client, runner)
    invoke(runner, "demo", "followers", "60")
    console.create("bo", "admin")
    console.login("ed", "editor")
    page = console.post("/admin/notices/new", FORM)
    assert page.status_code == 302, page.get_data(as_text=True)
    notice = db.session.execute(select(Notice)).scalar_one()
    detail = console.get(f"/admin/notices/{notice.id}").get_data(as_text=True)
    assert "<strong data-count>60</strong>" in detail
    assert "超过 50 人" in detail

    console.post(f"/admin/notices/{notice.id}/submit")
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).status == "pending"
    # The editor may not approve at all; the approver must be another admin.
    assert console.post(f"/admin/notices/{notice.id}/approve").status_code == 403
    console.logout()
    console.login("bo", "admin")
    done = console.post(f"/admin/notices/{notice.id}/approve", follow_redirects=True)
    assert "已批准并开始发送，共 60 人" in done.get_data(as_text=True)
    assert run_send(notice.id).status == "sent"
    assert console.get(f"/admin/notices/{notice.id}/progress").get_json()["percent"] == 100
    assert received(sandbox, "template")["recipients"] == 60
    actions = [a.action for a in db.session.execute(select(AuditLog)).scalars()]
    for step in ("notice.create", "notice.submit", "notice.approve", "notice.send"):
        assert step in actions


def test_the_composer_cannot_approve_their_own_notice(app, client, runner):
    console = Console(client, runner)
    invoke(runner, "demo", "followers", "60")
    console.login("ada", "admin")
    console.post("/admin/notices/new", FORM)
    notice = db.session.execute(select(Notice)).scalar_one()
    console.post(f"/admin/notices/{notice.id}/submit")
    page = console.post(f"/admin/notices/{notice.id}/approve", follow_redirects=True)
    assert "撰写或提交的人不能自己批准" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).status == "pending"


def test_template_fields_are_checked_before_sending(app, client, runner):
    console = Console(client, runner)
    console.login("ed", "editor")
    page = console.post("/admin/notices/new", {**FORM, "title": LONG_TITLE})
    assert page.status_code == 400
    assert "不能超过 20 个字" in page.get_data(as_text=True)
    assert "47003" in page.get_data(as_text=True)
    assert db.session.execute(select(Notice)).first() is None
    # The same title as a customer-service message is fine (no keyword limits there).
    long = {**FORM, "channel": "custom", "title": LONG_TITLE}
    assert console.post("/admin/notices/new", long).status_code == 302


def test_an_uploaded_list_is_matched_and_the_misses_reported(app, client, runner):
    console = Console(client, runner)
    db.session.add_all(
        [
            Member(name="张三", mobile="13800000001", openid="o-zhang"),
            Member(name="李四", mobile="13800000002"),
            Member(name="王五", mobile="13800000003", openid="o-wang1"),
            Member(name="王五", mobile="13800000004", openid="o-wang2"),
        ]
    )
    db.session.commit()
    console.login("ed", "editor")
    data = "手机号\n13800000001\n13800000002\n王五\n13900000000\n".encode("utf-8-sig")
    page = console.post(
        "/admin/notices/new",
        {**FORM, "audience_kind": "list", "upload": (io.BytesIO(data), "名单.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    text = page.get_data(as_text=True)
    assert "匹配到 1 位" in text
    assert "13800000002（未绑定微信）" in text and "王五（重名）" in text
    assert "13900000000（名册中没有）" in text
    notice = db.session.execute(select(Notice)).scalar_one()
    assert notice.audience == "list" and notice.audience_list == ["o-zhang"]


def test_mass_is_only_for_all_or_a_tag(app, client, runner):
    console = Console(client, runner)
    console.login("ed", "editor")
    page = console.post("/admin/notices/new", {**FORM, "channel": "mass", "audience_kind": "list"})
    assert page.status_code == 400
    assert "群发只能发给全部关注者或一个微信标签" in page.get_data(as_text=True)


def test_signed_out_visitors_get_the_login_page(app, client):
    for url in ("/admin/notices", "/admin/notices/new", "/admin/notices/1/progress"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_staff_bind_their_own_wechat_and_preview_a_mass_notice(
    app, client, runner, sandbox, sandbox_calls
):
    console = Console(client, runner)
    console.login("ed", "editor")
    saved = console.post("/admin/notices/my-wechat", {"openid": "o-ed-wechat"})
    assert saved.status_code == 302
    console.post("/admin/notices/new", {**FORM, "channel": "mass"})
    notice = db.session.execute(select(Notice)).scalar_one()
    page = console.post(f"/admin/notices/{notice.id}/preview", follow_redirects=True)
    assert "预览已发到您绑定的微信" in page.get_data(as_text=True)
    preview = sandbox_calls.list("message/mass/preview")
    assert len(preview) == 1 and preview[0]["body"]["touser"] == "o-ed-wechat"
    assert console.post("/admin/notices/my-wechat", {"openid": "o x"}).status_code == 400
