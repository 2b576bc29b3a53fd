"""WeChat's side of a notice: its job reports matched to the notice and its deliveries.

The webhook records MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH as ``OutboundMessage`` rows
by msg_id (``bot.wechat.events``) whether or not a notice is known yet, because the event
can come before the sending job has written the id down. Reconciling matches them here,
later and repeatedly; a mass job is also polled through the status API (``message/mass/get``)
since the event may never come.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.extensions import DBSession
from bot.models import Delivery, Notice, OutboundMessage
from bot.services.notices import deliveries

# message/mass/get's msg_status values that end a job.
MASS_FINAL = frozenset({"SEND_SUCCESS", "SEND_FAIL", "DELETE"})


def match_events(db: DBSession, notice: Notice, now: datetime) -> int:
    """Copy what job-finished events said onto the notice (mass) or its deliveries
    (template); answer how many records changed."""
    if notice.channel == "mass":
        if notice.mass_msg_id is None:
            return 0
        row = db.execute(
            select(OutboundMessage).where(
                OutboundMessage.kind == "mass", OutboundMessage.msg_id == notice.mass_msg_id
            )
        ).scalar_one_or_none()
        if row is None or not row.status:
            return 0
        sent, errors = row.sent_count, row.error_count
        counts = {
            "total": row.total_count,
            # FilterCount (those left after the platform's filters) is sent + errors.
            "filter": (sent or 0) + (errors or 0) if sent is not None else None,
            "sent": sent,
            "error": errors,
            "source": "event",
        }
        changed = notice.mass_counts != counts or notice.mass_status != row.status
        notice.mass_counts, notice.mass_status = counts, row.status[:40]
        return int(changed)
    events = select(OutboundMessage.msg_id).where(OutboundMessage.kind == "template")
    status = (
        select(OutboundMessage.status)
        .where(OutboundMessage.kind == "template", OutboundMessage.msg_id == Delivery.msg_id)
        .limit(1)
        .scalar_subquery()
    )
    result = db.execute(
        update(Delivery)
        .where(
            Delivery.notice_id == notice.id,
            Delivery.confirmed.is_(None),
            Delivery.msg_id.is_not(None),
            Delivery.msg_id.in_(events),
        )
        .values(confirmed=func.substr(status, 1, 40), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def apply_mass_status(notice: Notice, answer: dict[str, Any]) -> bool:
    """What ``message/mass/get`` answered; True once the job is final."""
    status = str(answer.get("msg_status") or "")[:40]
    if not status:
        return False
    if notice.mass_status is None or notice.mass_status.upper() == notice.mass_status:
        # An event's words ("send success", "err(…)") are kept over the poll's code.
        notice.mass_status = status
    return status in MASS_FINAL


def report(db: DBSession, notice: Notice) -> dict[str, Any]:
    """Both sides: our delivery table, and what WeChat reported."""
    ours = deliveries.progress(db, notice.id)
    theirs: dict[str, Any] = {}
    if notice.channel == "mass":
        theirs = {"status": notice.mass_status, **(notice.mass_counts or {})}
    else:
        rows = db.execute(
            select(Delivery.confirmed, func.count())
            .where(Delivery.notice_id == notice.id, Delivery.confirmed.is_not(None))
            .group_by(Delivery.confirmed)
        ).all()
        theirs = {"confirmed": {str(k): int(n) for k, n in rows}}
    return {"ours": ours, "theirs": theirs}


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
