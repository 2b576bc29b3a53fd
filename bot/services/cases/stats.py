"""Statistics of one kind for a period, over the cases a user may see.

By category (dispute type) and by assignee (committee): cases received, still open,
solved and not, the success rate as a fraction with its numerator and denominator, the
amounts involved, and the average days from acceptance to the outcome. Federations report
these figures; each rate carries its parts, so a reader can check it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import AdminUser
from bot.models.cases import Case
from bot.services.cases import scope
from bot.services.cases.rows import Names
from bot.services.cases.spec import CaseKind


@dataclass
class Tally:
    """The figures of one group of cases."""

    received: int = 0
    open: int = 0
    success: int = 0
    failure: int = 0
    other: int = 0  # ended without an outcome (不予受理 …)
    amount: Decimal = Decimal(0)  # asked or involved (``case.amount``), every case
    settled_amount: Decimal = Decimal(0)  # ``case.amount`` of the cases solved
    # What the outcomes came to, where a kind records it (``data["outcome_amount"]``: the
    # loan obtained, the investment landed) — beside what was asked, as federations report.
    outcome_amount: Decimal = Decimal(0)
    days: list[int] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.success + self.failure

    @property
    def success_rate(self) -> float | None:
        return self.success / self.decided if self.decided else None

    @property
    def average_days(self) -> float | None:
        return sum(self.days) / len(self.days) if self.days else None

    def add(self, case: Case, kind: CaseKind) -> None:
        self.received += 1
        self.amount += case.amount or 0
        if case.outcome == "success":
            self.success += 1
            self.settled_amount += case.amount or 0
            self.outcome_amount += _outcome_amount(case)
        elif case.outcome == "failure":
            self.failure += 1
        elif kind.is_final(case.status):
            self.other += 1
        else:
            self.open += 1
        if case.outcome and case.settled_at is not None:
            start = case.accepted_at or case.created_at
            self.days.append(max(0, (case.settled_at - start).days))


def _outcome_amount(case: Case) -> Decimal:
    value = (case.data or {}).get("outcome_amount")
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except ArithmeticError:
        return Decimal(0)


@dataclass
class Report:
    kind: str
    start: date | None
    end: date | None
    total: Tally
    by_category: dict[str, Tally]
    by_assignee: dict[str, Tally]


def report(
    db: DBSession,
    kind: CaseKind,
    user: AdminUser | None,
    *,
    start: date | None = None,
    end: date | None = None,
    zone: tzinfo = UTC,
) -> Report:
    """The figures of ``kind`` for cases received from ``start`` to ``end`` (local dates,
    both included) that ``user`` may see (``None``: all, for the CLI)."""
    query = select(Case).where(Case.kind == kind.name)
    if user is not None:
        query = query.where(scope.cases_visible_to(user))
    # Stored times are naive UTC; the period is in the organisation's local days.
    if start is not None:
        query = query.where(Case.created_at >= _utc(start, zone))
    if end is not None:
        query = query.where(Case.created_at < _utc(end + timedelta(days=1), zone))
    cases: Iterable[Case] = db.execute(query.order_by(Case.id)).scalars()
    names = Names(db)
    total = Tally()
    by_category: dict[str, Tally] = defaultdict(Tally)
    by_assignee: dict[str, Tally] = defaultdict(Tally)
    for case in cases:
        total.add(case, kind)
        by_category[case.category or "—"].add(case, kind)
        by_assignee[names.assignee(case) or "—"].add(case, kind)
    ordered = {c: by_category[c] for c in kind.categories if c in by_category}
    ordered.update({c: t for c, t in by_category.items() if c not in ordered})
    return Report(
        kind.name,
        start,
        end,
        total,
        ordered,
        dict(sorted(by_assignee.items(), key=lambda item: -item[1].received)),
    )


def _utc(day: date, zone: tzinfo) -> datetime:
    """Local midnight of ``day`` as naive UTC (how ``created_at`` is stored)."""
    return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)
