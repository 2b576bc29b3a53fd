"""The case engine: open a case, move it through its kind's table, keep its history, owe the
member their messages.

Every change goes through :func:`perform` (``set_status`` and ``act`` find the transition):
it checks the table (from which state, which role, note and fields required), the user's
scope (a case out of scope is :class:`CaseNotFound`, exactly like a missing one), applies
the kind's hook, moves the clock, writes a :class:`CaseEvent` row and — when the member is
told — an :class:`Outbox` row in the same transaction. Nothing here commits or sends: the
caller commits, then a job sends the outbox (``bot.jobs.outbox``).
"""

from __future__ import annotations

import calendar as month_calendar
import logging
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.errors import HandlerError
from bot.extensions import DBSession
from bot.models import AdminUser, utcnow
from bot.models.cases import Case, CaseEvent
from bot.services import calendar, numbering
from bot.services.cases import outbox, scope
from bot.services.cases.spec import Assignee, CaseKind, Clock, Intake, Step, Transition, kind_of

log = logging.getLogger(__name__)

MEMBER = "member"
INTERNAL = "internal"
SYSTEM = "system"


class CaseRefused(HandlerError):
    """A change the table, the role or the data does not allow; the template (for staff,
    ``replies/cases/staff/<reason>.txt``) says why."""

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(f"replies/cases/staff/{reason}.txt", **context)
        self.reason = reason


class CaseNotFound(LookupError):
    """No such case for this user: missing, or out of their scope (the two are one answer)."""


# -- opening ---------------------------------------------------------------------------------
def open_case(
    db: DBSession,
    kind: CaseKind,
    *,
    openid: str | None,
    today: date,
    data: dict[str, Any],
    category: str = "",
    title: str = "",
    amount: Decimal | float | int | None = None,
    chamber_id: int | None = None,
) -> Case:
    """A new case of ``kind`` in its initial state, numbered, routed, on its clock."""
    case = Case(
        number=numbering.next_number(db, kind.prefix, today),
        kind=kind.name,
        query_code=numbering.query_code(),
        openid=openid,
        status=kind.initial,
        title=title[:200],
        category=category,
        amount=Decimal(str(amount)) if amount not in (None, "") else None,
        chamber_id=chamber_id,
        data=dict(data),
        extensions=0,
    )
    rule, assignee = route(db, kind, Intake(category, chamber_id, data))
    _assign(case, assignee)
    case.route_rule = rule
    db.add(case)
    gap = _start_clock(db, case, kind, today)
    db.flush()
    record(
        db, case, actor=MEMBER, action="submit", to_status=case.status, visibility=MEMBER,
        data={"route_rule": rule, **({"calendar_gap": gap} if gap else {})},
    )  # fmt: skip
    return case


def route(db: DBSession, kind: CaseKind, intake: Intake) -> tuple[str, Assignee]:
    """The first routing rule of ``kind`` that picks an assignee, and what it picked."""
    for rule in kind.routes:
        picked = rule.pick(db, intake)
        if picked is not None:
            return rule.name, picked
    return "unrouted", Assignee()


def _assign(case: Case, who: Assignee) -> None:
    case.committee_id, case.department_id, case.user_id = (
        who.committee_id,
        who.department_id,
        who.user_id,
    )


# -- changing --------------------------------------------------------------------------------
def set_status(
    db: DBSession,
    case: Case,
    to: str,
    user: AdminUser | None,
    note: str = "",
    *,
    today: date,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Move ``case`` to status ``to`` (its name or slug) by the table, as ``user``."""
    kind = kind_of(case)
    target = kind.state(to)
    if target is None:
        raise CaseRefused("unknown_status", status=to, states=[s.name for s in kind.states])
    candidates = [
        t for t in kind.transitions if t.target == target.name and case.status in t.sources
    ]
    if not candidates:
        raise CaseRefused(
            "no_transition", number=case.number, current=case.status, wanted=target.name
        )
    # Of several ways to reach the state, the first this user may make with what was given.
    given = data or {}
    role = user.role if user is not None else ""
    allowed = [t for t in candidates if t.allows(role)] or candidates
    ready = [t for t in allowed if all(given.get(f) not in (None, "") for f in t.fields)]
    return perform(db, case, (ready or allowed)[0], user, note, today=today, data=given)


def act(
    db: DBSession,
    case: Case,
    action: str,
    user: AdminUser | None,
    note: str = "",
    *,
    today: date,
    data: dict[str, Any] | None = None,
    by_member: bool = False,
) -> CaseEvent:
    """Make the named action of the case's kind (``schedule``, ``transfer``, ``note`` …)."""
    transition = kind_of(case).transition(action)
    if transition is None:
        raise CaseRefused("unknown_action", action=action)
    return perform(
        db, case, transition, user, note, today=today, data=data or {}, by_member=by_member
    )


def allowed_actions(case: Case, user: AdminUser | None) -> list[Transition]:
    """The transitions ``user`` may make on ``case`` now (the console's buttons)."""
    if user is None or not user.active or not scope.may_see(case, user):
        return []
    return [
        t for t in kind_of(case).transitions if case.status in t.sources and t.allows(user.role)
    ]


def perform(
    db: DBSession,
    case: Case,
    transition: Transition,
    user: AdminUser | None,
    note: str = "",
    *,
    today: date,
    data: dict[str, Any] | None = None,
    by_member: bool = False,
) -> CaseEvent:
    """Make ``transition`` on ``case`` as ``user`` (None: the system, e.g. a chore).

    ``by_member``: the member made it in the chat (their 回访 answer): the history row is
    theirs and member-visible, and nothing is owed to them — the bot's reply is the message.
    """
    kind = kind_of(case)
    note = (note or "").strip()
    values = {k: v for k, v in (data or {}).items() if v not in (None, "")}
    if user is not None:
        if not user.active or not scope.may_see(case, user):
            raise CaseNotFound(case.number)
        if not transition.allows(user.role):
            raise CaseRefused(
                "role", action=transition.action, role=user.role, username=user.username
            )
    if case.status not in transition.sources:
        raise CaseRefused(
            "no_transition",
            number=case.number,
            current=case.status,
            wanted=transition.target or transition.action,
        )
    if transition.note and not note:
        raise CaseRefused("note_required", action=transition.action)
    missing = [f for f in transition.fields if f not in values]
    if missing:
        raise CaseRefused("fields_required", action=transition.action, fields=missing)
    accepted = set(transition.fields) | set(transition.optional)
    step = Step(
        db=db,
        case=case,
        user=user,
        transition=transition,
        note=note,
        data={k: v for k, v in values.items() if k in accepted},
        today=today,
    )
    if transition.hook is not None:
        transition.hook(step)
    before = case.status
    if transition.target is not None and transition.target != before:
        case.status = transition.target
        if before == kind.initial and not kind.is_final(case.status):
            case.accepted_at = case.accepted_at or utcnow()
        if kind.is_final(case.status):
            case.closed_at = utcnow()
        if case.status in kind.success or case.status in kind.failure:
            case.outcome = "success" if case.status in kind.success else "failure"
            case.settled_at = utcnow()
        if kind.clock(case) is not None:
            gap = _start_clock(db, case, kind, today)
            if gap:
                raise CaseRefused("calendar_gap", year=gap[:4], day=gap)
    case.updated_at = utcnow()
    event = record(
        db,
        case,
        actor=MEMBER if by_member else user.username if user is not None else SYSTEM,
        actor_id=user.id if user is not None else None,
        action=transition.action,
        from_status=before,
        to_status=case.status,
        note=note,
        visibility=MEMBER if transition.tell else INTERNAL,
        data=step.data,
    )
    if transition.tell and case.openid and not by_member:
        tell(db, case, transition.action, event=event, extra=step.context)
    return event


def record(
    db: DBSession,
    case: Case,
    *,
    actor: str,
    action: str,
    actor_id: int | None = None,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    visibility: str = INTERNAL,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append a history row (the only way a case's story is written)."""
    event = CaseEvent(
        case_id=case.id,
        actor=actor,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status or case.status,
        note=note,
        visibility=visibility,
        data=_plain(data or {}),
        at=utcnow(),
    )
    db.add(event)
    db.flush()
    return event


def tell(
    db: DBSession,
    case: Case,
    template: str,
    *,
    event: CaseEvent | None = None,
    key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Owe the member the message ``replies/cases/<kind>/<template>.txt`` about ``case``
    (once per ``key``: by default the history row it reports)."""
    if not case.openid:
        return False
    if key is None and event is None:
        raise ValueError("tell() needs the event it reports or a key of its own")
    kind = kind_of(case)
    context = {
        **member_context(db, case),
        "note": event.note if event is not None else "",
        "event": _plain(event.data) if event is not None else {},
        **_plain(extra or {}),
    }
    fields = {
        "number": case.number,
        "status": case.status,
        "date": (event.at if event is not None else utcnow()).date().isoformat(),
    }
    return outbox.add(
        db,
        key=key or f"case:{case.id}:event:{event.id if event is not None else ''}",
        case_id=case.id,
        openid=case.openid,
        template=kind.template(template),
        context=context,
        fields=fields,
    )


def member_context(db: DBSession, case: Case) -> dict[str, Any]:
    """What a member-visible template may say about ``case`` (plain JSON values)."""
    return {
        "number": case.number,
        "kind": case.kind,
        "status": case.status,
        "category": case.category,
        "query_code": case.query_code,
        "assignee": scope.assignee_name(db, case),
        "due": case.due_at.isoformat() if case.due_at else "",
        "data": _plain(case.data or {}),
    }


# -- clocks ----------------------------------------------------------------------------------
def due_date(db: DBSession, clock: Clock, start: date) -> date:
    """Where ``clock`` started on ``start`` ends (may raise ``calendar.CalendarGap``)."""
    day = add_months(start, clock.months) if clock.months else start
    if clock.workdays:
        day = calendar.add_workdays(db, day, clock.workdays)
    return day


def _start_clock(db: DBSession, case: Case, kind: CaseKind, today: date) -> str:
    """Set ``due_at`` for the state just entered; answer the uncovered day on a gap (the
    case then has no due date until staff add the year)."""
    clock = kind.clock(case)
    if clock is None:
        return ""
    try:
        case.due_at = due_date(db, clock, today)
    except calendar.CalendarGap as gap:
        log.warning("case %s: %s", case.number, gap)
        case.due_at = None
        return gap.day.isoformat()
    # Each state's first deadline is kept: "answered on time" is judged against the deadline
    # as set, not as later extended (the extensions are in the history).
    deadlines = dict((case.data or {}).get("deadlines") or {})
    deadlines.setdefault(case.status, case.due_at.isoformat())
    case.data = {**(case.data or {}), "deadlines": deadlines}
    return ""


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, clipped to the month's end (1月31日 + 1 → 2月28日)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def extend_clock(db: DBSession, case: Case, clock: Clock) -> None:
    """Move the current deadline by ``clock`` once more (an agreed extension); working days
    are counted in the holiday calendar (may raise ``calendar.CalendarGap``)."""
    if case.due_at is None:
        return
    case.due_at = due_date(db, clock, case.due_at)


# -- finding ---------------------------------------------------------------------------------
def by_number(db: DBSession, number: str) -> Case | None:
    found = numbering.find_numbers(number)
    wanted = found[0] if found else number.strip().upper()
    return db.execute(select(Case).where(Case.number == wanted)).scalar_one_or_none()


def visible_case(db: DBSession, number: str, user: AdminUser) -> Case:
    """The case ``number`` if ``user`` may see it; else :class:`CaseNotFound` (one answer for
    missing and out of scope, so a URL reveals nothing)."""
    case = by_number(db, number)
    if case is None or not user.active or not scope.may_see(case, user):
        raise CaseNotFound(number)
    return case


def of_member(db: DBSession, openid: str) -> list[Case]:
    """Every case of the member, of every kind, newest first."""
    return list(
        db.execute(
            select(Case)
            .where(Case.openid == openid)
            .order_by(Case.created_at.desc(), Case.id.desc())
        ).scalars()
    )


def lookup(db: DBSession, number: str, code: str) -> Case | None:
    """The case with ``number`` when ``code`` is its query code (anyone may look it up)."""
    case = by_number(db, number)
    if case is None or not numbering.codes_match(code, case.query_code):
        return None
    return case


def last_member_event(case: Case) -> CaseEvent | None:
    visible = [e for e in case.events if e.visibility == MEMBER]
    return visible[-1] if visible else None


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?")


def revive(value: Any) -> Any:
    """Stored context back for a template: ISO dates and times as ``date``/``datetime``
    again (so ``| when`` shows 12月4日（周五）), everything else as it is."""
    if isinstance(value, dict):
        return {k: revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [revive(v) for v in value]
    if isinstance(value, str):
        if _ISO_DAY.fullmatch(value):
            return date.fromisoformat(value)
        if _ISO_MOMENT.fullmatch(value):
            return datetime.fromisoformat(value)
    return value


def _plain(value: Any) -> Any:
    """JSON-safe copy: dates and decimals as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return value
