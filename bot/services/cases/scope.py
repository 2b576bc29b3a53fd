"""Who sees which cases: admins all; a mediator their committee's, an officer their
department's, a lawyer, bank or 代办员 the cases assigned to them.

The console's ``scoped(query, user)`` adds :func:`cases_visible_to` to every case query
(lists, counts, exports, statistics), and a case page asks :func:`may_see`; the two say the
same thing, one in SQL and one in Python.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select, true

from bot.extensions import DBSession
from bot.models import AdminUser, Committee, Department
from bot.models.cases import Case

ADMIN = "admin"
# role → the case column that must equal the user's own id of that kind
BY_COMMITTEE = frozenset({"mediator"})
BY_DEPARTMENT = frozenset({"officer"})
BY_PERSON = frozenset({"lawyer", "bank", "agent"})


def cases_visible_to(user: AdminUser | None) -> ColumnElement[bool]:
    """A WHERE clause: the cases ``user`` may see (none for a missing or inactive user)."""
    if user is None or not user.active:
        return false()
    if user.role == ADMIN:
        return true()
    if user.role in BY_COMMITTEE:
        return Case.committee_id == user.committee_id if user.committee_id else false()
    if user.role in BY_DEPARTMENT:
        return Case.department_id == user.department_id if user.department_id else false()
    if user.role in BY_PERSON:
        return Case.user_id == user.id
    return false()


def may_see(case: Case, user: AdminUser | None) -> bool:
    """The same rule as :func:`cases_visible_to`, for one case already loaded."""
    if user is None or not user.active:
        return False
    if user.role == ADMIN:
        return True
    if user.role in BY_COMMITTEE:
        return bool(user.committee_id) and case.committee_id == user.committee_id
    if user.role in BY_DEPARTMENT:
        return bool(user.department_id) and case.department_id == user.department_id
    if user.role in BY_PERSON:
        return case.user_id == user.id
    return False


def visible(user: AdminUser | None, kind: str | None = None) -> Select[tuple[Case]]:
    """``SELECT cases`` the user may see (of one kind), newest first."""
    query = select(Case).where(cases_visible_to(user))
    if kind:
        query = query.where(Case.kind == kind)
    return query.order_by(Case.created_at.desc(), Case.id.desc())


def assignee_name(db: DBSession, case: Case) -> str:
    """The committee, department or person a case is with, as staff and members read it."""
    parts: list[Committee | Department | None] = []
    if case.committee_id:
        parts.append(db.get(Committee, case.committee_id))
    if case.department_id:
        parts.append(db.get(Department, case.department_id))
    names = [p.name for p in parts if p is not None]
    if not names and case.user_id:
        person = db.get(AdminUser, case.user_id)
        if person is not None:
            names.append(getattr(person, "display_name", "") or person.username)
    return "、".join(names)
