"""Staff accounts (账号与角色, ``/admin/users``), for admins only.

An admin creates an account with its role (:data:`bot.console.access.ROLES`) and, for the
roles that work on records of one committee or department, binds it there; changes the
role or binding; sets a new password; deactivates or reactivates it; lifts a sign-in pause.
The model rotates the account's session token when the password or the ``active`` flag
changes, so a reset or a deactivation ends every open session of the account at once.
Every change is audited (the same action names as ``flask admin …``).

Two guards keep the console reachable: nobody deactivates or demotes their own account
here, and the last active admin cannot be deactivated or demoted.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from bot.console import access, auth, nav
from bot.console.common import PER_PAGE, audit, int_arg, render, sql, staff
from bot.console.forms import Form, strip
from bot.extensions import db
from bot.models import AdminUser, AuditLog, Committee, Department

bp = Blueprint("users", __name__)
ROLES = ("admin",)
nav.register(
    "账号与角色",
    "admin.users.index",
    roles=ROLES,
    order=61,
    icon="members",
    group="设置",
    also=("admin.users.",),
)
MIN_PASSWORD = 8  # as `flask admin create-user`
# The role names staff read (the badge labels of macros/ui.html say the same).
ROLE_LABELS = {
    "admin": "管理员",
    "mediator": "调解员",
    "officer": "业务专员",
    "editor": "知识库编辑",
    "lawyer": "律师",
    "bank": "金融专员",
    "agent": "代办员",
}


class UserForm(Form):
    """An account's role and binding; ``username`` only when it is new."""

    username = StringField(
        "用户名",
        [
            DataRequired("请填写用户名。"),
            Length(max=50, message="用户名不能超过 50 个字符。"),
            Regexp(r"^[^\s]+$", message="用户名不能包含空格。"),
        ],
        filters=[strip],
    )
    role = SelectField(
        "角色",
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in access.ROLES],
        validate_choice=True,
    )
    committee_id = SelectField("所属调解委员会", coerce=str, validate_choice=True)
    department_id = SelectField("所属部门", coerce=str, validate_choice=True)
    openid = StringField(
        "本人微信 openid",
        [Optional(), Length(max=64, message="openid 不能超过 64 个字符。")],
        filters=[strip],
    )
    password = PasswordField(
        "初始密码",
        [
            DataRequired("请设置初始密码。"),
            Length(min=MIN_PASSWORD, max=200, message=f"密码至少 {MIN_PASSWORD} 位。"),
        ],
    )

    def __init__(self, *args: Any, row: AdminUser | None = None, **kwargs: Any) -> None:
        if row is not None and "data" not in kwargs:
            kwargs["data"] = {
                "role": row.role,
                "committee_id": str(row.committee_id or ""),
                "department_id": str(row.department_id or ""),
                "openid": row.openid or "",
            }
        super().__init__(*args, **kwargs)
        self.row = row
        if row is not None:
            del self.username
            del self.password
        committees = sql().execute(select(Committee.id, Committee.name).order_by(Committee.id))
        departments = sql().execute(select(Department.id, Department.name).order_by(Department.id))
        self.committee_id.choices = [SelectChoice("", "（不绑定）")] + [
            SelectChoice(str(i), name) for i, name in committees
        ]
        self.department_id.choices = [SelectChoice("", "（不绑定）")] + [
            SelectChoice(str(i), name) for i, name in departments
        ]

    def validate_username(self, field: Any) -> None:
        taken = select(AdminUser.id).where(AdminUser.username == field.data)
        if sql().execute(taken).first():
            raise ValidationError("该用户名已被使用。")

    def validate_openid(self, field: Any) -> None:
        if not field.data:
            return
        query = select(AdminUser.id).where(AdminUser.openid == field.data)
        if self.row is not None:
            query = query.where(AdminUser.id != self.row.id)
        if sql().execute(query).first():
            raise ValidationError("该 openid 已绑定到其他账号。")

    def values(self) -> dict[str, Any]:
        return {
            "role": self.role.data,
            "committee_id": int(self.committee_id.data) if self.committee_id.data else None,
            "department_id": int(self.department_id.data) if self.department_id.data else None,
            "openid": self.openid.data or None,
        }


class PasswordForm(Form):
    password = PasswordField(
        "新密码",
        [
            DataRequired("请填写新密码。"),
            Length(min=MIN_PASSWORD, max=200, message=f"密码至少 {MIN_PASSWORD} 位。"),
        ],
    )
    confirm = PasswordField("再次输入", [EqualTo("password", message="两次输入的密码不一致。")])


def _active_admins() -> int:
    query = select(func.count()).select_from(AdminUser)
    query = query.where(AdminUser.role == "admin", AdminUser.active.is_(True))
    return int(sql().execute(query).scalar_one())


def _would_strand(row: AdminUser, *, role: str | None = None, active: bool | None = None) -> str:
    """Why this change must not be made (empty when it may): self-lockout or no admin left."""
    demoted = role is not None and row.role == "admin" and role != "admin"
    closed = active is False and row.active
    if not (demoted or closed):
        return ""
    if row.id == staff().id:
        return "不能停用或降级自己的账号，请让另一位管理员操作。"
    if row.role == "admin" and row.active and _active_admins() <= 1:
        return "这是最后一个启用的管理员账号，不能停用或降级。"
    return ""


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    role = request.args.get("role", "")
    state = request.args.get("state", "")
    query = select(AdminUser).order_by(AdminUser.active.desc(), AdminUser.username)
    if role in access.ROLES:
        query = query.where(AdminUser.role == role)
    if state in ("active", "inactive"):
        query = query.where(AdminUser.active.is_(state == "active"))
    pager = db.paginate(query, page=int_arg("page"), per_page=PER_PAGE, error_out=False)
    names = [u.username for u in pager.items]
    # The last sign-in of each account on the page, from the audit log (no column for it).
    signed_in: dict[str, Any] = {}
    if names:
        last = (
            select(AuditLog.actor, func.max(AuditLog.at))
            .where(AuditLog.action == "login", AuditLog.actor.in_(names))
            .group_by(AuditLog.actor)
        )
        signed_in = {actor: at for actor, at in sql().execute(last).all()}
    return render(
        "users/list.html",
        pager=pager,
        role=role,
        state=state,
        role_labels=ROLE_LABELS,
        signed_in=signed_in,
    )


@bp.route("/new", methods=["GET", "POST"])
@access.require(*ROLES)
def new() -> ResponseReturnValue:
    form = UserForm()
    if request.method == "POST":
        if form.validate():
            row = AdminUser(
                username=form.username.data,
                password_hash=generate_password_hash(form.password.data),
                **form.values(),
            )
            sql().add(row)
            sql().flush()
            audit("admin.create_user", f"admin_user:{row.id}", role=row.role)
            sql().commit()
            flash(f"已创建账号 {row.username}。", "success")
            return redirect(url_for(".edit", user_id=row.id))
        return render("users/form.html", form=form, row=None), 400
    return render("users/form.html", form=form, row=None)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@access.require(*ROLES)
def edit(user_id: int) -> ResponseReturnValue:
    row = access.get_or_404(AdminUser, user_id)
    form = UserForm(row=row) if request.method == "GET" else UserForm(row=row, data={})
    if request.method == "POST":
        if not form.validate():
            return _page(row, form), 400
        values = form.values()
        refusal = _would_strand(row, role=values["role"])
        if refusal:
            flash(refusal, "error")
            return _page(row, form), 400
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        for key, value in changed.items():
            setattr(row, key, value)
        if changed:
            audit("admin.update_user", f"admin_user:{row.id}", **changed)
            sql().commit()
            flash("已保存。", "success")
        return redirect(url_for(".edit", user_id=row.id))
    return _page(row, form)


def _page(row: AdminUser, form: UserForm, password: PasswordForm | None = None) -> str:
    return render(
        "users/form.html",
        form=form,
        row=row,
        password_form=password or PasswordForm(formdata=None),
        role_labels=ROLE_LABELS,
    )


@bp.post("/<int:user_id>/password")
@access.require(*ROLES)
def password(user_id: int) -> ResponseReturnValue:
    row = access.get_or_404(AdminUser, user_id)
    form = PasswordForm()
    if not form.validate():
        return _page(row, UserForm(row=row), form), 400
    row.password_hash = generate_password_hash(form.password.data)  # ends its sessions
    audit("admin.set_password", f"admin_user:{row.id}")
    sql().commit()
    flash(f"已为 {row.username} 设置新密码，该账号已登录的会话全部失效。", "success")
    if row.id == staff().id:
        return redirect(url_for("admin.auth.login"))
    return redirect(url_for(".edit", user_id=row.id))


@bp.post("/<int:user_id>/active")
@access.require(*ROLES)
def set_active(user_id: int) -> ResponseReturnValue:
    row = access.get_or_404(AdminUser, user_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    active = wanted == "1"
    refusal = _would_strand(row, active=active)
    if refusal:
        flash(refusal, "error")
        return redirect(url_for(".edit", user_id=row.id))
    if row.active != active:
        row.active = active  # a new session token: its open sessions end
        audit("admin.activate" if active else "admin.deactivate", f"admin_user:{row.id}")
        sql().commit()
        flash(f"已{'启用' if active else '停用'}账号 {row.username}。", "success")
    return redirect(url_for(".edit", user_id=row.id))


@bp.post("/<int:user_id>/unlock")
@access.require(*ROLES)
def unlock(user_id: int) -> ResponseReturnValue:
    row = access.get_or_404(AdminUser, user_id)
    auth.unlock(row.username)
    audit("admin.unlock", f"admin_user:{row.id}")
    sql().commit()
    flash(f"已解除 {row.username} 的登录锁定。", "success")
    return redirect(url_for(".edit", user_id=row.id))
