"""The service rosters kept by staff: lawyers and law firms (法治体检), partner banks (融资对接),
代办员 (商会代办). A row may name the console user who works its cases; that user's role must
be the roster's (``lawyer``, ``bank``, ``agent``), since scope gives them exactly the cases
assigned to them. Nothing here commits."""

from __future__ import annotations

from sqlalchemy import select

from bot.errors import HandlerError
from bot.extensions import DBSession
from bot.models import AdminUser, Chamber, Provider
from bot.models.services import PROVIDER_KINDS


class RosterRefused(HandlerError):
    """A roster row that cannot be kept; the template (``replies/cases/staff/<reason>.txt``)
    says why."""

    def __init__(self, reason: str, **context: object) -> None:
        super().__init__(f"replies/cases/staff/{reason}.txt", **context)
        self.reason = reason


def listed(db: DBSession, kind: str | None = None) -> list[Provider]:
    query = select(Provider).order_by(Provider.kind, Provider.id)
    if kind:
        query = query.where(Provider.kind == kind)
    return list(db.execute(query).scalars())


def add(
    db: DBSession,
    kind: str,
    name: str,
    *,
    user: AdminUser | None = None,
    organisation: str = "",
    contact: str = "",
    chamber: Chamber | None = None,
) -> Provider:
    """A new roster row (``user`` must hold the roster's role)."""
    if kind not in PROVIDER_KINDS:
        raise RosterRefused("roster_kind", kind=kind, kinds=list(PROVIDER_KINDS))
    name = name.strip()
    if not name:
        raise RosterRefused("roster_name")
    if user is not None and user.role != kind:
        raise RosterRefused("roster_role", username=user.username, role=user.role, kind=kind)
    row = Provider(
        kind=kind,
        name=name[:200],
        organisation=organisation.strip()[:200],
        contact=contact.strip()[:200],
        user_id=user.id if user is not None else None,
        chamber_id=chamber.id if chamber is not None else None,
        active=True,
    )
    db.add(row)
    db.flush()
    return row
