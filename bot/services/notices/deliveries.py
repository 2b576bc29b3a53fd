"""The delivery table: one row per notice and recipient, claimed with a lease.

A worker claims a batch by one conditional UPDATE (``pending``, or ``sending`` whose lease
ran out) and commits before calling WeChat; it records each outcome afterwards, in bulk.
A worker killed mid-batch leaves its rows ``sending``: once ``claimed_until`` passes another
claims them. On the template channel the resend carries the same ``client_msg_id``, so
WeChat delivers it once; on the customer-service channel there is no such key, so those rows
become ``unknown`` and are never sent again (:func:`expire_unkeyed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
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
    # Two simple conditions, not one OR: each is a range of the (notice_id, status) index,
    # already in id order; with the OR the database sorted every row of the notice.
    where = and_(Delivery.notice_id == notice_id, Delivery.status == PENDING)
    if expired:
        stale = and_(
            Delivery.notice_id == notice_id,
            Delivery.status == SENDING,
            Delivery.claimed_until < now,
        )
        if db.execute(select(Delivery.id).where(stale).limit(1)).first() is not None:
            where = stale  # a dead worker's rows first: they have waited longest
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
    """Write outcomes (``id``, ``status`` and optionally ``msg_id``, ``error``, ``tried``) of
    rows ``worker`` holds: one UPDATE per kind of outcome, each row's msg_id taken from one
    JSON parameter. (Row by row, a batch of 500 cost 80 ms, most of it SQLAlchemy building
    parameters.) A row another worker took over meanwhile (this one outlived its lease)
    keeps the other's outcome."""
    groups: dict[tuple[str, str | None, bool], dict[int, int | None]] = {}
    for o in outcomes:
        error = str(o["error"])[:200] if o.get("error") else None
        # A row given back untried does not count the attempt, nor start the clock of its
        # de-duplication key (unless a request of it may have arrived: "tried").
        untried = o["status"] == PENDING and not o.get("tried")
        msg_id = int(o["msg_id"]) if o.get("msg_id") is not None else None
        groups.setdefault((o["status"], error, untried), {})[int(o["id"])] = msg_id
    postgres = db.get_bind().dialect.name == "postgresql"
    for (status, error, untried), rows in groups.items():
        sets = ["status = :status", "error = :error", "claimed_until = NULL", "updated_at = :now"]
        params: dict[str, Any] = {"status": status, "error": error, "now": now}
        msg_ids = {f"k{row_id}": m for row_id, m in rows.items() if m is not None}
        if msg_ids:
            params["msg_ids"] = json.dumps(msg_ids)
            picked = (
                "(CAST(:msg_ids AS jsonb) ->> ('k' || id))::bigint"
                if postgres
                else "CAST(json_extract(:msg_ids, '$.k' || id) AS INTEGER)"
            )
            sets.append(f"msg_id = COALESCE({picked}, msg_id)")
        if status == SENT:
            sets.append("sent_at = :now")
        if status == PENDING:
            sets.append("attempts = attempts - 1")
        if untried:
            sets.append("first_tried_at = NULL")
        statement = text(
            f"UPDATE notice_deliveries SET {', '.join(sets)} "  # noqa: S608 - fixed fragments
            "WHERE id IN :ids AND status = :sending AND claimed_by = :worker"
        ).bindparams(bindparam("ids", expanding=True), bindparam("now", type_=DateTime))
        params.update(ids=list(rows), sending=SENDING, worker=worker[:40])
        db.execute(statement, params)


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
