"""The notices intent in chat, and the notice's public page."""

from __future__ import annotations

from sqlalchemy import select

from bot.extensions import db
from bot.models import AuditLog, Member, Notice, utcnow
from bot.services import clock
from bot.services.notices import compose, deliveries
from tests.factories import AdminUserFactory, FollowerFactory


def sent_notice(title: str, audience_spec: str = "all", body: str = "正文内容") -> Notice:
    row = compose.create(
        db.session, title=title, body=body, summary="摘要", actor="ada", audience_spec=audience_spec
    )
    row.status, row.started_at = "sent", utcnow()
    db.session.commit()
    return row


def test_latest_notices_are_listed_numbered_with_links_and_open_by_number(app, wechat):
    FollowerFactory(openid=wechat.openid)
    first = sent_notice("关于年会的通知")
    second = sent_notice("关于培训报名的通知", body="请于本周五前报名。")
    draft = compose.create(db.session, title="还没发的草稿", body="x", actor="ada")
    db.session.commit()

    reply = wechat.say("最新通知")
    assert "1. 关于培训报名的通知" in reply and "2. 关于年会的通知" in reply
    local = clock.to_local(second.started_at, app.config)
    assert f"{local.month}月{local.day}日" in reply
    assert f"{local.hour:02d}:{local.minute:02d}）" in reply  # local time, not UTC
    assert f"/notices/{second.id}" in reply and f"/notices/{first.id}" in reply
    assert draft.title not in reply

    opened = wechat.say("通知 1")
    assert "关于培训报名的通知" in opened and "请于本周五前报名。" in opened
    assert wechat.say("通知 9").startswith("请回复“通知 1”到“通知 2”")


def test_a_notice_for_a_chamber_is_listed_only_to_its_recipients(app, wechat):
    FollowerFactory(openid=wechat.openid)
    row = sent_notice("商会内部通知", audience_spec="chamber:1")
    deliveries.create(db.session, row.id, ["o-somebody-else"])
    db.session.commit()
    assert "商会内部通知" not in wechat.say("最新通知")
    deliveries.create(db.session, row.id, [wechat.openid])
    db.session.commit()
    assert "商会内部通知" in wechat.say("最新通知")


def test_an_admins_own_wechat_starts_a_draft_waiting_for_approval(app, wechat):
    AdminUserFactory(username="ada", role="admin", openid=wechat.openid)
    reply = wechat.say("#通知 关于召开理事会的通知\n定于下周一下午三点，地点：501 会议室。")
    row = db.session.execute(select(Notice)).scalar_one()
    assert f"编号 {row.id}" in reply and "另一位管理员" in reply
    assert row.title == "关于召开理事会的通知"
    assert row.body == "定于下周一下午三点，地点：501 会议室。"  # as typed
    assert (row.status, row.created_via, row.submitted_by) == ("pending", "wechat", "ada")
    actions = {a.action for a in db.session.execute(select(AuditLog)).scalars()}
    assert {"notice.create", "notice.submit"} <= actions


def test_a_member_cannot_draft_a_notice(app, wechat):
    db.session.add(Member(name="张三", mobile="13800000001", openid=wechat.openid))
    db.session.commit()
    reply = wechat.say("#通知 大家好")
    assert "管理员" in reply
    assert db.session.execute(select(Notice)).first() is None


def test_the_notice_page_shows_sent_notices_only(app, client):
    row = sent_notice("关于年会的通知", body="会议安排\n第二行")
    page = client.get(f"/notices/{row.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "关于年会的通知" in text and "第二行" in text and 'name="viewport"' in text
    draft = compose.create(db.session, title="草稿", body="x", actor="ada")
    db.session.commit()
    assert client.get(f"/notices/{draft.id}").status_code == 404
    assert client.get("/notices/999999").status_code == 404


def test_flask_admin_set_openid_binds_and_refuses_a_taken_one(app, runner):
    AdminUserFactory(username="ada", role="admin")
    AdminUserFactory(username="bo", role="admin")
    done = runner.invoke(args=["admin", "set-openid", "ada", "o-ada-wechat"])
    assert done.exit_code == 0, done.output
    taken = runner.invoke(args=["admin", "set-openid", "bo", "o-ada-wechat"])
    assert taken.exit_code != 0 and "bound to 'ada'" in taken.output
    bad = runner.invoke(args=["admin", "set-openid", "bo", "o x;"])
    assert bad.exit_code != 0
    from bot.models import AdminUser

    db.session.expire_all()
    rows = {u.username: u.openid for u in db.session.execute(select(AdminUser)).scalars()}
    assert rows == {"ada": "o-ada-wechat", "bo": None}
