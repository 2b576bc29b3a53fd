"""What the service kinds share: the rosters (lawyers, partner banks, 代办员) as assignees,
and the department a service's requests go to first.

A roster row (:class:`~bot.models.Provider`) may name the console user who works its cases
(role ``lawyer``, ``bank`` or ``agent``, who sees exactly the cases assigned to them); a
row without one is worked by the department's staff, who pass the request on themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.models import Department, Provider
from bot.services.cases.engine import CaseRefused
from bot.services.cases.spec import Assignee, Intake, Step

if TYPE_CHECKING:
    from bot.extensions import DBSession
    from bot.models.cases import Case

Choices = Callable[["DBSession", "Case"], list[tuple[str, str]]]


def providers(db: DBSession, kind: str, chamber_id: int | None = None) -> list[Provider]:
    """The active roster rows of ``kind`` (of one chamber when given), in roster order."""
    query = select(Provider).where(Provider.kind == kind, Provider.active.is_(True))
    if chamber_id is not None:
        query = query.where(Provider.chamber_id == chamber_id)
    return list(db.execute(query.order_by(Provider.id)).scalars())


def of_user(db: DBSession, kind: str, user_id: int | None) -> Provider | None:
    """The roster row of ``kind`` a console user works as (the 代办员 a case went to)."""
    if user_id is None:
        return None
    query = select(Provider).where(Provider.kind == kind, Provider.user_id == user_id)
    return db.execute(query.order_by(Provider.id)).scalars().first()


def label(provider: Provider) -> str:
    """The name members and staff read: 张律师（示范律师事务所）, 示范农村商业银行."""
    if provider.organisation and provider.organisation not in provider.name:
        return f"{provider.name}（{provider.organisation}）"
    return provider.name


def choices(kind: str) -> Choices:
    """The console's options for picking a ``kind`` provider for a case."""

    def pick(db: DBSession, case: Case) -> list[tuple[str, str]]:
        return [(str(p.id), label(p)) for p in providers(db, kind)]

    return pick


def assign(step: Step, kind: str, field: str = "provider_id") -> Provider:
    """Give the case to the roster row ``step.data[field]`` names (its user sees it now)."""
    try:
        provider = step.db.get(Provider, int(step.data[field]))
    except (TypeError, ValueError, KeyError):
        provider = None
    if provider is None or provider.kind != kind or not provider.active:
        raise CaseRefused("unknown_provider", value=str(step.data.get(field, "")))
    data: dict[str, Any] = dict(step.case.data or {})
    data["provider"] = {"id": provider.id, "name": label(provider), "contact": provider.contact}
    step.case.data = data
    if provider.user_id is not None:
        step.case.user_id = provider.user_id
    step.data[field] = provider.id
    step.context.update(provider=label(provider), provider_contact=provider.contact)
    return provider


def take(step: Step, role: str) -> None:
    """A roster user of ``role`` acting on a case takes it as theirs."""
    if step.user is not None and step.user.role == role:
        step.case.user_id = step.user.id


def department_route(*tags: str) -> Callable[[DBSession, Intake], Assignee | None]:
    """A routing rule: the first active department whose categories name one of ``tags``
    (in the order given)."""

    def pick(db: DBSession, intake: Intake) -> Assignee | None:
        rows = _departments(db)
        for tag in tags:
            for row in rows:
                if tag in _categories(row):
                    return Assignee(department_id=row.id)
        return None

    return pick


def default_department(db: DBSession, intake: Intake) -> Assignee | None:
    """What no department claims: the one that takes 其他, else the first."""
    rows = _departments(db)
    for wanted in ([d for d in rows if "其他" in _categories(d)], rows):
        if wanted:
            return Assignee(department_id=wanted[0].id)
    return None


def _departments(db: DBSession) -> list[Department]:
    return list(
        db.execute(
            select(Department).where(Department.active.is_(True)).order_by(Department.id)
        ).scalars()
    )


def _categories(department: Department) -> list[str]:
    value = department.categories or []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def with_department(
    person: Callable[[DBSession, Intake], Assignee | None],
    department: Callable[[DBSession, Intake], Assignee | None],
) -> Callable[[DBSession, Intake], Assignee | None]:
    """A rule that gives the case to a person *and* keeps a department on it (staff watch
    over what roster users work): both answers combined, or None when no person is found."""

    def pick(db: DBSession, intake: Intake) -> Assignee | None:
        who = person(db, intake)
        if who is None:
            return None
        unit = department(db, intake) or default_department(db, intake)
        return Assignee(
            committee_id=who.committee_id,
            department_id=unit.department_id if unit is not None else None,
            user_id=who.user_id,
        )

    return pick
