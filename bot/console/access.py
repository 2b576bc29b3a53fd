"""Who may open which console page, and which records they see there.

Ours, not a library's. A user's *role* (:data:`ROLES`) decides the pages: each view declares
the roles it admits with :func:`require` (``admin`` is always admitted), and the parent
blueprint's gate refuses a console view that declares none. A user's *binding* to a
committee or department decides the records: :func:`scoped` is the one place a query is
narrowed, for lists and single-record lookups (:func:`get_or_404`) alike, so a record out of
scope answers 404 exactly as a missing one does and its URL tells nobody that it exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import ColumnElement, Join, Select, Table, false, select
from sqlalchemy.sql import FromClause

from bot.extensions import db, login_manager
from bot.models import AdminUser, Handoff

ROLES = ("admin", "mediator", "officer", "editor", "lawyer", "bank", "agent")
EVERYONE = ROLES
# lawyer, bank and agent (法律服务、金融服务、代办) take up service cases: until the case engine
# gives them a queue, they see the dashboard only.

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")
S = TypeVar("S", bound=Select[Any])
# A scope rule: the condition a user's rows of one table meet, or None for all of them.
Rule = Callable[[AdminUser], ColumnElement[bool] | None]
_RULES: dict[Table, Rule] = {}


def allowed(user: Any, roles: Iterable[str]) -> bool:
    """Whether ``user`` (signed in or anonymous) holds one of ``roles``; ``admin`` always does."""
    role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
    return role is not None and (role == "admin" or role in roles)


def require(*roles: str) -> Callable[[F], F]:
    """Admit only signed-in users holding one of ``roles`` (``admin`` always); 403 for others."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown console roles {sorted(unknown)}; known: {ROLES}")
    admitted = frozenset(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not allowed(current_user, admitted):
                abort(403)
            return view(*args, **kwargs)

        guarded.console_roles = admitted  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


def public(view: F) -> F:
    """Mark a console view that needs no sign-in (the sign-in page itself)."""
    view.console_public = True  # type: ignore[attr-defined]
    return view


def roles_of(endpoint: str) -> frozenset[str] | None:
    """The roles the view of ``endpoint`` admits, or None when it declares none."""
    view = current_app.view_functions.get(endpoint)
    roles: frozenset[str] | None = getattr(view, "console_roles", None)
    return roles


def can_open(user: Any, endpoint: str) -> bool:
    """Whether ``user`` may open the page of ``endpoint`` (for links on other pages)."""
    roles = roles_of(endpoint)
    return roles is not None and allowed(user, roles)


def gate() -> ResponseReturnValue | None:
    """Before every console request: sign-in first, and no view that forgot its roles."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "console_public", False):
        return None
    if not current_user.is_authenticated:
        refusal: ResponseReturnValue = login_manager.unauthorized()
        return refusal
    if getattr(view, "console_roles", None) is None:
        abort(403)  # a view that says nothing about who may open it opens to nobody
    return None


# -- scope ------------------------------------------------------------------------------------
def rule(model: type[Any]) -> Callable[[Rule], Rule]:
    """Register the scope rule of ``model``'s table (one per table)."""

    def register(fn: Rule) -> Rule:
        table = model.__table__
        if table in _RULES:
            raise ValueError(f"a scope rule for {table.name} is already registered")
        _RULES[table] = fn
        return fn

    return register


def scoped(query: S, user: Any) -> S:
    """``query`` narrowed to the rows ``user`` may see, for every table it reads from.

    Tables without a rule are not narrowed: who may open their pages at all is the role's
    business (:func:`require`). Anyone but a signed-in staff account sees no scoped row.
    """
    for table in _tables(query):
        fn = _RULES.get(table)
        if fn is None:
            continue
        condition = fn(user) if isinstance(user, AdminUser) else false()
        if condition is not None:
            query = query.where(condition)
    return query


def get_or_404(model: type[M], ident: int, user: Any = None) -> M:
    """Row ``ident`` of ``model`` if ``user`` (default: the signed-in one) may see it; else 404."""
    who = current_user if user is None else user
    query = scoped(select(model).where(model.id == ident), who)  # type: ignore[attr-defined]
    row: M | None = db.session.execute(query).scalar_one_or_none()
    if row is None:
        abort(404)
    return row


def _tables(query: Select[Any]) -> Iterator[Table]:
    def walk(clause: FromClause) -> Iterator[Table]:
        if isinstance(clause, Table):
            yield clause
        elif isinstance(clause, Join):
            yield from walk(clause.left)
            yield from walk(clause.right)

    for clause in query.get_final_froms():
        yield from walk(clause)


@rule(Handoff)
def _handoffs(user: AdminUser) -> ColumnElement[bool] | None:
    # Officers (and admins) run the hand-off desk; a mediator sees the hand-offs routed to
    # their committee only: an unbound mediator, and any other role, sees none.
    if user.role in ("admin", "officer"):
        return None
    if user.role == "mediator" and user.committee_id is not None:
        return Handoff.committee_id == user.committee_id
    return false()
