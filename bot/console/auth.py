"""Sign-in and sign-out (Flask-Login), with the login throttle (Flask-Limiter on Redis).

The session cookie holds ``AdminUser.get_id()``: the account's id and its session token.
The token changes with the password and the ``active`` flag (see the model), so the user
loader stops loading the account for every cookie issued before: a changed password or a
deactivated account ends all its sessions at once.

Ten failed sign-ins for one username from one address within 15 minutes pause that pair
(HTTP 429, even with the right password) until the oldest failure is 15 minutes old. Only
failures count (Flask-Limiter's ``deduct_when``). With Redis down the throttle is skipped
and sign-in works unthrottled.
"""

from __future__ import annotations

import functools
import hmac
import math
import secrets
import time

from flask import Blueprint, flash, g, jsonify, make_response, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from bot.console import access
from bot.console.common import render, safe_next, sql
from bot.console.forms import LoginForm
from bot.extensions import limiter, login_manager
from bot.models import AdminUser, AuditLog

bp = Blueprint("auth", __name__)

LOGIN_LIMIT = "10 per 15 minutes"  # failed attempts per username and address


def load_user(ident: str) -> AdminUser | None:
    """The account a session cookie names, if its token is still the account's current one."""
    uid, _, token = ident.partition(":")
    if not uid.isdigit() or not token:
        return None  # a cookie from before tokens (or a forged one)
    user = sql().get(AdminUser, int(uid))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user


def unauthorized() -> ResponseReturnValue:
    """Signed out: pages send to the sign-in page (and back after it), JSON answers 401."""
    if request.path.endswith(".json"):
        return jsonify({"error": "login required"}), 401
    return redirect(url_for("admin.auth.login", next=request.full_path.rstrip("?")))


# Flask-Login's hooks (its decorators are untyped, so registered by call).
login_manager.user_loader(load_user)
login_manager.unauthorized_handler(unauthorized)


def _login_key() -> str:
    username = (request.form.get("username") or "").strip()[:50]
    return f"{username}:{get_remote_address()}"


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _locked_out(limit: RequestLimit) -> Response:
    """The sign-in page again, saying how long the pause lasts."""
    minutes = max(1, math.ceil((limit.reset_at - time.time()) / 60))
    flash(f"登录失败次数过多，请 {minutes} 分钟后再试。", "error")
    form = LoginForm()
    return make_response(render("auth/login.html", form=form), 429)


@bp.route("/login", methods=["GET", "POST"])
@access.public
@limiter.limit(
    LOGIN_LIMIT,
    key_func=_login_key,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_locked_out,
)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
        return render("auth/login.html", form=form)
    if not form.validate():
        return render("auth/login.html", form=form), 400
    username, password = form.username.data, form.password.data
    user = (
        sql().execute(select(AdminUser).where(AdminUser.username == username)).scalar_one_or_none()
    )
    if user is None or not user.active:
        # Same work as a real check, so timing does not reveal which usernames exist.
        check_password_hash(_dummy_hash(), password)
        user = None
    elif not check_password_hash(user.password_hash, password):
        user = None
    if user is None:
        sql().add(AuditLog(actor=username[:50] or "-", action="login.failed"))
        sql().commit()
        flash("用户名或密码不正确。", "error")
        return render("auth/login.html", form=form), 401
    target = form.next.data
    # A fresh session on sign-in: nothing set before it (a planted cookie) carries over.
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the token just cleared
    login_user(user)
    sql().add(AuditLog(actor=user.username, action="login", target=f"admin_user:{user.id}"))
    sql().commit()
    return redirect(safe_next(target))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


@bp.post("/logout")
@access.public
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        sql().add(AuditLog(actor=current_user.username, action="logout"))
        sql().commit()
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("admin.auth.login"))
