"""Human hand-off: a member asks for 人工 (or gets stuck); staff answer from the console.

While a hand-off is open the bot stays quiet (it does not talk over the staff): member
messages are added to the hand-off thread, and the member is reminded that a person will
answer at most once every ``HANDOFF_ACK_SECONDS``. Staff replies go out as customer-service
messages (inside WeChat's 48-hour window) through the job queue. The open flag lives in
Redis (``bot:handoff:<openid>``, read in the webhook's first pipeline); the record in SQL.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import ConversationLog, Handoff, HandoffMessage, utcnow

OPEN = ("waiting", "active")


def current(db: DBSession, openid: str) -> Handoff | None:
    return (
        db.execute(
            select(Handoff)
            .where(Handoff.openid == openid, Handoff.status.in_(OPEN))
            .order_by(Handoff.id.desc())
        )
        .scalars()
        .first()
    )


def open_handoff(db: DBSession, openid: str, reason: str = "asked") -> Handoff:
    row = current(db, openid)
    if row is None:
        row = Handoff(openid=openid, status="waiting", reason=reason)
        db.add(row)
        db.flush()
    return row


def add_member_message(db: DBSession, row: Handoff, text: str) -> None:
    db.add(HandoffMessage(handoff_id=row.id, sender="member", text=text[:2000]))
    row.last_member_at = utcnow()


def add_bot_message(db: DBSession, row: Handoff, text: str) -> None:
    """What the bot answered on its own while the hand-off waits (a policy question)."""
    db.add(HandoffMessage(handoff_id=row.id, sender="bot", text=text[:2000]))


def add_staff_message(
    db: DBSession, row: Handoff, staff: str, text: str, delivery: str
) -> HandoffMessage:
    message = HandoffMessage(
        handoff_id=row.id, sender="staff", staff=staff, text=text, delivery=delivery
    )
    db.add(message)
    row.status = "active"
    row.staff = row.staff or staff
    db.flush()
    return message


def close(db: DBSession, row: Handoff, staff: str) -> None:
    row.status = "closed"
    row.closed_at = utcnow()
    row.staff = row.staff or staff


def waiting_list(db: DBSession) -> list[Handoff]:
    return list(
        db.execute(
            select(Handoff).where(Handoff.status.in_(OPEN)).order_by(Handoff.opened_at)
        ).scalars()
    )


def thread(db: DBSession, row: Handoff, history: int = 10) -> list[dict[str, Any]]:
    """The conversation before the hand-off (from the log) and the hand-off messages."""
    before = list(
        db.execute(
            select(ConversationLog)
            .where(ConversationLog.openid == row.openid, ConversationLog.at <= row.opened_at)
            .order_by(ConversationLog.at.desc())
            .limit(history)
        ).scalars()
    )
    lines: list[dict[str, Any]] = []
    for log in reversed(before):
        lines.append({"at": log.at, "sender": "member", "text": log.text, "earlier": True})
        if log.reply:
            lines.append({"at": log.at, "sender": "bot", "text": log.reply, "earlier": True})
    for message in db.execute(
        select(HandoffMessage)
        .where(HandoffMessage.handoff_id == row.id)
        .order_by(HandoffMessage.id)
    ).scalars():
        lines.append(
            {
                "at": message.at,
                "sender": message.sender,
                "text": message.text,
                "staff": message.staff,
                "delivery": message.delivery,
                "earlier": False,
            }
        )
    return lines


def in_office_hours(now_local: datetime, cfg: Any) -> bool:
    """Weekdays within the configured hours (``HANDOFF_HOURS``, e.g. "09:00-12:00,14:00-17:30")."""
    days = {int(d) for d in str(cfg.get("HANDOFF_WEEKDAYS", "0,1,2,3,4")).split(",") if d.strip()}
    if now_local.weekday() not in days:
        return False
    for span in str(cfg.get("HANDOFF_HOURS", "09:00-12:00,14:00-17:30")).split(","):
        start, _, end = span.partition("-")
        if time.fromisoformat(start.strip()) <= now_local.time() <= time.fromisoformat(end.strip()):
            return True
    return False
