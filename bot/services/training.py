"""Training sessions and registrations: the rules, enforced where they cannot be raced.

The seat count is kept by conditional UPDATEs (``seats_taken < capacity``) inside the
submitting transaction, so two processes registering the last seat at once cannot both
win: the database serialises the UPDATE and only one sees a row change. A cancellation
frees its seat and promotes the first on the waiting list in the same transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot.errors import HandlerError
from bot.extensions import DBSession
from bot.models import Member, Registration, TrainingSession, utcnow

ACTIVE = ("confirmed", "waitlisted", "attended")
# Words members use for a kind of training ("新生代的培训"), looked for in a session's kind
# and title: the kind entity is canonical ("新生代企业家培训班"), sessions' names are not.
KIND_WORDS = ("新生代", "优秀民营", "入党", "大讲堂")


def open_sessions(db: DBSession, now: datetime) -> list[TrainingSession]:
    query = (
        select(TrainingSession)
        .where(TrainingSession.status == "open", TrainingSession.starts_at > now)
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    )
    return list(db.execute(query).scalars())


def kind_matches(session: TrainingSession, kind: str) -> bool:
    """Whether ``session`` is of the training kind a member named (the ``training_kind``)."""
    for word in KIND_WORDS:
        if word in kind and (word in session.kind or word in session.title):
            return True
    return kind in session.kind or kind in session.title


def eligibility(session: TrainingSession, member: Member | None) -> str | None:
    """Why this person may not join (a template name), or None."""
    audience = session.audience or "anyone"
    if audience == "anyone":
        return None
    if member is None:
        return "replies/training_register/members_only.txt"
    if audience.startswith("tag:") and audience[4:] not in member.tag_list:
        return "replies/training_register/not_eligible.txt"
    return None


def check_open(session: TrainingSession, now: datetime) -> None:
    """Refuse sign-ups to sessions that are not open or whose deadline has passed."""
    if session.status == "cancelled":
        raise HandlerError("replies/training_register/cancelled.txt", session=session)
    if session.status != "open" or session.starts_at <= now:
        raise HandlerError("replies/training_register/closed.txt", session=session)
    if session.deadline is not None and session.deadline < now:
        raise HandlerError("replies/training_register/deadline.txt", session=session)


def existing(db: DBSession, session_id: int, openid: str) -> Registration | None:
    return db.execute(
        select(Registration).where(
            Registration.session_id == session_id, Registration.openid == openid
        )
    ).scalar_one_or_none()


@dataclass
class Outcome:
    registration: Registration
    position: int  # place on the waiting list (0 when confirmed)


def register(
    db: DBSession,
    session: TrainingSession,
    *,
    openid: str,
    member: Member | None,
    name: str,
    company: str,
    position: str,
    phone: str,
    now: datetime,
) -> Outcome:
    """Confirm a seat if one is free, else join the waiting list. Caller commits."""
    check_open(session, now)
    reason = eligibility(session, member)
    if reason:
        raise HandlerError(reason, session=session)
    row = existing(db, session.id, openid)
    if row is not None and row.status in ACTIVE:
        raise HandlerError("replies/training_register/already.txt", session=session, reg=row)
    # Lock the session row for the rest of the transaction: sign-ups for one session queue
    # up, so each waiting-list place told to a member is the real one. (The seat itself is
    # guarded by the conditional UPDATE below even without it; SQLite ignores FOR UPDATE and
    # serialises writers anyway.)
    db.execute(select(TrainingSession.id).where(TrainingSession.id == session.id).with_for_update())
    stamp = utcnow()
    try:
        # A savepoint around seat and row: if the row cannot be written (the same member
        # registering twice at once from two processes), the seat goes back with it.
        with db.begin_nested():
            # The seat: one conditional UPDATE; its rowcount says whether we got it.
            taken = db.execute(
                update(TrainingSession)
                .where(
                    TrainingSession.id == session.id,
                    TrainingSession.status == "open",
                    TrainingSession.seats_taken < TrainingSession.capacity,
                )
                .values(seats_taken=TrainingSession.seats_taken + 1)
                .execution_options(synchronize_session=False)
            )
            confirmed = taken.rowcount == 1  # type: ignore[attr-defined]
            if row is None:
                row = Registration(session_id=session.id, openid=openid, checkin_code=new_code())
                db.add(row)
            row.member_id = member.id if member else None
            row.name, row.company, row.position, row.phone = name, company, position, phone
            row.status = "confirmed" if confirmed else "waitlisted"
            row.created_at = stamp
            row.confirmed_at = stamp if confirmed else None
            row.cancelled_at = None
            db.flush()
    except IntegrityError:
        raise HandlerError("replies/training_register/already.txt", session=session) from None
    db.refresh(session)
    return Outcome(row, 0 if confirmed else waitlist_position(db, row))


def waitlist_position(db: DBSession, reg: Registration) -> int:
    if reg.status != "waitlisted":
        return 0
    ahead = db.execute(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.session_id == reg.session_id,
            Registration.status == "waitlisted",
            (Registration.created_at < reg.created_at)
            | ((Registration.created_at == reg.created_at) & (Registration.id < reg.id)),
        )
    ).scalar_one()
    return int(ahead) + 1


def cancel(db: DBSession, reg: Registration) -> Registration | None:
    """Cancel ``reg``; if it held a seat, give it to the first waiting. Returns the promoted."""
    was = reg.status
    changed = db.execute(
        update(Registration)
        .where(Registration.id == reg.id, Registration.status.in_(("confirmed", "waitlisted")))
        .values(status="cancelled", cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    db.refresh(reg)
    if was != "confirmed":
        return None
    db.execute(
        update(TrainingSession)
        .where(TrainingSession.id == reg.session_id, TrainingSession.seats_taken > 0)
        .values(seats_taken=TrainingSession.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )
    return promote_next(db, reg.session_id)


def promote_next(db: DBSession, session_id: int) -> Registration | None:
    """Move the first waiting registrant into a free seat, if there is one."""
    waiting = db.execute(
        select(Registration)
        .where(Registration.session_id == session_id, Registration.status == "waitlisted")
        .order_by(Registration.created_at, Registration.id)
        .limit(5)
    ).scalars()
    for candidate in waiting:
        seat = db.execute(
            update(TrainingSession)
            .where(
                TrainingSession.id == session_id,
                TrainingSession.seats_taken < TrainingSession.capacity,
            )
            .values(seats_taken=TrainingSession.seats_taken + 1)
            .execution_options(synchronize_session=False)
        )
        if seat.rowcount != 1:  # type: ignore[attr-defined]
            return None
        moved = db.execute(
            update(Registration)
            .where(Registration.id == candidate.id, Registration.status == "waitlisted")
            .values(status="confirmed", confirmed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            db.refresh(candidate)
            return candidate
        # Someone else moved them first: give the seat back and try the next.
        db.execute(
            update(TrainingSession)
            .where(TrainingSession.id == session_id)
            .values(seats_taken=TrainingSession.seats_taken - 1)
            .execution_options(synchronize_session=False)
        )
    return None


def my_registrations(db: DBSession, openid: str, now: datetime) -> list[Registration]:
    query = (
        select(Registration)
        .join(TrainingSession)
        .where(
            Registration.openid == openid,
            Registration.status.in_(ACTIVE),
            TrainingSession.starts_at > now - timedelta(days=1),
        )
        .order_by(TrainingSession.starts_at)
    )
    return list(db.execute(query).scalars())


def cancel_session(db: DBSession, session: TrainingSession) -> list[Registration]:
    """Cancel the whole session; answer the registrations whose holders must be told."""
    # The same row lock a sign-up takes: a registration racing the cancellation either
    # commits first (and is cancelled here) or waits and then finds the session cancelled.
    db.execute(select(TrainingSession.id).where(TrainingSession.id == session.id).with_for_update())
    db.refresh(session)
    session.status = "cancelled"
    rows = list(
        db.execute(
            select(Registration).where(
                Registration.session_id == session.id,
                Registration.status.in_(("confirmed", "waitlisted")),
            )
        ).scalars()
    )
    for row in rows:
        row.status = "cancelled"
        row.cancelled_at = utcnow()
    session.seats_taken = 0
    return rows


def claim_reminder(db: DBSession, reg: Registration) -> bool:
    """Mark a reminder as sent; only one caller ever wins (conditional UPDATE)."""
    result = db.execute(
        update(Registration)
        .where(Registration.id == reg.id, Registration.reminded_at.is_(None))
        .values(reminded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def due_reminders(db: DBSession, now: datetime) -> list[Registration]:
    """Confirmed registrations for sessions starting tomorrow (local date), not yet reminded."""
    tomorrow = (now + timedelta(days=1)).date()
    start = datetime.combine(tomorrow, datetime.min.time())
    end = start + timedelta(days=1)
    query = (
        select(Registration)
        .join(TrainingSession)
        .where(
            TrainingSession.status == "open",
            TrainingSession.starts_at >= start,
            TrainingSession.starts_at < end,
            Registration.status == "confirmed",
            Registration.reminded_at.is_(None),
        )
    )
    return list(db.execute(query).scalars())


def check_in(db: DBSession, code: str) -> Registration | None:
    reg = db.execute(
        select(Registration).where(Registration.checkin_code == code)
    ).scalar_one_or_none()
    if reg is None or reg.status not in ("confirmed", "attended"):
        return None
    if reg.status == "confirmed":
        reg.status = "attended"
        reg.attended_at = utcnow()
    return reg


def new_code() -> str:
    return secrets.token_urlsafe(9)


def last_registration(db: DBSession, openid: str) -> Registration | None:
    """The member's most recent registration: its details pre-fill the next one."""
    query = (
        select(Registration).where(Registration.openid == openid).order_by(Registration.id.desc())
    )
    return db.execute(query).scalars().first()
