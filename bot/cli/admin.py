"""``flask admin …``: staff accounts of the console (create, set a password, deactivate)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from bot.console.access import ROLES
from bot.extensions import db
from bot.models import AdminUser, AuditLog, Committee, Department

admin_cli = AppGroup("admin", help="Staff accounts for the admin console.")

MIN_PASSWORD = 8


def _check_password(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if len(value) < MIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_PASSWORD} characters")
    return value


def _user(name: str) -> AdminUser:
    user = db.session.execute(
        select(AdminUser).where(AdminUser.username == name)
    ).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {name!r}")
    return user


def _record(action: str, user: AdminUser, **detail: object) -> dict[str, object]:
    """Add the audit row; answer what the command prints (read before the commit, which
    expires the attributes and would start a new transaction just to print them)."""
    db.session.flush()
    db.session.add(
        AuditLog(
            actor="cli",
            action=action,
            target=f"admin_user:{user.id}",
            detail=json.dumps(detail, ensure_ascii=False) if detail else "",
        )
    )
    return {"id": user.id, "username": user.username}


@admin_cli.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--committee", type=int, help="Mediation committee id (mediators).")
@click.option("--department", type=int, help="Department id (appeal handlers).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    callback=_check_password,
    help="Prompted for (hidden, twice) when not given.",
)
def create_user(
    name: str, role: str, committee: int | None, department: int | None, password: str
) -> None:
    """Create a staff account for the admin console."""
    name = name.strip()
    if not name or len(name) > 50:
        raise click.ClickException("the username must be 1-50 characters")
    if db.session.execute(select(AdminUser.id).where(AdminUser.username == name)).first():
        raise click.ClickException(f"user {name!r} already exists")
    # Checked here, with a message, rather than left to the foreign key (SQLite may not
    # enforce it, and PostgreSQL's error names a constraint, not the option).
    if committee is not None and db.session.get(Committee, committee) is None:
        raise click.ClickException(
            f"no committee with id {committee} (see `flask export committees`)"
        )
    if department is not None and db.session.get(Department, department) is None:
        raise click.ClickException(
            f"no department with id {department} (see `flask export departments`)"
        )
    user = AdminUser(
        username=name,
        password_hash=generate_password_hash(password),
        role=role,
        committee_id=committee,
        department_id=department,
    )
    db.session.add(user)
    created = _record("admin.create_user", user, role=role)
    db.session.commit()
    click.echo(json.dumps(created))


@admin_cli.command("set-password")
@click.argument("name")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, callback=_check_password
)
def set_password(name: str, password: str) -> None:
    """Set a staff account's password (signs out its open sessions)."""
    user = _user(name)
    user.password_hash = generate_password_hash(password)  # a new session token with it
    changed = _record("admin.set_password", user)
    db.session.commit()
    click.echo(json.dumps(changed))


@admin_cli.command("deactivate")
@click.argument("name")
def deactivate(name: str) -> None:
    """Close a staff account: it cannot sign in, and its open sessions end."""
    user = _user(name)
    user.active = False  # a new session token with it
    changed = _record("admin.deactivate", user)
    db.session.commit()
    click.echo(json.dumps(changed))


@admin_cli.command("unlock")
@click.argument("name")
def unlock(name: str) -> None:
    """Lift the sign-in pause of an account after too many failed attempts."""
    from bot.console.auth import unlock as lift

    user = _user(name)
    cleared = lift(user.username)
    db.session.commit()
    click.echo(json.dumps({"username": user.username, "cleared": cleared}))


@admin_cli.command("set-openid")
@click.argument("name")
@click.argument("openid", required=False, default="")
def set_openid(name: str, openid: str) -> None:
    """Bind an admin's own WeChat (its openid; none unbinds): "#通知 …" from it drafts a
    notice, and mass-send previews go to it."""
    user = _user(name)
    value = openid.strip() or None
    if value is not None:
        if len(value) > 64 or not value.replace("_", "").replace("-", "").isalnum():
            raise click.BadParameter("an openid: letters, digits, '_' and '-'", param_hint="OPENID")
        other = db.session.execute(
            select(AdminUser).where(AdminUser.openid == value, AdminUser.id != user.id)
        ).scalar_one_or_none()
        if other is not None:
            raise click.ClickException(f"that WeChat is bound to {other.username!r} already")
    user.openid = value
    changed = _record("admin.openid", user, bound=value is not None)
    db.session.commit()
    click.echo(json.dumps({**changed, "openid": value}))
