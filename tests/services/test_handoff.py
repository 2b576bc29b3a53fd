"""Hand-offs to a person on real rows: one open hand-off per member, its thread, closing."""

from __future__ import annotations

from bot.extensions import db
from bot.models import Handoff
from bot.services import handoff
from tests.factories import HandoffFactory, HandoffMessageFactory


def test_a_member_has_one_open_handoff_at_a_time(app):
    waiting = HandoffFactory(openid="o-member")
    HandoffFactory(openid="o-member", status="closed")
    assert handoff.current(db.session, "o-member") is waiting
    assert handoff.open_handoff(db.session, "o-member") is waiting  # reused, not doubled
    fresh = handoff.open_handoff(db.session, "o-other", reason="stuck")
    assert (fresh.status, fresh.reason) == ("waiting", "stuck")


def test_the_waiting_list_holds_open_handoffs_oldest_first(app):
    first, second = HandoffFactory(), HandoffFactory(status="active")
    HandoffFactory(status="closed")
    assert handoff.waiting_list(db.session) == [first, second]


def test_a_staff_reply_makes_the_handoff_active_and_joins_the_thread(app):
    line = HandoffMessageFactory(text="请问入会需要什么材料")
    row = db.session.get(Handoff, line.handoff_id)
    handoff.add_staff_message(db.session, row, "admin", "营业执照复印件即可", delivery="sent")
    db.session.commit()
    assert (row.status, row.staff) == ("active", "admin")
    thread = handoff.thread(db.session, row)
    assert [(m["sender"], m["text"]) for m in thread] == [
        ("member", "请问入会需要什么材料"),
        ("staff", "营业执照复印件即可"),
    ]
    handoff.close(db.session, row, staff="admin")
    db.session.commit()
    assert handoff.current(db.session, row.openid) is None
