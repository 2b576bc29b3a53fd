"""The dashboard and the conversation log."""

from __future__ import annotations

from bot.extensions import db
from bot.models import ConversationLog, Follower, Member, utcnow
from tests.console.helpers import open_handoff


def test_dashboard_and_log(console, client) -> None:
    db.session.add(Follower(openid="o-1"))
    db.session.add(Member(name="王五", mobile="13900000001", openid="o-1"))
    db.session.add(
        ConversationLog(
            at=utcnow(),
            openid="o-1",
            msg_type="text",
            text="电话 139****0001",
            reply="好的",
            intent="greeting",
            latency_ms=12.5,
            delivery="passive",
        )
    )
    db.session.add(
        ConversationLog(
            at=utcnow(),
            openid="o-2",
            msg_type="text",
            text="培训",
            reply="",
            intent="training_list",
            latency_ms=4000,
            delivery="push",
        )
    )
    db.session.commit()
    open_handoff()
    console.login()
    page = client.get("/admin/").get_data(as_text=True)
    assert "关注人数" in page and "139****0001" in page and "等待人工接入" in page
    log = client.get("/admin/log?intent=greeting").get_data(as_text=True)
    assert "139****0001" in log and "培训</div>" not in log and "12 ms" in log
    log = client.get("/admin/log?openid=o-2").get_data(as_text=True)
    assert "客服推送" in log and "4000 ms" in log and "o-1<" not in log
