"""Deadlines and reminders over every kind: what is overdue or due soon, what is owed today.

The chores (``bot.jobs.cases``) call :func:`owe_reminders` and :func:`note_overdue` once a
round; both are idempotent — a reminder is an outbox row under a unique key, an overdue
note a history row written once per deadline — so a round run twice, or by two workers at
once, adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, select

from bot.extensions import DBSession
from bot.models.cases import Case, CaseEvent
from bot.services import calendar
from bot.services.cases import engine
from bot.services.cases.spec import KINDS, CaseKind, Reminder

DUE_SOON_WORKDAYS = 3
# How far back a reminder's anchor may lie: longer than any kind's reminder window.
_REMINDER_HORIZON_DAYS = 400


def open_clause(kind: CaseKind | None = None) -> ColumnElement[bool]:
    """Cases still being worked on (not in a final state) of ``kind`` or of every kind."""
    kinds = [kind] if kind is not None else list(KINDS.values())
    return and_(
        Case.kind.in_([k.name for k in kinds]),
        Case.status.in_([s for k in kinds for s in k.open_states]),
    )


def overdue_clause(today: date, kind: CaseKind | None = None) -> ColumnElement[bool]:
    return and_(open_clause(kind), Case.due_at.is_not(None), Case.due_at < today)


def due_soon_clause(
    db: DBSession, today: date, kind: CaseKind | None = None
) -> ColumnElement[bool]:
    """Open cases whose deadline is today or within :data:`DUE_SOON_WORKDAYS` working days
    (calendar days when the table does not reach that far)."""
    try:
        horizon = calendar.add_workdays(db, today, DUE_SOON_WORKDAYS)
    except calendar.CalendarGap:
        horizon = today + timedelta(days=DUE_SOON_WORKDAYS + 2)
    return and_(open_clause(kind), Case.due_at >= today, Case.due_at <= horizon)


def is_overdue(case: Case, today: date) -> bool:
    kind = KINDS[case.kind]
    return case.due_at is not None and case.due_at < today and not kind.is_final(case.status)


def owed_reminder(reminder: Reminder, case: Case, today: date) -> int | None:
    """The reminder day owed to ``case`` today (the latest one reached), or None."""
    anchor = reminder.anchor(case)
    if anchor is None or case.status not in reminder.states:
        return None
    elapsed = (today - anchor).days
    if elapsed > reminder.until:
        return None
    reached = [d for d in reminder.days if d <= elapsed]
    return max(reached) if reached else None


def owe_reminders(db: DBSession, today: date) -> int:
    """Add today's reminders of every kind to the outbox; answer how many were new."""
    added = 0
    since = today - timedelta(days=_REMINDER_HORIZON_DAYS)
    for kind in KINDS.values():
        for reminder in kind.reminders:
            rows = db.execute(
                select(Case).where(
                    Case.kind == kind.name,
                    Case.status.in_(reminder.states),
                    Case.openid.is_not(None),
                    Case.created_at >= since,
                )
            ).scalars()
            for case in rows:
                day = owed_reminder(reminder, case, today)
                if day is None:
                    continue
                anchor = reminder.anchor(case)
                assert anchor is not None
                deadline = anchor + timedelta(days=reminder.until)
                if engine.tell(
                    db,
                    case,
                    reminder.template,
                    key=f"case:{case.id}:{reminder.name}:{day}",
                    extra={"day": day, "deadline": deadline, "days_left": (deadline - today).days},
                ):
                    added += 1
    return added


def note_overdue(db: DBSession, today: date) -> int:
    """Write one internal history row for each case that passed its deadline (once per
    deadline): the trace of when it went overdue, for staff and statistics."""
    noted = 0
    for case in db.execute(select(Case).where(overdue_clause(today))).scalars():
        assert case.due_at is not None
        due = case.due_at.isoformat()
        noted_dues = db.execute(
            select(CaseEvent.data).where(
                CaseEvent.case_id == case.id, CaseEvent.action == "overdue"
            )
        ).scalars()
        if any((data or {}).get("due") == due for data in noted_dues):
            continue
        engine.record(db, case, actor=engine.SYSTEM, action="overdue", data={"due": due})
        noted += 1
    return noted
