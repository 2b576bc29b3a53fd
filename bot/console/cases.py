"""Cases (调解案件 …): one console area per case kind, all driven by the case engine.

For each kind of ``bot.services.cases`` (mediation: ``/admin/disputes``) the area has a list
(filters: status, overdue, due soon, assignee; counts), a case page (details, attachments,
history, the actions this user may make in this state, internal notes), a printable one-page
record (调解记录), CSV/XLSX downloads with Chinese headers and a statistics page. Who sees
which case is the engine's scope rule (``bot.services.cases.scope``), registered here as the
console's scope rule of the ``cases`` table: a case out of scope is a 404, exactly like a
missing one. Changes go through the engine (``act``), then the view commits, then the
member's messages are queued (``bot.jobs.outbox``). The holiday calendar the deadlines are
counted in is edited here too (``/admin/calendar``, admins).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, Select, func, or_, select
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from bot.console import access, exports, nav
from bot.console.common import PER_PAGE, audit, int_arg, local_now, render, sql, staff
from bot.console.forms import LOCAL_FORMATS, Form, strip
from bot.dialogue.replies import Reply
from bot.dialogue.replies import render as render_reply
from bot.extensions import db
from bot.models import AdminUser, Attachment, Chamber, Committee
from bot.models.cases import Case, Outbox
from bot.services import calendar, clock
from bot.services.cases import KINDS, CaseKind, engine, rows, scope, stats
from bot.services.cases.clocks import due_soon_clause, is_overdue, overdue_clause
from bot.services.cases.outbox import PENDING

log = logging.getLogger(__name__)

bp = Blueprint("cases", __name__)
# Sidebar label and place of each kind's area (the console's labels live with its views).
NAV = {"mediation": ("调解案件", 15)}
# Chinese column titles of the case fields of the downloads (bot/services/cases/rows.py);
# the console's exports.LABELS names the others.
HEADERS = {
    "case_no": "编号", "number": "编号", "kind": "类别",
    "dispute_type": "纠纷类型", "category": "类型", "committee": "调解委员会",
    "assignee": "承办单位", "created_at": "提交时间", "amount": "涉及金额（元）",
    "due_at": "期限", "closed_at": "结案时间", "committee_id": "委员会编号",
    "other_party": "对方当事人", "outcome": "结果", "route_rule": "分派规则",
    "department_id": "部门编号", "user_id": "承办人编号",
}  # fmt: skip


@access.rule(Case)
def _scope(user: AdminUser) -> ColumnElement[bool] | None:
    # The engine's rule, the same one its CLI and services apply.
    return None if user.role == "admin" else scope.cases_visible_to(user)


class CaseActionForm(Form):
    """One action on a case; which fields it needs is the kind's transition table's say."""

    action = HiddenField(validators=[DataRequired()])
    note = TextAreaField("说明", [Optional(), Length(max=2000, message="说明不能超过 2000 字。")])
    when = DateTimeLocalField(
        "调解时间", [Optional()], format=LOCAL_FORMATS, invalid_value_message="时间格式不对。"
    )
    place = StringField("调解地点", [Optional(), Length(max=200)], filters=[strip])
    agreement = TextAreaField("协议内容", [Optional(), Length(max=4000)])
    parties = StringField("当事人", [Optional(), Length(max=300)], filters=[strip])
    obligations = TextAreaField("履行义务", [Optional(), Length(max=2000)])
    deadlines = StringField("履行期限", [Optional(), Length(max=300)], filters=[strip])
    effective_on = DateField("协议生效日期", [Optional()], invalid_value_message="日期格式不对。")
    committee_id = SelectField("转交给", [Optional()], coerce=str, validate_choice=False)
    performed = StringField("履行情况", [Optional(), Length(max=200)], filters=[strip])


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
    """The roles that work on ``kind`` (those its transition table names)."""
    return tuple(sorted({role for t in kind.transitions for role in t.roles}))


def endpoint(kind: CaseKind, view: str) -> str:
    return f"admin.cases.{kind.name}_{view}"


def _today() -> date:
    return local_now().date()


# -- the list -----------------------------------------------------------------------------
def _filtered(kind: CaseKind, user: AdminUser) -> Select[tuple[Case]]:
    query = access.scoped(select(Case).where(Case.kind == kind.name), user)
    args = request.args
    status = args.get("status", "")
    if status and kind.state(status) is not None:
        query = query.where(Case.status == status)
    if args.get("due") == "overdue":
        query = query.where(overdue_clause(_today(), kind))
    elif args.get("due") == "soon":
        query = query.where(due_soon_clause(sql(), _today(), kind))
    assignee = args.get("committee", "")
    if assignee.isdigit():
        query = query.where(Case.committee_id == int(assignee))
    q = args.get("q", "").strip()[:50]
    if q:
        like = f"%{q}%"
        query = query.where(or_(Case.number.ilike(like), Case.title.ilike(like)))
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


def _committees(user: AdminUser) -> list[Committee]:
    query = select(Committee).order_by(Committee.id)
    if user.role != "admin":
        query = query.where(Committee.id == (user.committee_id or 0))
    return list(sql().execute(query).scalars())


def list_view(kind: CaseKind) -> ResponseReturnValue:
    user = staff()
    pager = db.paginate(_filtered(kind, user), page=int_arg("page"), per_page=PER_PAGE)
    names = rows.Names(sql())
    return render(
        "cases/list.html",
        kind=kind,
        pager=pager,
        counts=_counts(kind, user),
        committees=_committees(user),
        assignee=names.assignee,
        overdue=lambda case: is_overdue(case, _today()),
        runs_out=calendar.runs_out_soon(sql(), _today()),
        endpoint_of=lambda view: endpoint(kind, view),
        label=NAV.get(kind.name, (kind.name, 0))[0],
    )


# -- one case -----------------------------------------------------------------------------
def _case_or_404(kind: CaseKind, case_no: str) -> Case:
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


def _page(kind: CaseKind, case: Case, form: CaseActionForm | None = None) -> str:
    user = staff()
    form = form or CaseActionForm(formdata=None)
    form.committee_id.choices = [
        SelectChoice(str(c.id), c.name)
        for c in sql().execute(select(Committee).order_by(Committee.id)).scalars()
        if c.id != case.committee_id
    ]
    chamber = sql().get(Chamber, case.chamber_id) if case.chamber_id else None
    mediator = sql().get(AdminUser, case.user_id) if case.user_id else None
    owed = sql().execute(select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id))
    return render(
        "cases/case.html",
        kind=kind,
        case=case,
        data=case.data or {},
        form=form,
        actions=[t.action for t in engine.allowed_actions(case, user)],
        assignee=scope.assignee_name(sql(), case),
        chamber=chamber,
        mediator=mediator,
        attachments=_attachments(case),
        outbox=list(owed.scalars()),
        overdue=is_overdue(case, _today()),
        endpoint_of=lambda view: endpoint(kind, view),
        label=NAV.get(kind.name, (kind.name, 0))[0],
    )


def case_view(kind: CaseKind, case_no: str) -> ResponseReturnValue:
    return _page(kind, _case_or_404(kind, case_no))


def act_view(kind: CaseKind, case_no: str) -> ResponseReturnValue:
    case = _case_or_404(kind, case_no)
    form = CaseActionForm()
    form.committee_id.choices = []
    if not form.validate():
        return _page(kind, case, form), 400
    action = str(form.action.data)
    data = {
        name: getattr(form, name).data
        for name in ("when", "place", "agreement", "parties", "obligations", "deadlines")
        + ("effective_on", "committee_id", "performed")
        if getattr(form, name).data not in (None, "")
    }
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
    _send(owed)
    if not scope.may_see(case, staff()):  # transferred out of this user's sight
        flash(f"{case.number} 已转交{scope.assignee_name(sql(), case)}。", "success")
        return redirect(url_for(endpoint(kind, "list")))
    return redirect(url_for(endpoint(kind, "case"), case_no=case.number))


def _send(ids: list[int]) -> None:
    from bot.jobs import outbox as outbox_jobs

    try:
        outbox_jobs.enqueue(ids)
    except Exception:
        # Recorded all the same: the periodic sweep sends what the queue could not take.
        log.exception("could not queue case messages")
        flash("已保存，但发送队列暂时不可用，会员通知将稍后自动补发。", "warning")


def print_view(kind: CaseKind, case_no: str) -> ResponseReturnValue:
    case = _case_or_404(kind, case_no)
    mediator = sql().get(AdminUser, case.user_id) if case.user_id else None
    return render(
        f"cases/{kind.name}_record.html",
        case=case,
        data=case.data or {},
        assignee=scope.assignee_name(sql(), case),
        mediator=mediator,
        attachments=_attachments(case),
        printed=local_now(),
    )


def attachment_view(kind: CaseKind, case_no: str, attachment_id: int) -> ResponseReturnValue:
    from bot.jobs.media import attachments_folder

    case = _case_or_404(kind, case_no)
    found = next((a for a in _attachments(case) if a.id == attachment_id), None)
    if found is None or not found.stored_path:
        abort(404)
    folder = attachments_folder().resolve()
    path = (folder / found.stored_path).resolve()
    if folder not in path.parents or not path.is_file():
        abort(404)
    return send_file(path, found.content_type or None, download_name=path.name)


# -- downloads and figures ----------------------------------------------------------------
def export_view(kind: CaseKind, fmt: str) -> ResponseReturnValue:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    user = staff()
    records, fields = rows.kind_rows(sql(), kind.name, user=user)
    table = exports.rows_of(records, fields)
    audit("cases.export", kind.name, format=fmt, rows=len(table))
    sql().commit()
    # Ours for the case fields, the console's own for the rest (openid, status …).
    headers = [HEADERS.get(name) or exports.LABELS.get(name, name) for name in fields]
    return exports.download(f"{kind.area}-{_today():%Y%m%d}", fmt, headers, table)


def _day_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def stats_view(kind: CaseKind) -> ResponseReturnValue:
    start, end = _day_arg("start"), _day_arg("end")
    figures = stats.report(
        sql(), kind, staff(), start=start, end=end, zone=clock.zone(current_app.config)
    )
    return render(
        "cases/stats.html",
        kind=kind,
        report=figures,
        start=start,
        end=end,
        endpoint_of=lambda view: endpoint(kind, view),
        label=NAV.get(kind.name, (kind.name, 0))[0],
    )


# -- one area per kind -------------------------------------------------------------------
def _register(kind: CaseKind) -> None:
    roles = kind_roles(kind)
    guard = access.require(*roles)
    label, order = NAV.get(kind.name, (kind.name, 19))
    nav.register(
        label,
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
