"""Cases as flat rows for exports: every kind (``flask export cases``), disputes, committees.

The JSON field names are those of docs/CONTRACT.md; the console's CSV/XLSX put Chinese
headers over the same rows. A ``user`` limits the rows to what that user may see (the
console); the CLI, for operators, passes none and gets everything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import AdminUser, Committee, Department
from bot.models.cases import Case
from bot.services.cases import scope

CASE_FIELDS = (
    "number",
    "kind",
    "openid",
    "status",
    "assignee",
    "created_at",
    "due_at",
    "category",
    "committee_id",
    "department_id",
    "user_id",
    "route_rule",
    "closed_at",
)
DISPUTE_FIELDS = (
    "case_no",
    "openid",
    "dispute_type",
    "committee",
    "status",
    "created_at",
    "amount",
    "due_at",
    "closed_at",
    "committee_id",
    "other_party",
    "outcome",
    "route_rule",
)
# CONTRACT.md's appeals fields, then issue 13's (urgency … reopened).
APPEAL_FIELDS = (
    "ticket_no",
    "openid",
    "category",
    "department",
    "status",
    "created_at",
    "urgency",
    "due_at",
    "acknowledged_at",
    "answered_at",
    "solved",
    "rating",
    "reopened",
)
# The console's download adds what staff work with (identity masked where confidential).
APPEAL_CONSOLE_FIELDS = (
    "ticket_no", "title", "category", "urgency", "department", "status", "created_at",
    "due_at", "answer_due", "acknowledged_at", "answered_at", "solved", "rating",
    "reopened", "escalated", "confidential", "company", "credit_code", "contact", "phone",
    "openid",
)  # fmt: skip
# What a confidential appeal hides from anyone but an admin (the department's officers):
# the enterprise's identity, in lists, pages, downloads and 一企一档 alike.
IDENTITY_FIELDS = ("company", "credit_code", "contact", "phone", "openid", "chamber")
MASK = "保密"  # what staff read in place of a hidden value (the console's word for it)
COMMITTEE_FIELDS = ("id", "name", "dispute_types", "chamber_id", "contact", "is_default")
DEPARTMENT_FIELDS = ("id", "name", "categories", "contact", "active")


class Names:
    """Committee, department and person names, each looked up once per export."""

    def __init__(self, db: DBSession) -> None:
        self.committees = {c.id: c.name for c in db.execute(select(Committee)).scalars()}
        self.departments = {d.id: d.name for d in db.execute(select(Department)).scalars()}
        self.users = {u.id: u.username for u in db.execute(select(AdminUser)).scalars()}

    def assignee(self, case: Case) -> str:
        if case.committee_id:
            return self.committees.get(case.committee_id, "")
        if case.department_id:
            return self.departments.get(case.department_id, "")
        return self.users.get(case.user_id or 0, "")


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cases(db: DBSession, user: AdminUser | None, kind: str | None) -> list[Case]:
    query = select(Case).order_by(Case.id)
    if user is not None:
        query = query.where(scope.cases_visible_to(user))
    if kind:
        query = query.where(Case.kind == kind)
    return list(db.execute(query).scalars())


def case_rows(
    db: DBSession, *, kind: str | None = None, user: AdminUser | None = None
) -> list[dict[str, Any]]:
    """Every case (of ``kind``) as CONTRACT.md's ``cases`` rows, plus a few more fields."""
    names = Names(db)
    return [
        {
            "number": c.number,
            "kind": c.kind,
            "openid": MASK if hides_identity(c, user) else c.openid,
            "status": c.status,
            "assignee": names.assignee(c),
            "created_at": _iso(c.created_at),
            "due_at": _iso(c.due_at),
            "category": c.category,
            "committee_id": c.committee_id,
            "department_id": c.department_id,
            "user_id": c.user_id,
            "route_rule": c.route_rule,
            "closed_at": _iso(c.closed_at),
        }
        for c in _cases(db, user, kind)
    ]


def dispute_rows(db: DBSession, *, user: AdminUser | None = None) -> list[dict[str, Any]]:
    """Mediation cases as CONTRACT.md's ``disputes`` rows (+ amount, due_at, closed_at)."""
    names = Names(db)
    return [
        {
            "case_no": c.number,
            "openid": c.openid,
            "dispute_type": c.category,
            "committee": names.committees.get(c.committee_id or 0, ""),
            "status": c.status,
            "created_at": _iso(c.created_at),
            "amount": _amount(c),
            "due_at": _iso(c.due_at),
            "closed_at": _iso(c.closed_at),
            "committee_id": c.committee_id,
            "other_party": (c.data or {}).get("other_party", ""),
            "outcome": c.outcome,
            "route_rule": c.route_rule,
        }
        for c in _cases(db, user, "mediation")
    ]


def committee_rows(db: DBSession) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "name": c.name,
            "dispute_types": list(c.dispute_types or []),
            "chamber_id": c.chamber_id,
            "contact": c.contact,
            "is_default": c.is_default,
        }
        for c in db.execute(select(Committee).order_by(Committee.id)).scalars()
    ]


def department_rows(db: DBSession) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "name": d.name,
            "categories": list(d.categories or []),
            "contact": d.contact,
            "active": d.active,
        }
        for d in db.execute(select(Department).order_by(Department.id)).scalars()
    ]


def hides_identity(case: Case, user: AdminUser | None) -> bool:
    """Whether ``user`` must not see who filed ``case``: a confidential appeal, shown to
    anyone but an admin (``None`` is the operators' CLI, which sees everything)."""
    confidential = case.kind == "appeal" and bool((case.data or {}).get("confidential"))
    return confidential and user is not None and user.role != "admin"


def appeal_rows(db: DBSession, *, user: AdminUser | None = None) -> list[dict[str, Any]]:
    """Appeals as CONTRACT.md's ``appeals`` rows plus issue 13's fields and, for the
    console, the title and the enterprise's identity (masked for a confidential appeal)."""
    names = Names(db)
    out = []
    for c in _cases(db, user, "appeal"):
        data = c.data or {}
        feedback = data.get("feedback") or {}
        row = {
            "ticket_no": c.number,
            "openid": c.openid,
            "title": c.title,
            "category": c.category,
            "urgency": data.get("urgency", ""),
            "department": names.departments.get(c.department_id or 0, ""),
            "status": c.status,
            "created_at": _iso(c.created_at),
            "due_at": _iso(c.due_at),
            "answer_due": data.get("answer_due") or None,
            "acknowledged_at": _iso(c.accepted_at),
            "answered_at": data.get("answered_on") or None,
            "solved": feedback.get("solved") or None,
            "rating": feedback.get("rating") or None,
            "reopened": int(data.get("reopened") or 0),
            "escalated": bool(data.get("escalated")),
            "confidential": bool(data.get("confidential")),
            "company": data.get("company", ""),
            "credit_code": data.get("credit_code", ""),
            "contact": data.get("contact", ""),
            "phone": data.get("phone", ""),
        }
        if hides_identity(c, user):
            row.update({name: MASK for name in IDENTITY_FIELDS if name in row})
        out.append(row)
    return out


def _amount(case: Case) -> float | int | None:
    if case.amount is None:
        return None
    value = case.amount
    return int(value) if value == value.to_integral_value() else float(value)


def kind_rows(
    db: DBSession, kind: str, *, user: AdminUser | None = None
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The rows and fields a kind's download has: its own table where it has one (disputes
    for mediation), else the cases table of that kind."""
    own = KIND_ROWS.get(kind)
    if own is not None:
        make, fields = own
        return make(db, user=user), fields
    return case_rows(db, kind=kind, user=user), CASE_FIELDS


# A kind whose download is a table of its own (CONTRACT.md: disputes, appeals).
KIND_ROWS: dict[str, tuple[Callable[..., list[dict[str, Any]]], tuple[str, ...]]] = {
    "mediation": (dispute_rows, DISPUTE_FIELDS),
    "appeal": (appeal_rows, APPEAL_CONSOLE_FIELDS),
}
