"""The figures federations report on appeals, for a period, in total, per category and per
department — each rate with its numerator and denominator, so a reader can check it.

The period is of submission (local dates, both included), over the appeals a user may see.
What each figure counts:

* **received** (收到): appeals submitted in the period; **returned** (退回), **closed** (已办结),
  **open** (still being worked on), **overdue** (the department owes the next step and its
  current deadline has passed),
  **escalated** (a second 不满意 sent it to an admin).
* **响应率** (``acknowledged_in_time``): appeals the department answered at intake — acknowledged
  or returned — on or before the acknowledgement deadline, over those it answered plus
  those still waiting past that deadline (appeals still inside their window are not
  counted yet).
* **解决率** (``solved``): the enterprise's own latest 回访 answer 已解决, over appeals with a
  回访 answer.
* **满意率** (``satisfied``): latest rating 满意 or 基本满意, over appeals rated.
* **按期答复率** (``answered_on_time``): first answer on or before the date promised at
  submission (``data["answer_due"]``, not as later extended), over appeals answered plus
  open ones not answered by that date.
* **办结率** (``closed``): 已办结 over appeals received and not returned.
* **average working days to answer**: from the day of submission to the first answer,
  counted in the holiday calendar (``calendar.workdays_between``).
* **reopened** (重办): appeals reopened at least once, and the reopenings in all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import AdminUser
from bot.models.cases import Case, CaseEvent
from bot.services import calendar
from bot.services.cases import scope
from bot.services.cases.rows import Names

NAME = "appeal"
SUBMITTED, CLOSED, RETURNED = "已提交", "已办结", "退回"
# Overdue counts where the department owes the next step (not the enterprise's 回访 window).
OWED = ("已提交", "已受理", "办理中")
GOOD_RATINGS = frozenset({"满意", "基本满意"})
RESPONSES = frozenset({"acknowledge", "return"})
# The rates, in the order they are shown: identifier → (numerator, denominator) attributes.
RATES = {
    "acknowledged_in_time": ("responded_in_time", "response_counted"),
    "solved": ("solved", "with_feedback"),
    "satisfied": ("satisfied", "rated"),
    "answered_on_time": ("answered_on_time", "answer_counted"),
    "closed": ("closed", "accepted"),
}


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_tuple(self) -> tuple[int, int]:
        return (self.numerator, self.denominator)


@dataclass
class Tally:
    """The figures of one group of appeals."""

    received: int = 0
    returned: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    reopened: int = 0
    reopenings: int = 0
    responded_in_time: int = 0
    response_counted: int = 0
    solved: int = 0
    with_feedback: int = 0
    satisfied: int = 0
    rated: int = 0
    answered_on_time: int = 0
    answer_counted: int = 0
    answer_days: list[int] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.received - self.returned

    @property
    def average_answer_days(self) -> float | None:
        return sum(self.answer_days) / len(self.answer_days) if self.answer_days else None

    def rate(self, name: str) -> Rate:
        numerator, denominator = RATES[name]
        return Rate(int(getattr(self, numerator)), int(getattr(self, denominator)))

    @property
    def rates(self) -> dict[str, Rate]:
        return {name: self.rate(name) for name in RATES}

    def add(self, fact: Facts) -> None:
        self.received += 1
        self.returned += fact.status == RETURNED
        self.closed += fact.status == CLOSED
        self.open += fact.status not in (RETURNED, CLOSED)
        self.overdue += fact.overdue
        self.escalated += fact.escalated
        self.reopened += fact.reopenings > 0
        self.reopenings += fact.reopenings
        if fact.responded_in_time is not None:
            self.response_counted += 1
            self.responded_in_time += fact.responded_in_time
        if fact.solved:
            self.with_feedback += 1
            self.solved += fact.solved == "已解决"
        if fact.rating:
            self.rated += 1
            self.satisfied += fact.rating in GOOD_RATINGS
        if fact.answered_on_time is not None:
            self.answer_counted += 1
            self.answered_on_time += fact.answered_on_time
        if fact.answer_days is not None:
            self.answer_days.append(fact.answer_days)


@dataclass(frozen=True)
class Facts:
    """What the figures need to know of one appeal (``None``: not counted in that rate)."""

    status: str
    overdue: bool
    escalated: bool
    reopenings: int
    responded_in_time: bool | None
    solved: str
    rating: str
    answered_on_time: bool | None
    answer_days: int | None


@dataclass
class Report:
    start: date | None
    end: date | None
    total: Tally
    by_category: dict[str, Tally]
    by_department: dict[str, Tally]


def _utc(day: date, zone: tzinfo) -> datetime:
    """Local midnight of ``day`` as naive UTC (how times are stored)."""
    return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def appeals_of(
    db: DBSession,
    user: AdminUser | None,
    start: date | None,
    end: date | None,
    zone: tzinfo,
) -> list[Case]:
    """The appeals submitted from ``start`` to ``end`` that ``user`` may see (None: all)."""
    query = select(Case).where(Case.kind == NAME)
    if user is not None:
        query = query.where(scope.cases_visible_to(user))
    if start is not None:
        query = query.where(Case.created_at >= _utc(start, zone))
    if end is not None:
        query = query.where(Case.created_at < _utc(end + timedelta(days=1), zone))
    return list(db.execute(query.order_by(Case.id)).scalars())


def facts(db: DBSession, case: Case, today: date, zone: tzinfo) -> Facts:
    """One appeal's part in the figures, as of ``today``."""
    data = case.data or {}
    submitted = _local_day(case.created_at, zone)
    final = case.status in (CLOSED, RETURNED)
    # 响应: the first acknowledgement or return, against the first acknowledgement deadline.
    ack_due = _day((data.get("deadlines") or {}).get(SUBMITTED))
    responses = db.execute(
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.action.in_(RESPONSES))
        .order_by(CaseEvent.at, CaseEvent.id)
        .limit(1)
    ).scalar_one_or_none()
    responded: bool | None = None
    if ack_due is not None:
        if responses is not None:
            responded = _local_day(responses, zone) <= ack_due
        elif ack_due < today:
            responded = False
    # 答复: the first answer against the date promised at submission.
    promised = _day(data.get("answer_due"))
    answered = _day(data.get("answered_on"))
    on_time: bool | None = None
    if promised is not None and case.status != RETURNED:
        if answered is not None:
            on_time = answered <= promised
        elif not final and promised < today:
            on_time = False
    days: int | None = None
    if answered is not None:
        try:
            days = calendar.workdays_between(db, submitted, answered)
        except (calendar.CalendarGap, ValueError):
            days = None
    feedback = data.get("feedback") or {}
    return Facts(
        status=case.status,
        overdue=case.status in OWED and case.due_at is not None and case.due_at < today,
        escalated=bool(data.get("escalated")),
        reopenings=int(data.get("reopened") or 0),
        responded_in_time=responded,
        solved=str(feedback.get("solved") or ""),
        rating=str(feedback.get("rating") or ""),
        answered_on_time=on_time,
        answer_days=days,
    )


def report(
    db: DBSession,
    user: AdminUser | None,
    *,
    start: date | None = None,
    end: date | None = None,
    today: date,
    zone: tzinfo = UTC,
    categories: tuple[str, ...] = (),
) -> Report:
    """The figures of appeals submitted from ``start`` to ``end`` that ``user`` may see."""
    names = Names(db)
    total = Tally()
    by_category: dict[str, Tally] = defaultdict(Tally)
    by_department: dict[str, Tally] = defaultdict(Tally)
    for case in appeals_of(db, user, start, end, zone):
        fact = facts(db, case, today, zone)
        total.add(fact)
        by_category[case.category or "—"].add(fact)
        by_department[names.departments.get(case.department_id or 0, "") or "—"].add(fact)
    ordered = {c: by_category[c] for c in categories if c in by_category}
    ordered.update({c: t for c, t in by_category.items() if c not in ordered})
    return Report(
        start,
        end,
        total,
        ordered,
        dict(sorted(by_department.items(), key=lambda item: -item[1].received)),
    )


def rates(
    db: DBSession,
    start: date | None,
    end: date | None,
    user: AdminUser | None,
    *,
    today: date | None = None,
    zone: tzinfo = UTC,
) -> dict[str, tuple[int, int]]:
    """Each rate of the period as (numerator, denominator), for the dashboard and reports."""
    figures = report(
        db, user, start=start, end=end, today=today or datetime.now(zone).date(), zone=zone
    )
    return {name: rate.as_tuple() for name, rate in figures.total.rates.items()}
