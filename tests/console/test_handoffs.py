"""Hand-offs in the console: replies queued as pushes, closing, and scope (a mediator sees
only the hand-offs routed to their committee)."""

from __future__ import annotations

from bot.extensions import db
from tests.console.helpers import make_committee, open_handoff, queued


def test_handoff_reply_enqueues_a_push(app, console, client) -> None:
    # A mediator answers the hand-offs routed to their committee (scope: see below).
    committee = make_committee("示范市商会人民调解委员会", "合同", "货款债务")
    row = open_handoff(committee=committee)
    console.create("mia", "mediator", "--committee", str(committee.id))
    console.login("mia")
    listing = client.get("/admin/handoffs").get_data(as_text=True)
    assert "o-help" in listing and "我想咨询贷款贴息" in listing
    assert client.get(f"/admin/handoffs/{row.id}").status_code == 200
    before = len(app.extensions["rq"])
    response = console.post(f"/admin/handoffs/{row.id}/reply", {"text": "您好，我是工作人员小李。"})
    assert response.status_code == 302
    assert len(app.extensions["rq"]) == before + 1
    assert queued(app)[-1] == ("o-help", "您好，我是工作人员小李。")
    db.session.refresh(row)
    assert row.status == "active" and row.staff == "mia"
    data = client.get(f"/admin/handoffs/{row.id}.json").get_json()
    assert [line["sender"] for line in data["lines"]] == ["member", "staff"]
    assert data["lines"][1]["delivery"] == "queued"
    empty = console.post(f"/admin/handoffs/{row.id}/reply", {"text": "  "}, follow_redirects=True)
    assert "请输入回复内容" in empty.get_data(as_text=True)
    assert len(app.extensions["rq"]) == before + 1


def test_handoff_close_clears_the_flag_and_says_goodbye(app, console) -> None:
    row = open_handoff()
    redis = app.extensions["redis"]
    redis.set("bot:handoff:o-help", str(row.id))
    console.login("otto", "officer")
    before = len(app.extensions["rq"])
    assert console.post(f"/admin/handoffs/{row.id}/close").status_code == 302
    assert redis.exists("bot:handoff:o-help") == 0
    db.session.refresh(row)
    assert row.status == "closed" and row.closed_at is not None
    assert len(app.extensions["rq"]) == before + 1
    assert queued(app)[-1] == (
        "o-help",
        "本次人工服务已结束，感谢您的耐心。有其他问题可以继续发消息给我。",
    )
    # A closed hand-off takes no more replies.
    console.post(f"/admin/handoffs/{row.id}/reply", {"text": "还在吗"})
    assert len(app.extensions["rq"]) == before + 1


def test_a_mediator_sees_only_the_handoffs_of_their_committee(app, console, client) -> None:
    a = make_committee("示范市商会人民调解委员会", "合同", "货款债务")
    b = make_committee("示范市浙江商会人民调解委员会", "知识产权")
    mine = open_handoff("o-mine", committee=a)
    theirs = open_handoff("o-theirs", committee=b)
    unrouted = open_handoff("o-nobody")
    console.create("mia", "mediator", "--committee", str(a.id))
    console.login("mia")

    listing = client.get("/admin/handoffs").get_data(as_text=True)
    assert "o-mine" in listing
    assert "o-theirs" not in listing and "o-nobody" not in listing
    assert client.get(f"/admin/handoffs/{mine.id}").status_code == 200
    for row in (theirs, unrouted):
        # Exactly as for a hand-off that does not exist: the URL says nothing.
        page = client.get(f"/admin/handoffs/{row.id}")
        assert page.status_code == 404 and "找不到该页面" in page.get_data(as_text=True)
        assert client.get(f"/admin/handoffs/{row.id}.json").status_code == 404
        before = len(app.extensions["rq"])
        reply = console.post(f"/admin/handoffs/{row.id}/reply", {"text": "您好"})
        assert reply.status_code == 404 and len(app.extensions["rq"]) == before
        assert console.post(f"/admin/handoffs/{row.id}/close").status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == "waiting"
    assert "等待人工接入" in client.get("/admin/").get_data(as_text=True)


def test_an_unbound_mediator_sees_no_handoff_and_an_officer_sees_all(console, client) -> None:
    a = make_committee("示范市商会人民调解委员会", "合同")
    rows = [open_handoff("o-routed", committee=a), open_handoff("o-unrouted")]
    console.login("mia", "mediator")  # bound to no committee
    listing = client.get("/admin/handoffs").get_data(as_text=True)
    assert "o-routed" not in listing and "o-unrouted" not in listing
    assert all(client.get(f"/admin/handoffs/{r.id}").status_code == 404 for r in rows)
    console.logout()
    console.login("otto", "officer")
    listing = client.get("/admin/handoffs").get_data(as_text=True)
    assert "o-routed" in listing and "o-unrouted" in listing
    assert all(client.get(f"/admin/handoffs/{r.id}").status_code == 200 for r in rows)


def test_scoped_narrows_lists_counts_and_lookups(app) -> None:
    from flask_login import AnonymousUserMixin
    from sqlalchemy import func, select

    from bot.console.access import scoped
    from bot.models import AdminUser, Handoff

    a = make_committee("甲调委会", "合同")
    b = make_committee("乙调委会", "租赁")
    ids = {open_handoff("o-a", committee=a).id, open_handoff("o-b", committee=b).id}
    mediator = AdminUser(username="m", password_hash="-", role="mediator", committee_id=a.id)
    officer = AdminUser(username="o", password_hash="-", role="officer")
    editor = AdminUser(username="e", password_hash="-", role="editor")

    def seen(user) -> set[int]:
        return set(db.session.execute(scoped(select(Handoff.id), user)).scalars())

    def counted(user) -> int:
        query = select(func.count()).select_from(Handoff)
        return db.session.execute(scoped(query, user)).scalar_one()

    assert seen(officer) == ids and counted(officer) == 2
    assert len(seen(mediator)) == 1 and counted(mediator) == 1
    assert seen(editor) == set() and seen(AnonymousUserMixin()) == set()
