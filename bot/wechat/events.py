"""Bookkeeping for WeChat events: follows, scans, locations, send-job results.

These run for every event before routing, inside the turn's transaction, so a follow is
recorded even when its welcome reply fails.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import Follower, OutboundMessage, utcnow
from bot.wechat.channel import Inbound

log = logging.getLogger(__name__)


def follower(db: DBSession, openid: str) -> Follower:
    row = db.execute(select(Follower).where(Follower.openid == openid)).scalar_one_or_none()
    if row is None:
        row = Follower(openid=openid, subscribed=True, subscribed_at=utcnow())
        db.add(row)
    return row


def record(db: DBSession, message: Inbound) -> None:
    """Store what an event tells us; nothing here produces a reply."""
    event = message.event
    f = message.fields
    if event == "subscribe":
        row = follower(db, message.openid)
        row.subscribed = True
        row.subscribed_at = utcnow()
        row.unsubscribed_at = None
        scene = message.event_key.removeprefix("qrscene_")
        if scene:
            # The first code someone followed through is their source (a chamber's poster).
            row.source_scene = row.source_scene or scene[:64]
            row.last_scene = scene[:64]
    elif event == "unsubscribe":
        row = follower(db, message.openid)
        row.subscribed = False
        row.unsubscribed_at = utcnow()
    elif event == "scan":
        row = follower(db, message.openid)
        row.last_scene = message.event_key[:64] or None
    elif event == "location":
        row = follower(db, message.openid)
        try:
            row.latitude = float(f.get("Latitude") or 0)
            row.longitude = float(f.get("Longitude") or 0)
        except ValueError:
            return
        row.location_at = utcnow()
    elif event == "masssendjobfinish":
        _job_finished(db, "mass", message)
    elif event == "templatesendjobfinish":
        _job_finished(db, "template", message)


def _job_finished(db: DBSession, kind: str, message: Inbound) -> None:
    f = message.fields
    try:
        msg_id = int(message.msg_id or 0)
    except ValueError:
        msg_id = 0
    query = select(OutboundMessage).where(
        OutboundMessage.kind == kind, OutboundMessage.msg_id == msg_id
    )
    row = db.execute(query).scalar_one_or_none()
    if row is None:
        row = OutboundMessage(kind=kind, msg_id=msg_id, openid=message.openid)
        db.add(row)
    row.status = str(f.get("Status") or "")[:40]
    for attr, name in (
        ("total_count", "TotalCount"),
        ("sent_count", "SentCount"),
        ("error_count", "ErrorCount"),
    ):
        count = _count(f.get(name))
        if count is not None:
            setattr(row, attr, count)
    row.updated_at = utcnow()


def _count(value: object) -> int | None:
    """A job result's count as WeChat sends it (a plain non-negative number that fits an
    INTEGER column); anything else (repeated elements, nested ones, 20 digits) is ignored."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return int(text)
