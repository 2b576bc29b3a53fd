"""一企一档: one page per enterprise with all its appeals and its cases of every kind.

An enterprise is found by the member's openid (``/admin/enterprises/member/<openid>``) or by
its company name (``/admin/enterprises/company?name=…``: the cases that name it, and the
cases of the members of that company). Linked from each case page and from the members
list. What a user sees is their scope (``scope.cases_visible_to``); a confidential appeal
is left out for anyone but an admin — listing it under the enterprise would name it. An
enterprise the user may see nothing of (no case in scope, and no roster access for its
member record) is a 404, like one that does not exist.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console import access, cases
from bot.console.common import local_now, render, sql, staff
from bot.models import AdminUser, Member
from bot.models.cases import Case
from bot.services.cases import KINDS, rows, scope
from bot.services.cases.clocks import is_overdue

bp = Blueprint("enterprises", __name__)
# Everyone who works on cases of some kind, as the kinds' tables name them.
ROLES = tuple(sorted({role for kind in KINDS.values() for role in cases.kind_roles(kind)}))
MAX_NAME = 100


def _may_read_roster(user: AdminUser) -> bool:
    # The member roster is the members area's: who may not open it sees a member here only
    # beside a case of theirs they may see.
    return access.can_open(user, "admin.members.index")


def _visible(user: AdminUser, cases_found: list[Case]) -> list[Case]:
    return [c for c in cases_found if scope.may_see(c, user) and not rows.hides_identity(c, user)]


def _scoped_cases(user: AdminUser) -> list[Case]:
    query = select(Case).where(scope.cases_visible_to(user), Case.kind.in_(list(KINDS)))
    return list(sql().execute(query.order_by(Case.created_at.desc(), Case.id.desc())).scalars())


def _page(title: str, members: list[Member], found: list[Case], **more: Any) -> str:
    today = local_now().date()
    names = rows.Names(sql())
    by_kind = Counter(c.kind for c in found)
    return render(
        "enterprises/dossier.html",
        title=title,
        members=members,
        cases=found,
        by_kind=[(KINDS[k], cases.label(KINDS[k]), n) for k, n in by_kind.most_common()],
        label_of=lambda c: cases.label(KINDS[c.kind]),
        case_url=lambda c: cases.endpoint(KINDS[c.kind], "case"),
        assignee=names.assignee,
        overdue=lambda c: is_overdue(c, today),
        open_count=sum(1 for c in found if not KINDS[c.kind].is_final(c.status)),
        companies=sorted({str((c.data or {}).get("company") or "") for c in found} - {""}),
        **more,
    )


@bp.route("/member/<openid>", endpoint="member")
@access.require(*ROLES)
def by_member(openid: str) -> ResponseReturnValue:
    user = staff()
    openid = openid[:64]
    member = sql().execute(select(Member).where(Member.openid == openid)).scalar_one_or_none()
    query = select(Case).where(Case.openid == openid, Case.kind.in_(list(KINDS)))
    found = _visible(user, list(sql().execute(query.order_by(Case.created_at.desc())).scalars()))
    if not found and (member is None or not _may_read_roster(user)):
        abort(404)
    title = (member.company or member.name) if member is not None else openid
    return _page(title, [member] if member is not None else [], found, openid=openid)


@bp.route("/company", endpoint="company")
@access.require(*ROLES)
def by_company() -> ResponseReturnValue:
    user = staff()
    name = request.args.get("name", "").strip()[:MAX_NAME]
    if not name:
        abort(404)
    members = list(
        sql().execute(select(Member).where(Member.company == name).order_by(Member.id)).scalars()
    )
    openids = {m.openid for m in members if m.openid}
    found = [
        c
        for c in _scoped_cases(user)
        if (c.data or {}).get("company") == name or (c.openid and c.openid in openids)
    ]
    found = _visible(user, found)
    if not found and (not members or not _may_read_roster(user)):
        abort(404)
    return _page(name, members, found, company=name)
