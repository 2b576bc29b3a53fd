"""Reminders and a daily digest for staff, for every kind that declares ``remind_staff``.

In those states the assignee's staff owe the next step (an appeal's department owes the
acknowledgement, then the answer). The officers (or mediators) bound to the assignee who
have bound their own WeChat (``AdminUser.openid``) are reminded through the outbox, like a
member: the working day before the deadline, and every working day after it until the case
moves on. Each reminder is an outbox row under a unique key (one per case, person and
deadline — or day, once overdue), and each round that reminds anyone writes one internal
history row, so a chore run twice, or by two workers, adds nothing.

The digest is one message a working day per member of staff: what is due soon, overdue,
or waiting to be acknowledged in their scope; an admin's also lists the escalated appeals
and the extensions waiting for approval. The console's appeals list shows the same digest
as 今日待办 (:func:`digest_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import AdminUser
from bot.models.cases import Case
from bot.services import calendar
from bot.services.cases import engine, outbox, scope
from bot.services.cases.clocks import DUE_SOON_WORKDAYS
from bot.services.cases.spec import KINDS, CaseKind

TEMPLATES = "replies/cases/staff_reminders"
BEFORE, OVERDUE = "before", "overdue"
# How many cases a digest message names in each group (the counts are always complete).
DIGEST_ITEMS = 5
# How far back an overdue case is still chased every working day.
_HORIZON_DAYS = 400
ADMIN = "admin"


def staff_kinds() -> list[CaseKind]:
    return [kind for kind in KINDS.values() if kind.remind_staff]


def recipients(db: DBSession, case: Case) -> list[AdminUser]:
    """The active staff bound to the case's assignee who have bound their WeChat."""
    query = select(AdminUser).where(AdminUser.active.is_(True), AdminUser.openid.is_not(None))
    if case.department_id:
        query = query.where(
            AdminUser.role.in_(scope.BY_DEPARTMENT), AdminUser.department_id == case.department_id
        )
    elif case.committee_id:
        query = query.where(
            AdminUser.role.in_(scope.BY_COMMITTEE), AdminUser.committee_id == case.committee_id
        )
    elif case.user_id:
        query = query.where(AdminUser.id == case.user_id)
    else:
        return []
    return list(db.execute(query.order_by(AdminUser.id)).scalars())


def owed_today(db: DBSession, case: Case, today: date) -> str | None:
    """``before`` on the working day before the deadline, ``overdue`` on every working day
    after it, else None (weekends, holidays, the deadline day itself, no deadline)."""
    if case.due_at is None:
        return None
    try:
        if not calendar.is_workday(db, today):
            return None
        if case.due_at < today:
            return OVERDUE
        if case.due_at > today and calendar.add_workdays(db, today, 1) == case.due_at:
            return BEFORE
    except calendar.CalendarGap:
        return None
    return None


def _context(db: DBSession, case: Case, today: date, which: str) -> dict[str, Any]:
    assert case.due_at is not None
    try:
        late = calendar.workdays_between(db, case.due_at, today) if which == OVERDUE else 0
    except (calendar.CalendarGap, ValueError):
        late = (today - case.due_at).days
    # No identity here: a confidential appeal's officers never learn who filed it.
    return {
        "number": case.number,
        "kind": case.kind,
        "title": case.title,
        "category": case.category,
        "status": case.status,
        "due": case.due_at.isoformat(),
        "late_workdays": late,
        "assignee": scope.assignee_name(db, case),
    }


def remind(db: DBSession, today: date) -> int:
    """Owe today's staff reminders; answer how many outbox rows were new."""
    added = 0
    since = today - timedelta(days=_HORIZON_DAYS)
    for kind in staff_kinds():
        rows = db.execute(
            select(Case)
            .where(
                Case.kind == kind.name,
                Case.status.in_(kind.remind_staff),
                Case.due_at.is_not(None),
                Case.due_at >= since,
                Case.due_at <= today + timedelta(days=15),
            )
            .order_by(Case.id)
        ).scalars()
        for case in rows:
            which = owed_today(db, case, today)
            if which is None:
                continue
            assert case.due_at is not None
            # Before: once per deadline; overdue: once per working day.
            stamp = case.due_at.isoformat() if which == BEFORE else today.isoformat()
            context = _context(db, case, today, which)
            told = []
            for user in recipients(db, case):
                assert user.openid is not None
                if outbox.add(
                    db,
                    key=f"staff:{case.id}:{user.id}:{which}:{stamp}",
                    case_id=case.id,
                    openid=user.openid,
                    template=f"{TEMPLATES}/{which}.txt",
                    context={**context, "staff": user.username},
                    fields={"number": case.number, "status": case.status, "date": stamp},
                ):
                    told.append(user.username)
            if told:
                added += len(told)
                engine.record(
                    db,
                    case,
                    actor=engine.SYSTEM,
                    action="staff_reminder",
                    data={"reminder": which, "due": case.due_at.isoformat(), "to": told},
                )
    return added


@dataclass
class Digest:
    """What one member of staff has waiting today, in their scope."""

    overdue: list[Case] = field(default_factory=list)
    due_soon: list[Case] = field(default_factory=list)
    waiting: list[Case] = field(default_factory=list)  # not yet acknowledged (initial state)
    escalated: list[Case] = field(default_factory=list)  # admins: a second 不满意
    extension: list[Case] = field(default_factory=list)  # admins: waiting for approval

    @property
    def total(self) -> int:
        return len({c.id for group in self.groups().values() for c in group})

    def groups(self) -> dict[str, list[Case]]:
        return {
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "waiting": self.waiting,
            "escalated": self.escalated,
            "extension": self.extension,
        }


def _horizon(db: DBSession, today: date) -> date:
    try:
        return calendar.add_workdays(db, today, DUE_SOON_WORKDAYS)
    except calendar.CalendarGap:
        return today + timedelta(days=DUE_SOON_WORKDAYS + 2)


def digest_for(
    db: DBSession, user: AdminUser, today: date, kinds: list[CaseKind] | None = None
) -> Digest:
    """The digest of ``user``: the open cases of the staff-reminded kinds in their scope."""
    digest = Digest()
    chosen = kinds if kinds is not None else staff_kinds()
    if not chosen:
        return digest
    horizon = _horizon(db, today)
    rows = db.execute(
        select(Case)
        .where(
            Case.kind.in_([k.name for k in chosen]),
            Case.status.in_([s for k in chosen for s in k.open_states]),
            scope.cases_visible_to(user),
        )
        .order_by(Case.due_at, Case.id)
    ).scalars()
    for case in rows:
        kind = KINDS[case.kind]
        data = case.data or {}
        owed = case.status in kind.remind_staff
        if owed and case.due_at is not None and case.due_at < today:
            digest.overdue.append(case)
        elif owed and case.due_at is not None and case.due_at <= horizon:
            digest.due_soon.append(case)
        if case.status == kind.initial:
            digest.waiting.append(case)
        if user.role == ADMIN and data.get("escalated"):
            digest.escalated.append(case)
        if user.role == ADMIN and data.get("extension_request"):
            digest.extension.append(case)
    return digest


def _item(case: Case) -> dict[str, str]:
    return {
        "number": case.number,
        "title": case.title,
        "due": case.due_at.isoformat() if case.due_at else "",
        "status": case.status,
    }


def send_digests(db: DBSession, today: date, service: str) -> int:
    """Owe each member of staff with a bound WeChat today's digest (working days only, once
    a day, none when nothing waits); ``service`` names it in a template message."""
    try:
        if not calendar.is_workday(db, today):
            return 0
    except calendar.CalendarGap:
        return 0
    kinds = staff_kinds()
    added = 0
    staff = db.execute(
        select(AdminUser)
        .where(AdminUser.active.is_(True), AdminUser.openid.is_not(None))
        .order_by(AdminUser.id)
    ).scalars()
    for user in staff:
        digest = digest_for(db, user, today, kinds)
        if not digest.total:
            continue
        assert user.openid is not None
        context: dict[str, Any] = {
            "staff": user.username,
            "today": today.isoformat(),
            "total": digest.total,
            **{
                name: {"count": len(cases), "items": [_item(c) for c in cases[:DIGEST_ITEMS]]}
                for name, cases in digest.groups().items()
            },
        }
        if outbox.add(
            db,
            key=f"digest:{user.id}:{today.isoformat()}",
            openid=user.openid,
            template=f"{TEMPLATES}/digest.txt",
            context=context,
            fields={
                "number": today.strftime("%Y%m%d"),
                "service": service,
                "status": str(digest.total),
                "date": today.isoformat(),
            },
        ):
            added += 1
    return added
