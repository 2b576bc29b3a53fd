"""Cases (调解案件, 企业诉求 …): one console area per case kind, all driven by the case engine.

For each kind of ``bot.services.cases`` (mediation: ``/admin/disputes``, appeals:
``/admin/appeals`` …) the area has a list (filters: status, category, overdue, due soon,
the assignee the kind routes to — committee or department; counts), a case page (details,
attachments, history, the actions this user may make in this state with the inputs the
kind declares, internal notes), a printable record, CSV/XLSX downloads with Chinese headers
and a statistics page. A kind's own templates (``templates/admin/cases/<kind>_details.html``,
``_actions.html``, ``_event.html``, ``_record.html``, ``_list.html``, ``_stats.html``) are used
where they exist, the generic ones (``generic_*.html``) otherwise, so a new kind works
before it has any. A kind's console module may add list filters, page context, its own
statistics (:class:`Extras`, registered in :data:`EXTRAS`).

Who sees which case is the engine's scope rule (``bot.services.cases.scope``), registered
here as the console's scope rule of the ``cases`` table: a case out of scope is a 404,
exactly like a missing one. Changes go through the engine (``act``), then the view commits,
then the member's messages are queued (``bot.jobs.outbox``). The holiday calendar the
deadlines are counted in is edited here too (``/admin/calendar``, admins).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from jinja2 import TemplateNotFound
from sqlalchemy import ColumnElement, Select, func, or_, select
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from bot import paths
from bot.console import access, case_forms, exports, nav
from bot.console.common import PER_PAGE, audit, int_arg, local_now, render, sql, staff
from bot.console.forms import Form, strip
from bot.dialogue.replies import Reply
from bot.dialogue.replies import render as render_reply
from bot.extensions import db
from bot.models import AdminUser, Attachment, Chamber, Committee, Department
from bot.models.cases import Case, Outbox
from bot.services import calendar, clock
from bot.services.cases import KINDS, CaseKind, engine, rows, scope, stats
from bot.services.cases.clocks import due_soon_clause, is_overdue, overdue_clause
from bot.services.cases.outbox import PENDING

log = logging.getLogger(__name__)

bp = Blueprint("cases", __name__)
# Sidebar label and place of a kind's area where the console names it otherwise than the
# member label (templates/replies/cases/<kind>/label.txt); every registered kind is added
# at registration, so NAV[kind][0] is the label the dashboard and reports show too.
NAV: dict[str, tuple[str, int]] = {"mediation": ("调解案件", 15), "appeal": ("企业诉求", 16)}
# Chinese column titles of the case fields of the downloads (bot/services/cases/rows.py);
# a kind's Extras.headers adds its own, the console's exports.LABELS names the others.
HEADERS = {
    "case_no": "编号", "number": "编号", "kind": "类别",
    "dispute_type": "纠纷类型", "category": "类型", "committee": "调解委员会",
    "assignee": "承办单位", "created_at": "提交时间", "amount": "涉及金额（元）",
    "due_at": "期限", "closed_at": "结案时间", "committee_id": "委员会编号",
    "other_party": "对方当事人", "outcome": "结果", "route_rule": "分派规则",
    "department_id": "部门编号", "user_id": "承办人编号",
}  # fmt: skip
COMMITTEE, DEPARTMENT, PERSON = "committee", "department", "user"


@dataclass(frozen=True)
class Extras:
    """What a kind's own console module adds to its generic area (all optional).

    :param filters: narrows the list query by the kind's own request arguments.
    :param list_context: more for the list template (today's digest, departments …).
    :param case_context: more for the case page and the print (what identity to show …).
    :param stats: the kind's own statistics view, instead of the generic one.
    :param headers: Chinese titles of the kind's own download fields.
    """

    filters: Callable[[Select[Case], CaseKind, AdminUser], Select[Case]] | None = None
    list_context: Callable[[CaseKind, AdminUser], dict[str, Any]] | None = None
    case_context: Callable[[CaseKind, Case, AdminUser], dict[str, Any]] | None = None
    stats: Callable[[CaseKind], ResponseReturnValue] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


EXTRAS: dict[str, Extras] = {}


@access.rule(Case)
def _scope(user: AdminUser) -> ColumnElement[bool] | None:
    # The engine's rule, the same one its CLI and services apply.
    return None if user.role == "admin" else scope.cases_visible_to(user)


class HolidayForm(Form):
    day = DateField("日期", [DataRequired("请选择日期。")], invalid_value_message="日期格式不对。")
    kind = SelectField(
        "类型",
        choices=[
            SelectChoice("holiday", "放假"),
            SelectChoice("workday", "调休上班"),
            SelectChoice("", "恢复为普通日"),
        ],
        validate_choice=True,
    )
    name = StringField("名称", [Optional(), Length(max=50)], filters=[strip])


class CoverYearForm(Form):
    year = IntegerField("年份", [DataRequired(), NumberRange(min=2000, max=2100)])


def kind_roles(kind: CaseKind) -> tuple[str, ...]:
    """The console roles that work on ``kind`` (those its transition table names; a
    member-made action's role is not a console one)."""
    named = {role for t in kind.transitions for role in t.roles}
    return tuple(sorted(named & set(access.ROLES)))


def axis(kind: CaseKind) -> str:
    """What ``kind`` is routed to, by the roles that work on it (the scope rule's own
    bindings): a committee (mediators), a department (officers) or a person."""
    roles = set(kind_roles(kind))
    if roles & scope.BY_COMMITTEE:
        return COMMITTEE
    if roles & scope.BY_DEPARTMENT:
        return DEPARTMENT
    return PERSON


def endpoint(kind: CaseKind, view: str) -> str:
    return f"admin.cases.{kind.name}_{view}"


def label(kind: CaseKind) -> str:
    return NAV.get(kind.name, (kind.name, 0))[0]


def member_label(kind: CaseKind) -> str:
    """The kind's member label (templates/replies/cases/<kind>/label.txt), else its name."""
    path = paths.TEMPLATES_DIR / "replies" / "cases" / kind.name / "label.txt"
    try:
        return path.read_text(encoding="utf-8").strip() or kind.name
    except OSError:
        return kind.name


@cache
def _has_template(name: str) -> bool:
    try:
        current_app.jinja_env.get_template(f"admin/{name}")
    except TemplateNotFound:
        return False
    return True


def part(kind: CaseKind, name: str) -> str:
    """``cases/<kind>_<name>.html`` where the kind has one, else the generic one
    (``cases/generic_<name>.html``; the list's is ``cases/list.html``, which a kind's own
    list extends)."""
    own = f"cases/{kind.name}_{name}.html"
    if _has_template(own):
        return own
    return "cases/list.html" if name == "list" else f"cases/generic_{name}.html"


def _today() -> date:
    return local_now().date()


def common_context(kind: CaseKind) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": label(kind),
        "axis": axis(kind),
        "endpoint_of": lambda view: endpoint(kind, view),
        "can_view": lambda view: _has_view(kind, view),
    }


def _has_view(kind: CaseKind, view: str) -> bool:
    return endpoint(kind, view) in current_app.view_functions


# -- the list -----------------------------------------------------------------------------
def _filtered(kind: CaseKind, user: AdminUser) -> Select[Case]:
    query = access.scoped(select(Case).where(Case.kind == kind.name), user)
    args = request.args
    status = args.get("status", "")
    if status and kind.state(status) is not None:
        query = query.where(Case.status == status)
    category = args.get("category", "")
    if category and category in kind.categories:
        query = query.where(Case.category == category)
    if args.get("due") == "overdue":
        query = query.where(overdue_clause(_today(), kind))
    elif args.get("due") == "soon":
        query = query.where(due_soon_clause(sql(), _today(), kind))
    where = axis(kind)
    assignee = args.get(where, "")
    if assignee.isdigit() and len(assignee) < 10:
        column = {COMMITTEE: Case.committee_id, DEPARTMENT: Case.department_id}.get(
            where, Case.user_id
        )
        query = query.where(column == int(assignee))
    q = args.get("q", "").strip()[:50]
    if q:
        like = f"%{q}%"
        query = query.where(or_(Case.number.ilike(like), Case.title.ilike(like)))
    extras = EXTRAS.get(kind.name)
    if extras is not None and extras.filters is not None:
        query = extras.filters(query, kind, user)
    return query.order_by(Case.created_at.desc(), Case.id.desc())


def _counts(kind: CaseKind, user: AdminUser) -> dict[str, int]:
    base = access.scoped(select(func.count()).select_from(Case).where(Case.kind == kind.name), user)
    # The scope rule itself (what access.scoped adds), on a two-column query.
    by_status = (
        select(Case.status, func.count())
        .where(Case.kind == kind.name, scope.cases_visible_to(user))
        .group_by(Case.status)
    )
    counts = {status: int(n) for status, n in sql().execute(by_status).all()}
    counts["_all"] = int(sql().execute(base).scalar_one())
    counts["_overdue"] = int(sql().execute(base.where(overdue_clause(_today(), kind))).scalar_one())
    soon = base.where(due_soon_clause(sql(), _today(), kind))
    counts["_soon"] = int(sql().execute(soon).scalar_one())
    return counts


def assignees(kind: CaseKind, user: AdminUser) -> list[tuple[int, str]]:
    """The committees or departments (or people) a user may filter the list by."""
    where = axis(kind)
    if where == COMMITTEE:
        query: Select[int, str] = select(Committee.id, Committee.name).order_by(Committee.id)
        if user.role != "admin":
            query = query.where(Committee.id == (user.committee_id or 0))
    elif where == DEPARTMENT:
        query = select(Department.id, Department.name).order_by(Department.id)
        if user.role != "admin":
            query = query.where(Department.id == (user.department_id or 0))
    else:
        query = select(AdminUser.id, AdminUser.username).order_by(AdminUser.id)
        query = query.where(AdminUser.role.in_(kind_roles(kind)))
        if user.role != "admin":
            query = query.where(AdminUser.id == user.id)
    return [(int(i), str(n)) for i, n in sql().execute(query).all()]


def list_view(kind: CaseKind) -> ResponseReturnValue:
    user = staff()
    pager = db.paginate(_filtered(kind, user), page=int_arg("page"), per_page=PER_PAGE)
    names = rows.Names(sql())
    extras = EXTRAS.get(kind.name)
    more = extras.list_context(kind, user) if extras and extras.list_context else {}
    return render(
        part(kind, "list"),
        pager=pager,
        counts=_counts(kind, user),
        assignees=assignees(kind, user),
        assignee=names.assignee,
        overdue=lambda case: is_overdue(case, _today()),
        runs_out=calendar.runs_out_soon(sql(), _today()),
        **common_context(kind),
        **more,
    )


# -- one case -----------------------------------------------------------------------------
def case_or_404(kind: CaseKind, case_no: str) -> Case:
    """The case ``case_no`` of ``kind`` if the signed-in user may see it, else 404."""
    try:
        case = engine.visible_case(sql(), case_no[:40], staff())
    except engine.CaseNotFound:
        abort(404)
    if case.kind != kind.name:
        abort(404)
    return case


def _attachments(case: Case) -> list[Attachment]:
    query = select(Attachment).where(
        Attachment.owner_kind == "case", Attachment.owner_id == case.number
    )
    return list(sql().execute(query.order_by(Attachment.id)).scalars())


def _case_context(kind: CaseKind, case: Case) -> dict[str, Any]:
    extras = EXTRAS.get(kind.name)
    more = extras.case_context(kind, case, staff()) if extras and extras.case_context else {}
    return {
        "case": case,
        "data": case.data or {},
        "assignee": scope.assignee_name(sql(), case),
        "chamber": sql().get(Chamber, case.chamber_id) if case.chamber_id else None,
        "mediator": sql().get(AdminUser, case.user_id) if case.user_id else None,
        "handler": sql().get(AdminUser, case.user_id) if case.user_id else None,
        "attachments": _attachments(case),
        "overdue": is_overdue(case, _today()),
        **common_context(kind),
        **more,
    }


def _page(kind: CaseKind, case: Case, form: Form | None = None) -> str:
    allowed = engine.allowed_actions(case, staff())
    # What the applicant was sent (staff reminders about the case are outbox rows too).
    told = select(Outbox).where(Outbox.case_id == case.id, Outbox.openid == case.openid)
    owed = sql().execute(told.order_by(Outbox.id))
    return render(
        "cases/case.html",
        form=form or case_forms.action_form(kind, case),
        actions=[t.action for t in allowed],
        transitions=allowed,
        asked=lambda t: case_forms.asked(kind, t),
        outbox=list(owed.scalars()),
        details_template=part(kind, "details"),
        actions_template=part(kind, "actions"),
        event_template=part(kind, "event"),
        **_case_context(kind, case),
    )


def case_view(kind: CaseKind, case_no: str) -> ResponseReturnValue:
    return _page(kind, case_or_404(kind, case_no))


def act_view(kind: CaseKind, case_no: str) -> ResponseReturnValue:
    case = case_or_404(kind, case_no)
    form = case_forms.action_form(kind, case, submitted=True)
    if not form.validate():
        return _page(kind, case, form), 400
    action = str(form.action.data)
    data = case_forms.values(kind, form)
    try:
        event = engine.act(
            sql(), case, action, staff(), form.note.data or "", today=_today(), data=data
        )
    except engine.CaseNotFound:
        abort(404)
    except engine.CaseRefused as refusal:
        sql().rollback()
        flash(render_reply(Reply(refusal.template, refusal.context)), "error")
        return redirect(url_for(endpoint(kind, "case"), case_no=case_no))
    audit(f"case.{action}", f"case:{case.number}", status=case.status, event=event.id)
    owed = [o.id for o in sql().execute(select(Outbox).where(Outbox.case_id == case.id)).scalars()
            if o.status == PENDING]  # fmt: skip
    sql().commit()
    send(owed)
    if not scope.may_see(case, staff()):  # transferred out of this user's sight
        flash(f"{case.number} 已转交{scope.assignee_name(sql(), case)}。", "success")
        return redirect(url_for(endpoint(kind, "list")))
    return redirect(url_for(endpoint(kind, "case"), case_no=case.number))


def send(ids: list[int]) -> None:
    """Queue the outbox rows just committed (the sweep sends them if the queue is down)."""
    from bot.jobs import outbox as outbox_jobs

    if not ids:
        return
    try:
        outbox_jobs.enqueue(ids)
    except Exception:
        # Recorded all the same: the periodic sweep sends what the queue could not take.
        log.exception("could not queue case messages")
        flash("已保存，但发送队列暂时不可用，会员通知将稍后自动补发。", "warning")


def print_view(kind: CaseKind, case_no: str) -> ResponseReturnValue:
    case = case_or_404(kind, case_no)
    return render(part(kind, "record"), printed=local_now(), **_case_context(kind, case))


def attachment_view(kind: CaseKind, case_no: str, attachment_id: int) -> ResponseReturnValue:
    from bot.jobs.media import attachments_folder

    case = case_or_404(kind, case_no)
    found = next((a for a in _attachments(case) if a.id == attachment_id), None)
    if found is None or not found.stored_path:
        abort(404)
    folder = attachments_folder().resolve()
    path = (folder / found.stored_path).resolve()
    if folder not in path.parents or not path.is_file():
        abort(404)
    return send_file(path, found.content_type or None, download_name=path.name)


# -- downloads and figures ----------------------------------------------------------------
def headers_of(kind: CaseKind, fields: tuple[str, ...]) -> list[str]:
    """Chinese titles: the kind's own, ours for the case fields, the console's for the rest
    (openid, status …)."""
    extras = EXTRAS.get(kind.name)
    own = extras.headers if extras is not None else {}
    return [own.get(n) or HEADERS.get(n) or exports.LABELS.get(n, n) for n in fields]


def export_view(kind: CaseKind, fmt: str) -> ResponseReturnValue:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    user = staff()
    records, fields = rows.kind_rows(sql(), kind.name, user=user)
    table = exports.rows_of(records, fields)
    audit("cases.export", kind.name, format=fmt, rows=len(table))
    sql().commit()
    return exports.download(f"{kind.area}-{_today():%Y%m%d}", fmt, headers_of(kind, fields), table)


def day_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None


def stats_view(kind: CaseKind) -> ResponseReturnValue:
    extras = EXTRAS.get(kind.name)
    if extras is not None and extras.stats is not None:
        return extras.stats(kind)
    start, end = day_arg("start"), day_arg("end")
    figures = stats.report(
        sql(), kind, staff(), start=start, end=end, zone=clock.zone(current_app.config)
    )
    return render(part(kind, "stats"), report=figures, start=start, end=end, **common_context(kind))


# -- one area per kind -------------------------------------------------------------------
def _register(kind: CaseKind) -> None:
    roles = kind_roles(kind)
    guard = access.require(*roles)
    if kind.name not in NAV:
        NAV[kind.name] = (member_label(kind), 19)
    name, order = NAV[kind.name]
    nav.register(
        name,
        endpoint(kind, "list"),
        roles=roles,
        order=order,
        icon="requests",
        group="服务",
        also=(f"admin.cases.{kind.name}_",),
    )

    def rule(
        path: str, view: str, fn: Callable[..., ResponseReturnValue], post: bool = False
    ) -> None:
        def bound(**values: Any) -> ResponseReturnValue:
            return fn(kind, **values)

        bound.__name__ = f"{kind.name}_{view}"
        methods = ["POST"] if post else ["GET"]
        bp.add_url_rule(f"/{kind.area}{path}", bound.__name__, guard(bound), methods=methods)

    rule("", "list", list_view)
    rule("/export.<fmt>", "export", export_view)
    rule("/stats", "stats", stats_view)
    rule("/<case_no>", "case", case_view)
    rule("/<case_no>/act", "act", act_view, post=True)
    rule("/<case_no>/print", "print", print_view)
    rule("/<case_no>/attachments/<int:attachment_id>", "attachment", attachment_view)


for _kind in KINDS.values():
    _register(_kind)


# -- the holiday calendar ------------------------------------------------------------------
nav.register(
    "节假日", "admin.cases.calendar", roles=("admin",), order=60, icon="training", group="设置"
)


@bp.route("/calendar", methods=["GET", "POST"], endpoint="calendar")
@access.require("admin")
def holiday_calendar() -> ResponseReturnValue:
    """The holidays and 调休 days deadlines are counted in; admins edit them."""
    today = _today()
    year = min(max(int_arg("year", today.year), 2000), 2100)
    day_form, year_form = HolidayForm(), CoverYearForm()
    if request.method == "POST":
        if request.form.get("form") == "year" and year_form.validate():
            calendar.cover_year(sql(), int(year_form.year.data))
            audit("calendar.cover", str(year_form.year.data))
            sql().commit()
            flash(f"已确认 {year_form.year.data} 年的节假日安排录入完毕。", "success")
            return redirect(url_for(".calendar", year=year_form.year.data))
        if request.form.get("form") == "day" and day_form.validate():
            day = day_form.day.data
            calendar.set_day(sql(), day, day_form.kind.data or None, day_form.name.data or "")
            audit("calendar.day", day.isoformat(), kind=day_form.kind.data, name=day_form.name.data)
            sql().commit()
            flash(f"{day.isoformat()} 已保存。", "success")
            return redirect(url_for(".calendar", year=day.year))
    return render(
        "cases/calendar.html",
        year=year,
        days=calendar.days_of_year(sql(), year),
        covered=calendar.covered_until(sql(), today),
        runs_out=calendar.runs_out_soon(sql(), today),
        year_covered=calendar.covered_until(sql(), date(year, 1, 1)) is not None,
        day_form=day_form,
        year_form=year_form,
    )
