"""The services' lists staff keep: the 代办事项清单 (商会+最多跑一次; list, search, XLSX/CSV
import) and the rosters of lawyers, partner banks and 代办员 (add, deactivate).

* ``/admin/proxy-catalogue``: admins and officers see the items; an upload imports them at
  once (items are matched by name and department; the result lists the rows it could not
  read), audited;
* ``/admin/rosters``: admins add a roster row (a console user of the roster's role may be
  named: they then see exactly the cases assigned to them) and deactivate or reactivate one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import or_, select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from bot.console import access, nav
from bot.console.common import audit, render, sql, staff
from bot.console.forms import ActionForm, Form, strip
from bot.models import AdminUser, Chamber, Provider, ProxyItem
from bot.services import catalogue, providers

bp = Blueprint("services", __name__)
CATALOGUE_ROLES = ("admin", "officer", "agent")
ROSTER_ROLES = ("admin",)
KIND_LABELS = {"lawyer": "律师／律所", "bank": "合作银行", "agent": "代办员"}

nav.register(
    "代办事项清单", "admin.services.catalogue", roles=CATALOGUE_ROLES, order=57,
    icon="requests", group="设置",
)  # fmt: skip
nav.register(
    "服务名单", "admin.services.rosters", roles=ROSTER_ROLES, order=58, icon="members",
    group="设置",
)  # fmt: skip


class CatalogueUploadForm(Form):
    file = FileField(
        "CSV 或 Excel（.xlsx）文件",
        [
            FileRequired("请选择要导入的清单文件。"),
            FileAllowed(["csv", "xlsx"], "只支持 CSV 或 XLSX 文件。"),
        ],
    )


class ProviderForm(Form):
    kind = SelectField(
        "名单", choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()], validate_choice=True
    )
    name = StringField("名称", [DataRequired("请填写名称。"), Length(max=200)], filters=[strip])
    organisation = StringField("所属律所／银行", [Optional(), Length(max=200)], filters=[strip])
    contact = StringField("联系电话", [Optional(), Length(max=200)], filters=[strip])
    user_id = SelectField("后台账号", coerce=str, validate_choice=True)
    chamber_id = SelectField("服务的商会（代办员）", coerce=str, validate_choice=True)


def _provider_form(formdata: Any = None) -> ProviderForm:
    form = ProviderForm() if formdata is not None else ProviderForm(formdata=None)
    users = (
        sql()
        .execute(
            select(AdminUser)
            .where(AdminUser.role.in_(tuple(KIND_LABELS)), AdminUser.active.is_(True))
            .order_by(AdminUser.username)
        )
        .scalars()
    )
    form.user_id.choices = [SelectChoice("", "—（由部门工作人员转交）")] + [
        SelectChoice(str(u.id), f"{u.username}（{u.role}）") for u in users
    ]
    chambers = sql().execute(select(Chamber).order_by(Chamber.name)).scalars()
    form.chamber_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(c.id), c.name) for c in chambers
    ]
    return form


# -- the catalogue -----------------------------------------------------------------------------
def _catalogue_page(form: CatalogueUploadForm, result: Any = None) -> str:
    q = request.args.get("q", "").strip()
    query = select(ProxyItem).order_by(ProxyItem.department, ProxyItem.id)
    if q:
        query = query.where(
            or_(
                ProxyItem.name.contains(q, autoescape=True),
                ProxyItem.keywords.contains(q, autoescape=True),
                ProxyItem.department.contains(q, autoescape=True),
            )
        )
    items = list(sql().execute(query).scalars())
    return render(
        "services/catalogue.html",
        items=items,
        q=q,
        form=form,
        result=result,
        can_import=access.allowed(staff(), ("admin", "officer")),
    )


@bp.get("/proxy-catalogue", endpoint="catalogue")
@access.require(*CATALOGUE_ROLES)
def catalogue_view() -> ResponseReturnValue:
    return _catalogue_page(CatalogueUploadForm(formdata=None))


@bp.post("/proxy-catalogue/import")
@access.require("admin", "officer")
def import_catalogue() -> ResponseReturnValue:
    form = CatalogueUploadForm()
    if not form.validate():
        return _catalogue_page(form), 400
    upload = form.file.data
    content = upload.read()
    try:
        if str(upload.filename or "").lower().endswith(".xlsx"):
            table = catalogue.read_xlsx(content)
        else:
            table = catalogue.read_csv(content)
    except Exception:  # a damaged or mislabelled file: say so, never a 500
        form.file.errors.append("文件无法读取，请确认是 CSV（UTF-8）或 XLSX 文件。")
        return _catalogue_page(form), 400
    result = catalogue.import_table(sql(), table)
    if not result.created and not result.updated:
        sql().rollback()
        form.file.errors.extend(result.errors or ["文件里没有可导入的事项。"])
        return _catalogue_page(form), 400
    audit(
        "services.catalogue_import",
        str(upload.filename or ""),
        created=result.created,
        updated=result.updated,
        errors=len(result.errors),
    )
    sql().commit()
    return _catalogue_page(CatalogueUploadForm(formdata=None), result)


# -- the rosters -------------------------------------------------------------------------------
def _rosters_page(form: ProviderForm) -> str:
    rows = providers.listed(sql())
    users = {u.id: u for u in sql().execute(select(AdminUser)).scalars()}
    chambers = {c.id: c.name for c in sql().execute(select(Chamber)).scalars()}
    return render(
        "services/rosters.html",
        rows=rows,
        users=users,
        chambers=chambers,
        labels=KIND_LABELS,
        form=form,
        toggle=ActionForm(formdata=None),
    )


@bp.get("/rosters")
@access.require(*ROSTER_ROLES)
def rosters() -> ResponseReturnValue:
    return _rosters_page(_provider_form())


@bp.post("/rosters")
@access.require(*ROSTER_ROLES)
def add_provider() -> ResponseReturnValue:
    form = _provider_form(request.form)
    if not form.validate():
        return _rosters_page(form), 400
    user = sql().get(AdminUser, int(form.user_id.data)) if form.user_id.data else None
    chamber = sql().get(Chamber, int(form.chamber_id.data)) if form.chamber_id.data else None
    try:
        row = providers.add(
            sql(), form.kind.data or "", form.name.data or "", user=user,
            organisation=form.organisation.data or "", contact=form.contact.data or "",
            chamber=chamber,
        )  # fmt: skip
    except providers.RosterRefused as refused:
        sql().rollback()
        form.user_id.errors = [*form.user_id.errors, _refusal(refused)]
        return _rosters_page(form), 400
    audit("services.roster_add", f"{row.kind}:{row.id}", name=row.name, user=row.user_id)
    sql().commit()
    flash(f"已加入{KIND_LABELS[row.kind]}名单：{row.name}", "success")
    return redirect(url_for("admin.services.rosters"))


@bp.post("/rosters/<int:provider_id>/toggle")
@access.require(*ROSTER_ROLES)
def toggle_provider(provider_id: int) -> ResponseReturnValue:
    form = ActionForm()
    row = sql().get(Provider, provider_id)
    if row is None or not form.validate():
        return redirect(url_for("admin.services.rosters"))
    row.active = not row.active
    audit("services.roster_toggle", f"{row.kind}:{row.id}", active=row.active)
    sql().commit()
    return redirect(url_for("admin.services.rosters"))


def _refusal(refused: providers.RosterRefused) -> str:
    from bot.dialogue.replies import Reply
    from bot.dialogue.replies import render as render_reply

    return render_reply(Reply(refused.template, refused.context))
