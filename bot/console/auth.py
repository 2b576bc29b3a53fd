"""Sign-in and sign-out (Flask-Login), with the login throttle (Flask-Limiter on Redis).

The session cookie holds ``AdminUser.get_id()``: the account's id and its session token.
The token changes with the password and the ``active`` flag (see the model), so the user
loader stops loading the account for every cookie issued before: a changed password or a
deactivated account ends all its sessions at once.

Failed sign-ins are counted per account and per client address separately (the address
is the real client's: behind nginx, ProxyFix with ``PROXY_COUNT``): 20 failures for one
account or 10 from one address within 15 minutes pause sign-in for it (HTTP 429, even with
the right password) until the oldest failure is 15 minutes old. Only failures count
(Flask-Limiter's ``deduct_when``). An admin lifts an account's pause with
``flask admin unlock NAME``. With Redis down the same limits are counted from the audit log
in the database instead, so the throttle never simply switches off.

Signing out changes the account's session token, so a cookie saved before the sign-out
(copied, or kept by a shared computer) no longer opens the console.
"""

from __future__ import annotations

import functools
import hmac
import math
import secrets
import time
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from bot.console import access
from bot.console.common import render, safe_next, sql
from bot.console.forms import LoginForm
from bot.extensions import limiter, login_manager
from bot.models import AdminUser, AuditLog, utcnow
from bot.models.staff import new_session_token

bp = Blueprint("auth", __name__)

ACCOUNT_LIMIT, ACCOUNT_FAILURES = "20 per 15 minutes", 20  # failures per account
ADDRESS_LIMIT, ADDRESS_FAILURES = "10 per 15 minutes", 10  # failures per client address
WINDOW = timedelta(minutes=15)


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


def _username() -> str:
    return (request.form.get("username") or "").strip()[:50]


def _account_key() -> str:
    return f"account:{_username()}"


def _address_key() -> str:
    return f"address:{get_remote_address()}"


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
    ACCOUNT_LIMIT,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_locked_out,
)
@limiter.limit(
    ADDRESS_LIMIT,
    key_func=_address_key,
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
    if _paused_while_redis_is_down(username):
        flash("登录失败次数过多，请 15 分钟后再试。", "error")
        return render("auth/login.html", form=form), 429
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
        address = f"address:{get_remote_address()}"[:200]
        sql().add(AuditLog(actor=username[:50] or "-", action="login.failed", target=address))
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
        # Every cookie naming the old token stops loading the account, the one a browser
        # (or anyone who copied it) kept included.
        user = sql().get(AdminUser, current_user.id)
        if user is not None:
            user.session_token = new_session_token()
        sql().add(AuditLog(actor=current_user.username, action="logout"))
        sql().commit()
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("admin.auth.login"))


def _paused_while_redis_is_down(username: str) -> bool:
    """With Redis unreachable (Flask-Limiter then lets every attempt through), the same
    limits counted from the failures the audit log holds; otherwise False."""
    try:
        current_app.extensions["redis"].ping()
        return False
    except Exception:
        pass
    since = utcnow() - WINDOW
    unlocked = (
        sql()
        .execute(
            select(func.max(AuditLog.at)).where(
                AuditLog.action == "login.unlock", AuditLog.target == f"account:{username}"
            )
        )
        .scalar()
    )
    if unlocked is not None and unlocked > since:
        since = unlocked
    failures = (
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "login.failed", AuditLog.at >= since)
    )
    by_account = sql().execute(failures.where(AuditLog.actor == username[:50])).scalar_one()
    address = f"address:{get_remote_address()}"[:200]
    by_address = sql().execute(failures.where(AuditLog.target == address)).scalar_one()
    return by_account >= ACCOUNT_FAILURES or by_address >= ADDRESS_FAILURES


def unlock(username: str) -> int:
    """Lift the sign-in pause of an account (both the Redis counters and the database
    fallback's); answers how many counters were cleared. The caller commits."""
    cleared = 0
    try:
        client = current_app.extensions["redis"]
        for key in client.scan_iter(match=f"bot:limit*account:{username}*", count=500):
            cleared += int(client.delete(key))
    except Exception:
        pass  # Redis down: the fallback counts only failures after the unlock below
    sql().add(AuditLog(actor="admin-cli", action="login.unlock", target=f"account:{username}"))
    return cleared
