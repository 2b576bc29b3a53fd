"""The outbox: notifications owed to members, each under a unique key, claimed before sending.

The rules that make a retried job harmless live here, over the table only (the sending is
``bot.jobs.outbox``): a row is claimed by a conditional UPDATE ``pending → sending`` and
committed *before* WeChat is called, so two workers (or a retry and the sweep) cannot both
send it; after the call it is marked with what happened. A row left ``sending`` by a worker
that died mid-call is never sent again — WeChat may have delivered it — but marked
``unknown`` by the sweep; the member still sees the change in "我的进度".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.extensions import DBSession
from bot.models import utcnow
from bot.models.cases import Outbox

PENDING, SENDING, UNKNOWN = "pending", "sending", "unknown"
SENT, TEMPLATE, HELD, FAILED = "sent", "template", "held", "failed"
DONE = frozenset({SENT, TEMPLATE, HELD, UNKNOWN, FAILED})
# A claim older than this belongs to a worker that died mid-call.
STALE_SECONDS = 15 * 60
MAX_ATTEMPTS = 8


def add(
    db: DBSession,
    *,
    key: str,
    openid: str,
    template: str,
    context: dict[str, Any],
    fields: dict[str, str],
    case_id: int | None = None,
) -> bool:
    """Owe a message under ``key``; False when that key is owed (or sent) already.

    The unique key is the guarantee: a chore that runs twice, or two at once, adds one row.
    """
    if db.execute(select(Outbox.id).where(Outbox.key == key)).first() is not None:
        return False
    try:
        with db.begin_nested():
            db.add(
                Outbox(
                    key=key,
                    case_id=case_id,
                    openid=openid,
                    template=template,
                    context=context,
                    fields=fields,
                    status=PENDING,
                    attempts=0,
                )
            )
    except IntegrityError:
        return False  # another process added the same key meanwhile
    return True


def claim(db: DBSession, row_id: int, now: datetime | None = None) -> Outbox | None:
    """Take a pending row for sending; None when another worker has it or it is done.

    The caller commits right after, before calling WeChat.
    """
    moment = now or utcnow()
    taken = db.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.status == PENDING)
        .values(status=SENDING, claimed_at=moment, attempts=Outbox.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(taken, "rowcount", 0):
        return None
    row = db.get(Outbox, row_id)
    if row is not None:
        db.refresh(row)
    return row


def finish(db: DBSession, row: Outbox, status: str, error: str = "") -> None:
    """Record what the send did (``sent``, ``template``, ``held`` …)."""
    row.status = status
    row.error = error[:200]
    row.sent_at = utcnow()


def release(db: DBSession, row: Outbox, error: str) -> None:
    """WeChat refused before delivering (busy, token): pending again, for a later attempt;
    ``failed`` after :data:`MAX_ATTEMPTS`."""
    row.error = error[:200]
    row.status = FAILED if row.attempts >= MAX_ATTEMPTS else PENDING


def pending_ids(db: DBSession, limit: int = 200) -> list[int]:
    return list(
        db.execute(
            select(Outbox.id).where(Outbox.status == PENDING).order_by(Outbox.id).limit(limit)
        ).scalars()
    )


def mark_stale(db: DBSession, now: datetime | None = None) -> int:
    """Rows claimed long ago and never finished: ``unknown`` (never re-sent)."""
    cutoff = (now or utcnow()) - timedelta(seconds=STALE_SECONDS)
    done = db.execute(
        update(Outbox)
        .where(Outbox.status == SENDING, Outbox.claimed_at < cutoff)
        .values(status=UNKNOWN, error="worker stopped during the send")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def of_case(db: DBSession, case_id: int) -> list[Outbox]:
    return list(
        db.execute(select(Outbox).where(Outbox.case_id == case_id).order_by(Outbox.id)).scalars()
    )
