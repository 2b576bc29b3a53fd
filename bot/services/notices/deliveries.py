"""The delivery table: one row per notice and recipient, claimed with a lease.

A worker claims a batch by one conditional UPDATE (``pending``, or ``sending`` whose lease
ran out) and commits before calling WeChat; it records each outcome afterwards, in bulk.
A worker killed mid-batch leaves its rows ``sending``: once ``claimed_until`` passes another
claims them. On the template channel the resend carries the same ``client_msg_id``, so
WeChat delivers it once; on the customer-service channel there is no such key, so those rows
become ``unknown`` and are never sent again (:func:`expire_unkeyed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    and_,
    bindparam,
    case,
    func,
    insert,
    null,
    or_,
    select,
    update,
)

from bot.extensions import DBSession
from bot.models import Delivery

PENDING, SENDING, SENT, FAILED, SKIPPED, UNKNOWN = (
    "pending",
    "sending",
    "sent",
    "failed",
    "skipped",
    "unknown",
)
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED, UNKNOWN)
DONE = frozenset({SENT, FAILED, SKIPPED, UNKNOWN})
INSERT_CHUNK = 5000


@dataclass(frozen=True)
class Claimed:
    id: int
    openid: str
    attempts: int  # including this one
    first_tried_at: datetime | None  # None: this is the first request


def create(db: DBSession, notice_id: int, openids: Iterable[str]) -> int:
    """Insert a pending row per recipient (existing ones are kept); answer how many are new."""
    dialect = db.get_bind().dialect.name
    made = 0
    batch: list[dict[str, Any]] = []

    def flush() -> int:
        if not batch:
            return 0
        stmt: Any
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(Delivery).on_conflict_do_nothing()
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(Delivery).on_conflict_do_nothing()
        else:  # pragma: no cover - the project runs on the two above
            stmt = insert(Delivery)
        result = db.execute(stmt, batch)
        count = _rowcount(result)
        batch.clear()
        return count

    for openid in openids:
        batch.append({"notice_id": notice_id, "openid": openid, "status": PENDING, "attempts": 0})
        if len(batch) >= INSERT_CHUNK:
            made += flush()
    made += flush()
    return made


def _claimable(notice_id: int, now: datetime, *, expired: bool) -> Any:
    cond = Delivery.status == PENDING
    if expired:
        cond = or_(cond, and_(Delivery.status == SENDING, Delivery.claimed_until < now))
    return and_(Delivery.notice_id == notice_id, cond)


def claim(
    db: DBSession,
    notice_id: int,
    worker: str,
    *,
    limit: int,
    lease: timedelta,
    now: datetime,
    expired: bool = True,
) -> list[Claimed]:
    """Take up to ``limit`` rows for ``worker`` until ``now + lease``; the caller commits.

    The condition is in the UPDATE itself, so two workers never both take a row: on
    PostgreSQL the candidate rows are locked with SKIP LOCKED (a second worker takes the
    next ones instead of waiting), on SQLite the transaction holds the write lock.
    ``expired``: also rows whose lease ran out (a dead worker's).
    """
    where = _claimable(notice_id, now, expired=expired)
    ids = select(Delivery.id).where(where).order_by(Delivery.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(ids.scalar_subquery()), where)
        .values(
            status=SENDING,
            claimed_by=worker[:40],
            claimed_until=now + lease,
            attempts=Delivery.attempts + 1,
            first_tried_at=func.coalesce(Delivery.first_tried_at, now),
            updated_at=now,
        )
        .returning(Delivery.id, Delivery.openid, Delivery.attempts, Delivery.first_tried_at)
        .execution_options(synchronize_session=False)
    )
    rows = db.execute(stmt).all()
    # A first request's row now carries this claim's ``now``: reported as None (first try).
    claimed = [
        Claimed(int(r[0]), str(r[1]), int(r[2]), None if r[3] == now else r[3]) for r in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


def record(db: DBSession, outcomes: Sequence[dict[str, Any]], worker: str, now: datetime) -> None:
    """Write outcomes (``id``, ``status`` and optionally ``msg_id``, ``error``) of rows
    ``worker`` holds, in one executemany. A row another worker took over meanwhile (this one
    outlived its lease) keeps the other's outcome."""
    if not outcomes:
        return
    table = Delivery.__table__
    params = [
        {
            "b_id": o["id"],
            "b_worker": worker[:40],
            "b_status": o["status"],
            "b_error": str(o["error"])[:200] if o.get("error") else None,
            "b_msg_id": int(o["msg_id"]) if o.get("msg_id") is not None else None,
            "b_sent_at": now if o["status"] == SENT else None,
            # A row given back untried does not count the attempt, nor start the clock of
            # its de-duplication key (unless a request of it may have arrived: "tried").
            "b_undo": 1 if o["status"] == PENDING else 0,
            "b_untried": 1 if o["status"] == PENDING and not o.get("tried") else 0,
        }
        for o in outcomes
    ]
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.status == SENDING,
            table.c.claimed_by == bindparam("b_worker"),
        )
        .values(
            status=bindparam("b_status"),
            error=bindparam("b_error"),
            msg_id=func.coalesce(bindparam("b_msg_id", type_=BigInteger), table.c.msg_id),
            sent_at=func.coalesce(bindparam("b_sent_at", type_=DateTime), table.c.sent_at),
            attempts=table.c.attempts - bindparam("b_undo", type_=Integer),
            first_tried_at=case(
                (bindparam("b_untried", type_=Integer) == 1, null()),
                else_=table.c.first_tried_at,
            ),
            claimed_until=None,
            updated_at=now,
        )
    )
    db.execute(stmt, params)


def expire_unkeyed(db: DBSession, notice_id: int, now: datetime) -> int:
    """Rows of a channel without a de-duplication key whose lease ran out: ``unknown``
    (the request may have reached the member; sending again could duplicate it)."""
    result = db.execute(
        update(Delivery)
        .where(
            Delivery.notice_id == notice_id,
            Delivery.status == SENDING,
            Delivery.claimed_until < now,
        )
        .values(status=UNKNOWN, error="lease_expired", claimed_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def counts(db: DBSession, notice_id: int) -> dict[str, int]:
    """Rows per status (every status present, zero when none)."""
    found = dict.fromkeys(STATUSES, 0)
    rows = db.execute(
        select(Delivery.status, func.count())
        .where(Delivery.notice_id == notice_id)
        .group_by(Delivery.status)
    ).all()
    for status, n in rows:
        found[str(status)] = int(n)
    return found


def progress(db: DBSession, notice_id: int) -> dict[str, int]:
    """The progress bar's figures: sent, failed, skipped, unknown, remaining, total, done."""
    c = counts(db, notice_id)
    total = sum(c.values())
    remaining = c[PENDING] + c[SENDING]
    return {
        "sent": c[SENT],
        "failed": c[FAILED],
        "skipped": c[SKIPPED],
        "unknown": c[UNKNOWN],
        "remaining": remaining,
        "total": total,
        "done": total - remaining,
        "percent": 100 if total == 0 else (100 * (total - remaining)) // total,
    }


def leased_until(db: DBSession, notice_id: int) -> datetime | None:
    """When the last lease of the notice's rows runs out (None: nothing is being sent)."""
    value = db.execute(
        select(func.max(Delivery.claimed_until)).where(
            Delivery.notice_id == notice_id, Delivery.status == SENDING
        )
    ).scalar()
    return value if isinstance(value, datetime) else None


def has_claimable(db: DBSession, notice_id: int, now: datetime, *, expired: bool = True) -> bool:
    query = select(Delivery.id).where(_claimable(notice_id, now, expired=expired)).limit(1)
    return db.execute(query).first() is not None


def retry_failed(db: DBSession, notice_id: int, now: datetime) -> int:
    """Failed rows back to pending (never ``unknown`` ones: they may have arrived)."""
    result = db.execute(
        update(Delivery)
        .where(Delivery.notice_id == notice_id, Delivery.status == FAILED)
        .values(status=PENDING, error=None, first_tried_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def skip_pending(db: DBSession, notice_id: int, reason: str, now: datetime) -> int:
    """Pending rows skipped (a cancelled notice); rows in flight finish as they will."""
    result = db.execute(
        update(Delivery)
        .where(Delivery.notice_id == notice_id, Delivery.status == PENDING)
        .values(status=SKIPPED, error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
