"""Enterprise appeals (企业诉求) in the console: what the generic case area of the kind gets
on top (``/admin/appeals``), the departments that answer them, and their statistics.

* The list filters by urgency, escalation and a pending extension besides the generic
  filters (status, category, department, overdue), shows overdue and due-soon rows, the
  counts, and the signed-in user's 今日待办 (``staff_reminders.digest_for``).
* A confidential appeal shows anyone but an admin no identity: company, 统一社会信用代码,
  contact, phone, openid and chamber read 保密 in lists, pages, prints, downloads and
  一企一档 (``rows.hides_identity`` decides, everywhere).
* ``/admin/departments`` (admins): name, categories handled, contact, active, the officers
  bound; every change audited.
* ``/admin/appeals/stats``: the figures of ``appeal_stats`` for a period, per category and
  per department, drawn as bars, each rate with its numerator and denominator, and as
  CSV/XLSX.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from bot.console import access, cases, exports, nav
from bot.console.common import audit, local_now, render, sql, staff
from bot.console.forms import Form, strip
from bot.models import AdminUser, Chamber, Department
from bot.models.cases import Case
from bot.services import calendar, clock
from bot.services.cases import appeal_stats, appeals, rows, scope, staff_reminders
from bot.services.cases.clocks import DUE_SOON_WORKDAYS
from bot.services.cases.spec import CaseKind

KIND = appeals.KIND
bp = Blueprint("departments", __name__)

# The download of the statistics: a row per group, each rate as its parts and its value.
STATS_COLUMNS = (
    "维度", "名称", "收到", "办理中", "已超期", "退回", "已办结", "重办（件）", "重办（次）",
    "升级", "按时响应", "应响应", "响应率", "已解决", "有回访", "解决率", "满意及基本满意",
    "已评价", "满意率", "按期答复", "应答复", "按期答复率", "已办结（办结率分子）",
    "受理（办结率分母）", "办结率", "平均答复工作日",
)  # fmt: skip
HEADERS = {
    "ticket_no": "编号", "title": "标题", "category": "类别", "urgency": "紧急程度",
    "department": "承办部门", "created_at": "提交时间", "due_at": "当前期限",
    "answer_due": "承诺答复日期", "acknowledged_at": "受理时间", "answered_at": "首次答复日期",
    "solved": "是否解决", "rating": "满意度", "reopened": "重办次数", "escalated": "已升级",
    "confidential": "保密", "company": "企业名称", "credit_code": "统一社会信用代码",
    "contact": "联系人", "phone": "联系电话",
}  # fmt: skip


def _today() -> date:
    return local_now().date()


# -- the list ------------------------------------------------------------------------------
_FLAGS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "escalated": lambda d: bool(d.get("escalated")),
    "extension": lambda d: bool(d.get("extension_request")),
    "confidential": lambda d: bool(d.get("confidential")),
}


def _filters(query: Select[Case], kind: CaseKind, user: AdminUser) -> Select[Case]:
    # Urgency and the flags live in the case's JSON: read in Python, portable across
    # SQLite and PostgreSQL (a federation's appeals are thousands, not millions).
    wants: list[Callable[[dict[str, Any]], bool]] = []
    urgency = request.args.get("urgency", "")
    if urgency in appeals.URGENCIES:
        wants.append(lambda d: d.get("urgency") == urgency)
    wants += [test for name, test in _FLAGS.items() if request.args.get(name) == "1"]
    if not wants:
        return query
    ids = [case_id for case_id, data in _data_of(kind, user) if all(w(data) for w in wants)]
    return query.where(Case.id.in_(ids))


def _data_of(kind: CaseKind, user: AdminUser) -> list[tuple[int, dict[str, Any]]]:
    found = sql().execute(
        select(Case.id, Case.data).where(Case.kind == kind.name, scope.cases_visible_to(user))
    )
    return [(int(i), dict(d or {})) for i, d in found.all()]


def _horizon() -> date:
    try:
        return calendar.add_workdays(sql(), _today(), DUE_SOON_WORKDAYS)
    except calendar.CalendarGap:
        return _today() + timedelta(days=DUE_SOON_WORKDAYS + 2)


def _list_context(kind: CaseKind, user: AdminUser) -> dict[str, Any]:
    flags = {name: 0 for name in _FLAGS}
    for _, data in _data_of(kind, user):
        for name, test in _FLAGS.items():
            flags[name] += test(data)
    today, horizon = _today(), _horizon()
    return {
        "flags": flags,
        "digest": staff_reminders.digest_for(sql(), user, today, [kind]),
        "due_soon": lambda c: (
            c.due_at is not None and today <= c.due_at <= horizon and not kind.is_final(c.status)
        ),
        "identity": lambda c: _identity(c, user),
        "urgencies": appeals.URGENCIES,
    }


def _identity(case: Case, user: AdminUser) -> dict[str, str]:
    """Who filed ``case`` as ``user`` may read it (保密 for a confidential appeal)."""
    data = case.data or {}
    chamber = sql().get(Chamber, case.chamber_id) if case.chamber_id else None
    shown = {
        "company": str(data.get("company") or ""),
        "credit_code": str(data.get("credit_code") or ""),
        "contact": str(data.get("contact") or ""),
        "phone": str(data.get("phone") or ""),
        "openid": case.openid or "",
        "chamber": chamber.name if chamber is not None else "",
    }
    if rows.hides_identity(case, user):
        return {name: rows.MASK for name in shown}
    return shown


# -- one appeal ----------------------------------------------------------------------------
def _case_context(kind: CaseKind, case: Case, user: AdminUser) -> dict[str, Any]:
    data = case.data or {}
    names = {d.id: d.name for d in sql().execute(select(Department)).scalars()}
    today = _today()
    return {
        "hide_identity": rows.hides_identity(case, user),
        "identity": _identity(case, user),
        "cohandlers": [names.get(int(i), f"#{i}") for i in data.get("cohandlers") or []],
        "extension_request": data.get("extension_request"),
        # An officer may ask for more time only before the deadline (the hook checks too).
        "may_ask_extension": case.due_at is not None and case.due_at >= today,
        "today": today,
    }


# -- statistics ----------------------------------------------------------------------------
def _report() -> tuple[appeal_stats.Report, date | None, date | None]:
    start, end = cases.day_arg("start"), cases.day_arg("end")
    figures = appeal_stats.report(
        sql(),
        staff(),
        start=start,
        end=end,
        today=_today(),
        zone=clock.zone(current_app.config),
        categories=appeals.CATEGORIES,
    )
    return figures, start, end


def stats_view(kind: CaseKind) -> ResponseReturnValue:
    figures, start, end = _report()
    groups = list(figures.by_category.values()) + list(figures.by_department.values())
    return render(
        "cases/appeal_stats.html",
        report=figures,
        start=start,
        end=end,
        most=max([t.received for t in groups] or [1]) or 1,
        **cases.common_context(kind),
    )


def _stats_row(axis: str, name: str, t: appeal_stats.Tally) -> list[Any]:
    out: list[Any] = [axis, name, t.received, t.open, t.overdue, t.returned, t.closed]
    out += [t.reopened, t.reopenings, t.escalated]
    for rate in t.rates.values():
        value = rate.value
        out += [
            rate.numerator,
            rate.denominator,
            f"{value * 100:.1f}%" if value is not None else "",
        ]
    days = t.average_answer_days
    out.append(round(days, 1) if days is not None else "")
    return out


# On the case area's blueprint: the kind's sidebar entry stays current on it.
@cases.bp.route(f"/{KIND.area}/stats/export.<fmt>", endpoint=f"{KIND.name}_stats_export")
@access.require(*cases.kind_roles(KIND))
def stats_export(fmt: str) -> ResponseReturnValue:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    figures, start, end = _report()
    table = [_stats_row("合计", "全部", figures.total)]
    table += [_stats_row("类别", n, t) for n, t in figures.by_category.items()]
    table += [_stats_row("部门", n, t) for n, t in figures.by_department.items()]
    audit("appeals.stats_export", "appeal", format=fmt, start=str(start), end=str(end))
    sql().commit()
    stem = f"appeal-stats-{start or 'all'}-{end or _today()}"
    return exports.download(stem, fmt, list(STATS_COLUMNS), table, worded=False)


cases.EXTRAS[KIND.name] = cases.Extras(
    filters=_filters,
    list_context=_list_context,
    case_context=_case_context,
    stats=stats_view,
    headers=HEADERS,
)


# -- departments ---------------------------------------------------------------------------
class DepartmentForm(Form):
    name = StringField(
        "部门名称", [DataRequired("请填写部门名称。"), Length(max=200)], filters=[strip]
    )
    categories = SelectMultipleField(
        "承办类别",
        choices=[SelectChoice(c, c) for c in appeals.CATEGORIES],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=True,
    )
    contact = StringField("联系方式", [Optional(), Length(max=200)], filters=[strip])
    active = BooleanField("启用", default=True)


class BindForm(Form):
    user_id = SelectField("绑定工作人员", [DataRequired("请选择工作人员。")], coerce=str)


nav.register(
    "承办部门",
    "admin.departments.index",
    roles=("admin",),
    order=61,
    icon="training",
    group="设置",
    also=("admin.departments.",),
)


def _officers(department: Department) -> list[AdminUser]:
    query = select(AdminUser).where(AdminUser.department_id == department.id)
    return list(sql().execute(query.order_by(AdminUser.username)).scalars())


def _unique_name(name: str, keep: int | None = None) -> bool:
    query = select(func.count()).select_from(Department).where(Department.name == name)
    if keep is not None:
        query = query.where(Department.id != keep)
    return int(sql().execute(query).scalar_one()) == 0


@bp.route("/departments", methods=["GET", "POST"], endpoint="index")
@access.require("admin")
def departments() -> ResponseReturnValue:
    form = DepartmentForm()
    if request.method == "POST" and form.validate():
        if not _unique_name(form.name.data):
            form.name.errors.append("已有同名部门。")
        else:
            row = Department(
                name=form.name.data,
                categories=list(form.categories.data or []),
                contact=form.contact.data or "",
                active=bool(form.active.data),
            )
            sql().add(row)
            sql().flush()
            audit("department.create", f"department:{row.id}", name=row.name,
                  categories=row.categories)  # fmt: skip
            sql().commit()
            flash(f"已添加部门：{row.name}", "success")
            return redirect(url_for(".index"))
    listed = list(sql().execute(select(Department).order_by(Department.id)).scalars())
    open_counts = dict(
        sql()
        .execute(
            select(Case.department_id, func.count())
            .where(Case.kind == KIND.name, Case.status.in_(KIND.open_states))
            .group_by(Case.department_id)
        )
        .all()
    )
    return render(
        "departments/list.html",
        departments=listed,
        officers={d.id: _officers(d) for d in listed},
        open_counts=open_counts,
        form=form,
        categories_of=appeals.department_categories,
        uncovered=[
            c
            for c in appeals.CATEGORIES
            if not any(c in appeals.department_categories(d) for d in listed if d.active)
        ],
    ), (400 if request.method == "POST" else 200)


# Ids in URLs beyond the columns' integers are no record (PostgreSQL would refuse them).
ID_MAX = 2**31 - 1


def _department_or_404(department_id: int) -> Department:
    row = sql().get(Department, department_id) if department_id <= ID_MAX else None
    if row is None:
        abort(404)
    return row


def _bind_choices(department: Department) -> list[SelectChoice]:
    """Officers not yet bound here (with the department they are in now, if any)."""
    names = {d.id: d.name for d in sql().execute(select(Department)).scalars()}
    query = select(AdminUser).where(AdminUser.role.in_(scope.BY_DEPARTMENT), AdminUser.active)
    return [
        SelectChoice(
            str(u.id),
            f"{u.username}（{names[u.department_id]}）" if u.department_id in names else u.username,
        )
        for u in sql().execute(query.order_by(AdminUser.username)).scalars()
        if u.department_id != department.id
    ]


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"], endpoint="edit")
@access.require("admin")
def edit(department_id: int) -> ResponseReturnValue:
    row = _department_or_404(department_id)
    form = DepartmentForm(obj=row) if request.method == "GET" else DepartmentForm()
    if request.method == "GET":
        form.categories.data = appeals.department_categories(row)
    bind = BindForm(formdata=None)
    bind.user_id.choices = _bind_choices(row)
    if request.method == "POST" and form.validate():
        if not _unique_name(form.name.data, keep=row.id):
            form.name.errors.append("已有同名部门。")
        else:
            before = {"name": row.name, "categories": list(row.categories or []),
                      "contact": row.contact, "active": row.active}  # fmt: skip
            row.name = form.name.data
            row.categories = list(form.categories.data or [])
            row.contact = form.contact.data or ""
            row.active = bool(form.active.data)
            after = {"name": row.name, "categories": row.categories,
                     "contact": row.contact, "active": row.active}  # fmt: skip
            audit("department.update", f"department:{row.id}", before=before, after=after)
            sql().commit()
            flash(f"已保存：{row.name}", "success")
            return redirect(url_for(".edit", department_id=row.id))
    status = 400 if request.method == "POST" else 200
    return render(
        "departments/form.html", row=row, form=form, bind=bind, officers=_officers(row)
    ), status


@bp.route("/departments/<int:department_id>/officers", methods=["POST"], endpoint="bind")
@access.require("admin")
def bind_officer(department_id: int) -> ResponseReturnValue:
    row = _department_or_404(department_id)
    form = BindForm()
    form.user_id.choices = _bind_choices(row)
    if not form.validate():
        flash("请选择要绑定的工作人员。", "error")
        return redirect(url_for(".edit", department_id=row.id))
    user = sql().get(AdminUser, int(form.user_id.data))
    assert user is not None  # one of the choices
    before = user.department_id
    user.department_id = row.id
    audit("department.bind", f"user:{user.id}", department=row.id, before=before)
    sql().commit()
    flash(f"{user.username} 已绑定到{row.name}。", "success")
    return redirect(url_for(".edit", department_id=row.id))


@bp.route(
    "/departments/<int:department_id>/officers/<int:user_id>/unbind",
    methods=["POST"],
    endpoint="unbind",
)
@access.require("admin")
def unbind_officer(department_id: int, user_id: int) -> ResponseReturnValue:
    row = _department_or_404(department_id)
    user = sql().get(AdminUser, user_id) if user_id <= ID_MAX else None
    if user is None or user.department_id != row.id:
        abort(404)
    user.department_id = None
    audit("department.unbind", f"user:{user.id}", department=row.id)
    sql().commit()
    flash(f"{user.username} 已解除与{row.name}的绑定。", "success")
    return redirect(url_for(".edit", department_id=row.id))
