"""The staff console (``/admin/``): hand-offs, training sessions, members, knowledge base, log.

Staff sign in with a username and password (``flask admin create-user``); the signed session
cookie holds their id. Roles decide what each sees: ``admin`` everything, ``editor`` the
knowledge base, ``officer`` training, members and hand-offs, ``mediator`` hand-offs. Every POST
carries a per-session CSRF token. Each view commits once, writing an ``AuditLog`` row with
its change, and only then enqueues pushes to members (a job must never refer to a record a
rollback took back). Words shown to staff live in ``templates/admin/``; flash messages are
the one exception, since they are the view's verdict on what staff typed.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import click
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from jinja2 import TemplateError, TemplateNotFound
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash

from bot.dialogue.replies import org_settings, render_template_text
from bot.extensions import db, sqlite_immediate
from bot.jobs.queue import enqueue_push
from bot.kb import entries as knowledge
from bot.kb.index import unique
from bot.models import (
    AdminUser,
    AuditLog,
    Chamber,
    ConversationLog,
    Follower,
    Handoff,
    HandoffMessage,
    KnowledgeEntry,
    Member,
    MemberRequest,
    Registration,
    TrainingSession,
    UnansweredQuestion,
    utcnow,
)
from bot.services import handoff as handoffs
from bot.services import members, training

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_cli = AppGroup("admin", help="Staff accounts for the admin console.")

ROLES = ("admin", "editor", "officer", "mediator")
# Who may open each section besides ``admin``, who may open everything.
SECTIONS: dict[str, tuple[str, ...]] = {
    "handoffs": ("officer", "mediator"),
    "training": ("officer",),
    "members": ("officer",),
    "kb": ("editor",),
    # The log shows what members asked: curators read it to improve answers.
    "log": ("editor",),
}
PER_PAGE = 50
MIN_PASSWORD = 8
LOGIN_FAILURES = 10  # per username and address, then a pause
LOGIN_PAUSE_SECONDS = 15 * 60
UPLOAD_DIR = "uploads"
UPLOAD_TTL_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TOPIC = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,79}$")  # e.g. chamber.four-good
# Spreadsheet programs run a cell that starts with one of these as a formula; names and
# companies come from WeChat users, so exports neutralise them (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

F = TypeVar("F", bound=Callable[..., Any])


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    # The console is the only user of the session cookie: keep it away from scripts and
    # from cross-site POSTs (the CSRF token is the main defence; SameSite backs it up).
    cfg = state.app.config
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    if not cfg.get("SESSION_COOKIE_SAMESITE"):
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    # The app-wide MAX_CONTENT_LENGTH is sized for WeChat's XML; console forms and roster
    # uploads get their own limits per request (Flask 3.1).
    cfg.setdefault("ADMIN_FORM_MAX_BYTES", 1024 * 1024)
    cfg.setdefault("ADMIN_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)


def sql() -> Session:
    """The request's database session (the scoped proxy's current session, typed)."""
    return db.session()


# -- sign-in, roles, CSRF ---------------------------------------------------------------------
def can(user: AdminUser | None, section: str) -> bool:
    """Whether ``user`` may open ``section`` (a key of ``SECTIONS``)."""
    if user is None:
        return False
    return user.role == "admin" or user.role in SECTIONS.get(section, ())


def current_staff() -> AdminUser | None:
    """The signed-in, active staff account of this request, or None."""
    # Cached per request, not merely per app context: a test (or CLI) that keeps one app
    # context open across requests must not see the previous request's account.
    here = request._get_current_object()  # type: ignore[attr-defined]
    cached = g.get("admin_staff")
    if cached is not None and cached[0] is here:
        return cast(AdminUser | None, cached[1])
    user = None
    uid = session.get("admin_uid")
    if uid is not None:
        user = sql().get(AdminUser, uid)
        # A deactivated account or a changed password ends every open session.
        if user is None or not user.active or session.get("admin_key") != _key(user):
            session.pop("admin_uid", None)
            user = None
    g.admin_staff = (here, user)
    return user


def _remember(user: AdminUser | None) -> None:
    g.admin_staff = (request._get_current_object(), user)  # type: ignore[attr-defined]


def _key(user: AdminUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def staff() -> AdminUser:
    """The signed-in staff account (inside views guarded by ``login_required``)."""
    user = current_staff()
    assert user is not None
    return user


def login_required(*, roles: Iterable[str] = ()) -> Callable[[F], F]:
    """Require a signed-in account; with ``roles``, one of them (``admin`` always passes)."""
    allowed = tuple(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                if request.path.endswith(".json"):
                    return jsonify({"error": "login required"}), 401
                return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
            if allowed and user.role != "admin" and user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


# GET views that write (an audit row, a check-in) besides every POST.
_WRITING_GETS = frozenset({"admin.checkin", "admin.training_export", "admin.member_export"})


@bp.before_request
def _before() -> None:
    limit = "ADMIN_UPLOAD_MAX_BYTES" if request.endpoint == "admin.member_import" else None
    request.max_content_length = int(current_app.config[limit or "ADMIN_FORM_MAX_BYTES"])
    if request.method == "POST" or request.endpoint in _WRITING_GETS:
        # These views read, then write: on SQLite they take the write lock at BEGIN, as a
        # conversation turn does, so a commit from another process in between cannot fail
        # them with "database is locked" (see bot.extensions).
        g.admin_immediate = sqlite_immediate.set(True)
    current_staff()
    if request.method == "POST":
        expected = session.get("csrf") or ""
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        if not expected or not hmac.compare_digest(str(expected), str(sent)):
            abort(400)


@bp.teardown_request
def _teardown(exc: BaseException | None) -> None:
    token = g.pop("admin_immediate", None)
    if token is not None:
        sqlite_immediate.reset(token)


def _safe_next(target: str | None) -> str:
    # Only our own pages: "//evil.example" and "https://…" would leave the console.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return page("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    throttle = f"bot:admin:login-fail:{username}:{request.remote_addr}"
    if _failures(throttle) >= LOGIN_FAILURES:
        flash("登录失败次数过多，请 15 分钟后再试。", "error")
        return page("login.html", next=target, username=username), 429
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
        _count_failure(throttle)
        sql().add(AuditLog(actor=username[:50] or "-", action="login.failed"))
        sql().commit()
        flash("用户名或密码不正确。", "error")
        return page("login.html", next=target, username=username), 401
    # A fresh session on sign-in: nothing set before it (a planted cookie) carries over.
    session.clear()
    session["admin_uid"] = user.id
    session["admin_key"] = _key(user)
    _remember(user)
    sql().add(AuditLog(actor=user.username, action="login", target=f"admin_user:{user.id}"))
    sql().commit()
    return redirect(_safe_next(target))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def _failures(key: str) -> int:
    try:
        return int(current_app.extensions["redis"].get(key) or 0)
    except Exception:  # Redis down: sign-in still works, only unthrottled
        return 0


def _count_failure(key: str) -> None:
    try:
        client = current_app.extensions["redis"]
        client.incr(key)
        client.expire(key, LOGIN_PAUSE_SECONDS)
    except Exception:
        log.warning("could not record a failed console sign-in")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    user = current_staff()
    if user is not None:
        sql().add(AuditLog(actor=user.username, action="logout"))
        sql().commit()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("admin.login"))


# -- rendering helpers ------------------------------------------------------------------------
def page(template: str, **context: Any) -> str:
    """Render ``admin/<template>`` with what every console page needs."""
    user = current_staff()
    nav = {section: can(user, section) for section in SECTIONS}
    return render_template(
        f"admin/{template}",
        staff=user,
        nav=nav,
        csrf_token=csrf_token,
        endpoint=request.endpoint or "",
        org=org_settings(),
        **context,
    )


def audit(action: str, target: str = "", **detail: Any) -> None:
    """Add an audit row to the view's transaction (committed with the change itself)."""
    sql().add(
        AuditLog(
            actor=staff().username,
            action=action,
            target=target,
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else "",
        )
    )


def push(openid: str, template: str, *, notice: bool = False, **context: Any) -> bool:
    """Render a reply template and queue it for ``openid``; False when the queue is down.

    ``notice`` marks news the member did not just ask for (a decision, a cancellation): the
    job may send it as a template message outside the 48-hour window.
    """
    try:
        enqueue_push(openid, render_template_text(template, **context), notice=notice)
    except Exception:
        log.exception("could not queue a push", extra={"openid": openid})
        return False
    return True


def _zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("ORG_TIMEZONE") or "Asia/Shanghai"))


def local_now() -> datetime:
    return training.local_now(str(current_app.config.get("ORG_TIMEZONE") or "Asia/Shanghai"))


def to_local(value: datetime | None) -> datetime | None:
    """A stored UTC timestamp as the organisation's wall-clock time."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(_zone()).replace(tzinfo=None)


@bp.app_template_filter("admin_utc")
def _filter_utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a stored UTC timestamp in local time."""
    local = to_local(value)
    return local.strftime(fmt) if local else ""


@bp.app_template_filter("admin_dt")
def _filter_dt(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a value that is already local (session times, dates)."""
    return value.strftime(fmt) if value else ""


def _int_arg(name: str, default: int = 1) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        return default


def _or_404(model: type[Any], ident: int) -> Any:
    row = sql().get(model, ident)
    if row is None:
        abort(404)
    return row


# -- errors -----------------------------------------------------------------------------------
def _render_error(error: HTTPException) -> ResponseReturnValue:
    # App-wide handlers (unknown /admin/... URLs never reach a blueprint handler), so every
    # other path keeps Flask's default response, like CTFd's render_error fallback.
    prefix = bp.url_prefix or "/admin"
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return error
    code = error.code or 500
    try:
        if code == 500:
            sql().rollback()
        return page(f"{code}.html", error=error), code
    except TemplateNotFound:
        return error
    except Exception:  # the page itself failed (the database is down, say): plain answer
        log.exception("could not render the admin %s page", code)
        return error


for _code in (400, 403, 404, 413, 500):
    bp.app_errorhandler(_code)(_render_error)


# -- dashboard --------------------------------------------------------------------------------
@bp.get("/")
@login_required()
def dashboard() -> ResponseReturnValue:
    s = sql()
    week_ago = utcnow() - timedelta(days=7)

    def count(query: Any) -> int:
        return int(s.execute(query).scalar_one())

    counts = {
        "followers": count(
            select(func.count()).select_from(Follower).where(Follower.subscribed.is_(True))
        ),
        "members": count(select(func.count()).select_from(Member)),
        "bound": count(select(func.count()).select_from(Member).where(Member.openid.is_not(None))),
        "sessions": count(
            select(func.count())
            .select_from(TrainingSession)
            .where(TrainingSession.status == "open", TrainingSession.starts_at > local_now())
        ),
        "waiting": count(
            select(func.count()).select_from(Handoff).where(Handoff.status == "waiting")
        ),
        "active": count(
            select(func.count()).select_from(Handoff).where(Handoff.status == "active")
        ),
        "unanswered": count(
            select(func.count())
            .select_from(UnansweredQuestion)
            .where(
                UnansweredQuestion.resolved.is_(False),
                UnansweredQuestion.last_asked_at >= week_ago,
            )
        ),
        "requests": count(
            select(func.count()).select_from(MemberRequest).where(MemberRequest.status == "pending")
        ),
    }
    recent: list[ConversationLog] = []
    if can(staff(), "log"):
        recent = list(
            s.execute(
                select(ConversationLog).order_by(ConversationLog.at.desc()).limit(15)
            ).scalars()
        )
    upcoming: list[TrainingSession] = []
    if can(staff(), "training"):
        upcoming = list(
            s.execute(
                select(TrainingSession)
                .where(
                    TrainingSession.status.in_(("draft", "open", "closed")),
                    TrainingSession.starts_at >= local_now(),
                )
                .order_by(TrainingSession.starts_at)
                .limit(5)
            ).scalars()
        )
    return page(
        "dashboard.html",
        counts=counts,
        recent=recent,
        upcoming=upcoming,
        seats=_seat_counts() if upcoming else {},
    )


# -- hand-offs --------------------------------------------------------------------------------
HANDOFF_ROLES = SECTIONS["handoffs"]


@bp.get("/handoffs")
@login_required(roles=HANDOFF_ROLES)
def handoff_list() -> ResponseReturnValue:
    rows = handoffs.waiting_list(sql())
    last: dict[int, HandoffMessage] = {}
    for row in rows:
        message = (
            sql()
            .execute(
                select(HandoffMessage)
                .where(HandoffMessage.handoff_id == row.id)
                .order_by(HandoffMessage.id.desc())
                .limit(1)
            )
            .scalar_one_or_none()
        )
        if message is not None:
            last[row.id] = message
    recent = list(
        sql()
        .execute(
            select(Handoff)
            .where(Handoff.status == "closed")
            .order_by(Handoff.closed_at.desc())
            .limit(10)
        )
        .scalars()
    )
    return page(
        "handoffs.html", rows=rows, last=last, names=_names(r.openid for r in rows), recent=recent
    )


def _names(openids: Iterable[str]) -> dict[str, Member]:
    wanted = set(openids)
    if not wanted:
        return {}
    found = sql().execute(select(Member).where(Member.openid.in_(wanted))).scalars()
    return {m.openid: m for m in found if m.openid}


def _thread_json(row: Handoff) -> dict[str, Any]:
    lines = handoffs.thread(sql(), row)
    return {
        "id": row.id,
        "status": row.status,
        "lines": [
            {
                "at": _filter_utc(line["at"], "%m-%d %H:%M"),
                "sender": line["sender"],
                "text": line["text"],
                "staff": line.get("staff") or "",
                "delivery": line.get("delivery") or "",
                "earlier": bool(line["earlier"]),
            }
            for line in lines
        ],
    }


@bp.get("/handoffs/<int:handoff_id>")
@login_required(roles=HANDOFF_ROLES)
def handoff_detail(handoff_id: int) -> ResponseReturnValue:
    row = _or_404(Handoff, handoff_id)
    member = members.by_openid(sql(), row.openid)
    return page("handoff.html", row=row, member=member, data=_thread_json(row))


@bp.get("/handoffs/<int:handoff_id>.json")
@login_required(roles=HANDOFF_ROLES)
def handoff_json(handoff_id: int) -> ResponseReturnValue:
    row = _or_404(Handoff, handoff_id)
    return jsonify(_thread_json(row))


@bp.post("/handoffs/<int:handoff_id>/reply")
@login_required(roles=HANDOFF_ROLES)
def handoff_reply(handoff_id: int) -> ResponseReturnValue:
    row = _or_404(Handoff, handoff_id)
    back = redirect(url_for("admin.handoff_detail", handoff_id=row.id))
    text = request.form.get("text", "").strip()
    limit = int(current_app.config.get("REPLY_MAX_BYTES", 2000))
    if row.status not in handoffs.OPEN:
        flash("该人工会话已结束，无法再回复。", "error")
        return back
    if not text:
        flash("请输入回复内容。", "error")
        return back
    if len(text.encode()) > limit:
        flash(f"回复太长（微信单条消息上限约 {limit // 3} 个汉字），请分成几条发送。", "error")
        return back
    user = staff()
    message = handoffs.add_staff_message(sql(), row, user.username, text, delivery="queued")
    audit("handoff.reply", f"handoff:{row.id}", chars=len(text))
    sql().commit()
    try:
        enqueue_push(row.openid, text, handoff_message=message.id)
    except Exception:
        log.exception("could not queue a hand-off reply", extra={"openid": row.openid})
        flash("回复已记录，但发送队列暂时不可用，请稍后重试或电话联系。", "warning")
    return back


@bp.post("/handoffs/<int:handoff_id>/close")
@login_required(roles=HANDOFF_ROLES)
def handoff_close(handoff_id: int) -> ResponseReturnValue:
    row = _or_404(Handoff, handoff_id)
    if row.status not in handoffs.OPEN:
        flash("该人工会话已经结束。", "info")
        return redirect(url_for("admin.handoff_list"))
    handoffs.close(sql(), row, staff().username)
    audit("handoff.close", f"handoff:{row.id}")
    sql().commit()
    try:
        # The webhook reads this flag to keep the bot quiet; without it the bot answers again.
        current_app.extensions["redis"].delete(f"bot:handoff:{row.openid}")
    except Exception:
        log.exception("could not clear the hand-off flag", extra={"openid": row.openid})
        flash("会话已结束，但缓存暂时不可用：机器人可能稍后才恢复自动回复。", "warning")
    push(row.openid, "replies/human_agent/closed.txt")
    flash("已结束本次人工服务，并通知了对方。", "success")
    return redirect(url_for("admin.handoff_list"))


# -- training sessions ------------------------------------------------------------------------
TRAINING_ROLES = SECTIONS["training"]
SESSION_STATUSES = ("draft", "open", "closed")
EXPORT_COLUMNS = ("id", "session_id", "openid", "name", "company", "phone", "status", "created_at")


def _seat_counts() -> dict[int, dict[str, int]]:
    rows = (
        sql()
        .execute(
            select(Registration.session_id, Registration.status, func.count()).group_by(
                Registration.session_id, Registration.status
            )
        )
        .all()
    )
    counts: dict[int, dict[str, int]] = {}
    for session_id, status, n in rows:
        counts.setdefault(session_id, {})[status] = int(n)
    return counts


@bp.get("/training")
@login_required(roles=TRAINING_ROLES)
def training_list() -> ResponseReturnValue:
    show = request.args.get("show", "current")
    query = select(TrainingSession)
    if show == "current":
        query = query.where(TrainingSession.starts_at >= local_now() - timedelta(days=1))
        query = query.order_by(TrainingSession.starts_at, TrainingSession.id)
    else:
        query = query.order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())
    sessions = list(sql().execute(query).scalars())
    return page("training_list.html", sessions=sessions, counts=_seat_counts(), show=show)


def _session_values(row: TrainingSession | None) -> dict[str, Any]:
    if row is None:
        return {"capacity": "50", "status": "draft", "audience_kind": "anyone"}
    audience = row.audience or "anyone"
    return {
        "title": row.title,
        "kind": row.kind,
        "description": row.description,
        "starts_at": _filter_dt(row.starts_at, "%Y-%m-%dT%H:%M"),
        "ends_at": _filter_dt(row.ends_at, "%Y-%m-%dT%H:%M"),
        "deadline": _filter_dt(row.deadline, "%Y-%m-%dT%H:%M"),
        "place": row.place,
        "online_link": row.online_link,
        "capacity": str(row.capacity),
        "audience_kind": "tag" if audience.startswith("tag:") else audience,
        "audience_tag": audience[4:] if audience.startswith("tag:") else "",
        "status": row.status,
    }


def _parse_local(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    return datetime.fromisoformat(value).replace(second=0, microsecond=0)


def _parse_session(
    form: Mapping[str, str], row: TrainingSession | None
) -> tuple[dict[str, Any], list[str]]:
    """Validate the session form; answer the clean values and the error messages."""
    errors: list[str] = []
    data: dict[str, Any] = {}
    title = form.get("title", "").strip()
    if not title:
        errors.append("请填写培训名称。")
    elif len(title) > 200:
        errors.append("培训名称不能超过 200 个字。")
    data["title"] = title
    data["kind"] = form.get("kind", "").strip()[:50]
    data["description"] = form.get("description", "").strip()
    data["place"] = form.get("place", "").strip()[:300]
    link = form.get("online_link", "").strip()
    if link and not link.startswith(("http://", "https://")):
        errors.append("线上链接需以 http:// 或 https:// 开头。")
    data["online_link"] = link[:500]
    for key, label in (
        ("starts_at", "开始时间"),
        ("ends_at", "结束时间"),
        ("deadline", "报名截止"),
    ):
        try:
            data[key] = _parse_local(form.get(key, ""))
        except ValueError:
            errors.append(f"{label}格式不对，请用日期时间选择器填写。")
            data[key] = None
    starts, ends, deadline = data["starts_at"], data["ends_at"], data["deadline"]
    if starts is None and not any("开始时间" in e for e in errors):
        errors.append("请填写开始时间。")
    if starts and ends and ends <= starts:
        errors.append("结束时间必须晚于开始时间。")
    if starts and deadline and deadline > starts:
        errors.append("报名截止时间不能晚于开始时间。")
    try:
        capacity = int(form.get("capacity", "").strip())
    except ValueError:
        capacity = 0
        errors.append("名额必须是整数。")
    else:
        if capacity < 1:
            errors.append("名额至少为 1。")
        elif row is not None and capacity < row.seats_taken:
            errors.append(f"已有 {row.seats_taken} 人确认报名，名额不能少于 {row.seats_taken}。")
    data["capacity"] = capacity
    kind = form.get("audience_kind", "anyone")
    if kind == "tag":
        tag = form.get("audience_tag", "").strip().replace("，", ",")
        if not tag:
            errors.append("按标签限定对象时，请填写标签。")
        data["audience"] = f"tag:{tag}"[:100]
    elif kind in ("anyone", "members"):
        data["audience"] = kind
    else:
        errors.append("报名对象选择有误。")
    status = form.get("status", "draft")
    if status not in SESSION_STATUSES:
        errors.append("状态选择有误。")
    data["status"] = status
    return data, errors


@bp.route("/training/new", methods=["GET", "POST"])
@login_required(roles=TRAINING_ROLES)
def training_new() -> ResponseReturnValue:
    if request.method == "GET":
        return page("training_form.html", row=None, values=_session_values(None))
    data, errors = _parse_session(request.form, None)
    if errors:
        for message in errors:
            flash(message, "error")
        return page("training_form.html", row=None, values=request.form), 400
    row = TrainingSession(**data)
    sql().add(row)
    sql().flush()
    audit("training.create", f"training_session:{row.id}", title=row.title, status=row.status)
    sql().commit()
    flash("培训已创建。", "success")
    return redirect(url_for("admin.training_detail", session_id=row.id))


@bp.route("/training/<int:session_id>/edit", methods=["GET", "POST"])
@login_required(roles=TRAINING_ROLES)
def training_edit(session_id: int) -> ResponseReturnValue:
    row: TrainingSession = _or_404(TrainingSession, session_id)
    if row.status == "cancelled":
        flash("已取消的培训不能再修改。", "error")
        return redirect(url_for("admin.training_detail", session_id=row.id))
    if request.method == "GET":
        return page("training_form.html", row=row, values=_session_values(row))
    data, errors = _parse_session(request.form, row)
    if errors:
        for message in errors:
            flash(message, "error")
        return page("training_form.html", row=row, values=request.form), 400
    changed = {k: v for k, v in data.items() if getattr(row, k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    sql().flush()
    # More seats than before: the waiting list moves up at once, as a cancellation would.
    promoted = _promote_all(row) if "capacity" in changed else []
    audit(
        "training.update",
        f"training_session:{row.id}",
        fields=sorted(changed),
        promoted=[r.id for r in promoted],
    )
    sql().commit()
    _notify_promoted(promoted)
    flash("培训信息已保存。", "success")
    if promoted:
        flash(f"名额增加，已为候补名单中的 {len(promoted)} 人递补为正式报名。", "info")
    return redirect(url_for("admin.training_detail", session_id=row.id))


def _promote_all(row: TrainingSession) -> list[Registration]:
    promoted = []
    while (moved := training.promote_next(sql(), row.id)) is not None:
        promoted.append(moved)
    sql().refresh(row)
    return promoted


def _notify_promoted(rows: list[Registration]) -> None:
    # The same message a member's own cancellation sends to the one it promotes.
    base = str(current_app.config.get("PUBLIC_BASE_URL", "")).rstrip("/")
    for reg in rows:
        push(
            reg.openid,
            "replies/training_cancel/promoted.txt",
            notice=True,
            s=reg.session,
            checkin=f"{base}/checkin/{reg.checkin_code}",
        )


@bp.get("/training/<int:session_id>")
@login_required(roles=TRAINING_ROLES)
def training_detail(session_id: int) -> ResponseReturnValue:
    row: TrainingSession = _or_404(TrainingSession, session_id)
    regs = list(
        sql()
        .execute(
            select(Registration)
            .where(Registration.session_id == row.id)
            .order_by(Registration.created_at, Registration.id)
        )
        .scalars()
    )
    # Waiting-list places in one pass (the same order promote_next uses).
    places: dict[int, int] = {}
    for reg in regs:
        if reg.status == "waitlisted":
            places[reg.id] = len(places) + 1
    order = {"confirmed": 0, "attended": 0, "waitlisted": 1, "cancelled": 2}
    regs.sort(key=lambda r: order.get(r.status, 3))
    counts = _seat_counts().get(row.id, {})
    return page("training_detail.html", row=row, regs=regs, places=places, counts=counts)


@bp.post("/training/<int:session_id>/status")
@login_required(roles=TRAINING_ROLES)
def training_status(session_id: int) -> ResponseReturnValue:
    row: TrainingSession = _or_404(TrainingSession, session_id)
    status = request.form.get("status", "")
    if status not in ("open", "closed"):
        flash("无效的操作。", "error")
    elif row.status == "cancelled":
        flash("已取消的培训不能再开放或关闭报名。", "error")
    elif row.status != status:
        before = row.status
        row.status = status
        audit("training.status", f"training_session:{row.id}", before=before, after=status)
        sql().commit()
        flash("已开放报名。" if status == "open" else "已关闭报名。", "success")
    back = request.form.get("back")
    return redirect(
        _safe_next(back) if back else url_for("admin.training_detail", session_id=row.id)
    )


@bp.post("/training/<int:session_id>/cancel")
@login_required(roles=TRAINING_ROLES)
def training_cancel(session_id: int) -> ResponseReturnValue:
    row: TrainingSession = _or_404(TrainingSession, session_id)
    if row.status == "cancelled":
        flash("该培训已经取消。", "info")
        return redirect(url_for("admin.training_detail", session_id=row.id))
    affected = training.cancel_session(sql(), row)
    audit("training.cancel", f"training_session:{row.id}", notified=len(affected))
    sql().commit()
    failed = sum(
        not push(
            reg.openid,
            "replies/training_register/session_cancelled.txt",
            notice=True,
            session=row,
            reg=reg,
        )
        for reg in affected
    )
    flash(f"培训已取消，已向 {len(affected) - failed} 位报名者发送通知。", "success")
    if failed:
        flash(f"有 {failed} 条通知未能进入发送队列，请电话联系相关人员。", "warning")
    return redirect(url_for("admin.training_detail", session_id=row.id))


@bp.post("/training/<int:session_id>/attend")
@login_required(roles=TRAINING_ROLES)
def training_attend(session_id: int) -> ResponseReturnValue:
    row: TrainingSession = _or_404(TrainingSession, session_id)
    reg = sql().get(Registration, _form_int("reg_id"))
    if reg is None or reg.session_id != row.id:
        abort(404)
    if reg.status == "confirmed":
        training.check_in(sql(), reg.checkin_code)
        audit("training.attend", f"registration:{reg.id}", session=row.id)
        sql().commit()
        flash(f"已为 {reg.name} 登记签到。", "success")
    elif reg.status != "attended":
        flash(f"{reg.name} 当前不是确认报名状态，不能签到。", "error")
    return redirect(url_for("admin.training_detail", session_id=row.id) + f"#reg-{reg.id}")


def _form_int(name: str) -> int:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        abort(404)


def _registration_rows(session_id: int) -> list[list[Any]]:
    regs = (
        sql()
        .execute(
            select(Registration)
            .where(Registration.session_id == session_id)
            .order_by(Registration.created_at, Registration.id)
        )
        .scalars()
    )
    zone = _zone()
    return [
        [
            r.id,
            r.session_id,
            r.openid,
            r.name,
            r.company,
            r.phone,
            r.status,
            # Stored in UTC; written with its offset so a spreadsheet reader is never misled.
            r.created_at.replace(tzinfo=ZoneInfo("UTC"))
            .astimezone(zone)
            .isoformat(timespec="seconds"),
        ]
        for r in regs
    ]


@bp.get("/training/<int:session_id>/export.<fmt>")
@login_required(roles=TRAINING_ROLES)
def training_export(session_id: int, fmt: str) -> ResponseReturnValue:
    row: TrainingSession = _or_404(TrainingSession, session_id)
    rows = _registration_rows(row.id)
    audit("training.export", f"training_session:{row.id}", format=fmt, rows=len(rows))
    sql().commit()
    return table_file(f"training-{row.id}-registrations", fmt, EXPORT_COLUMNS, rows)


@bp.get("/checkin/<code>")
@login_required(roles=TRAINING_ROLES)
def checkin(code: str) -> ResponseReturnValue:
    """The URL in a member's check-in QR code: scanned at the door by an officer's phone."""
    found = (
        sql()
        .execute(select(Registration).where(Registration.checkin_code == code[:32]))
        .scalar_one_or_none()
    )
    already = found is not None and found.status == "attended"
    reg = training.check_in(sql(), code[:32])
    if reg is not None and not already:
        audit("training.checkin", f"registration:{reg.id}", session=reg.session_id)
        sql().commit()
    return page("checkin.html", reg=reg, found=found, already=already)


# -- members ----------------------------------------------------------------------------------
MEMBER_ROLES = SECTIONS["members"]
MEMBER_COLUMNS = ("id", "name", "company", "position", "phone", "chamber", "openid", "tags")


@bp.get("/members")
@login_required(roles=MEMBER_ROLES)
def member_list() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    chamber = request.args.get("chamber", "")
    bound = request.args.get("bound", "")
    query = select(Member).order_by(Member.id.desc())
    if q:
        query = query.where(
            or_(
                Member.name.contains(q, autoescape=True),
                Member.company.contains(q, autoescape=True),
                Member.mobile.contains(q, autoescape=True),
            )
        )
    if chamber.isdigit():
        query = query.where(Member.chamber_id == int(chamber))
    if bound == "yes":
        query = query.where(Member.openid.is_not(None))
    elif bound == "no":
        query = query.where(Member.openid.is_(None))
    pager = db.paginate(query, page=_int_arg("page"), per_page=PER_PAGE, error_out=False)
    chambers = list(sql().execute(select(Chamber).order_by(Chamber.name)).scalars())
    pending = (
        sql()
        .execute(
            select(func.count()).select_from(MemberRequest).where(MemberRequest.status == "pending")
        )
        .scalar_one()
    )
    return page(
        "members.html",
        pager=pager,
        chambers=chambers,
        q=q,
        chamber=chamber,
        bound=bound,
        pending=pending,
    )


@bp.get("/members/export.<fmt>")
@login_required(roles=MEMBER_ROLES)
def member_export(fmt: str) -> ResponseReturnValue:
    rows = [[r[c] for c in MEMBER_COLUMNS] for r in members.roster_rows(sql())]
    audit("members.export", "members", format=fmt, rows=len(rows))
    sql().commit()
    return table_file("members", fmt, MEMBER_COLUMNS, rows)


def _upload_dir() -> Path:
    path = Path(current_app.instance_path) / UPLOAD_DIR
    path.mkdir(parents=True, exist_ok=True)
    # Uploads wait only for their confirmation; anything older than a day is abandoned.
    cutoff = time.time() - UPLOAD_TTL_SECONDS
    for old in path.glob("roster-*"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass
    return path


def _read_roster(data: bytes, filename: str) -> list[dict[str, str]] | None:
    """The rows of an uploaded roster, or None after flashing why it cannot be read."""
    try:
        return members.read_table(data, filename)
    except ValueError as exc:  # read_table's messages are written for staff
        flash(str(exc), "error")
    except Exception:
        log.warning("unreadable roster upload %r", filename, exc_info=True)
        flash("无法读取该文件，请确认是 CSV 或 XLSX 格式的名册。", "error")
    return None


@bp.route("/members/import", methods=["GET", "POST"])
@login_required(roles=MEMBER_ROLES)
def member_import() -> ResponseReturnValue:
    if request.method == "GET":
        return page("member_import.html", report=None)
    if request.form.get("token"):
        return _confirm_import(request.form["token"])
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的名册文件。", "error")
        return page("member_import.html", report=None), 400
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        flash("只支持 CSV 或 XLSX 文件。", "error")
        return page("member_import.html", report=None), 400
    data = upload.read()
    rows = _read_roster(data, upload.filename)
    if rows is None:
        return page("member_import.html", report=None), 400
    if not rows:
        flash("文件里没有数据行。", "error")
        return page("member_import.html", report=None), 400
    report = members.import_roster(sql(), rows, dry_run=True)
    sql().rollback()  # a dry run writes nothing; make sure nothing lingers
    # The file waits on disk (not in a hidden field: forms are size-limited) under a random
    # token that only this session may redeem.
    token = secrets.token_urlsafe(18)
    (_upload_dir() / f"roster-{token}{suffix}").write_bytes(data)
    session["import_token"] = token
    return page("member_import.html", report=report, token=token, filename=upload.filename)


def _confirm_import(token: str) -> ResponseReturnValue:
    path = None
    if _TOKEN.match(token) and hmac.compare_digest(session.get("import_token") or "", token):
        path = next(iter(_upload_dir().glob(f"roster-{token}.*")), None)
    if path is None:
        flash("上传的文件已过期，请重新选择文件。", "error")
        return page("member_import.html", report=None), 400
    rows = _read_roster(path.read_bytes(), path.name)
    if rows is None:
        return page("member_import.html", report=None), 400
    report = members.import_roster(sql(), rows, dry_run=False)
    audit(
        "members.import",
        "members",
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        errors=len(report.errors),
        duplicates=len(report.duplicates),
    )
    sql().commit()
    path.unlink(missing_ok=True)
    session.pop("import_token", None)
    flash(f"导入完成：新增 {report.created} 人，更新 {report.updated} 人。", "success")
    skipped = len(report.errors) + len(report.duplicates)
    if skipped:
        flash(f"有 {skipped} 行因格式错误或重复被跳过。", "warning")
    return redirect(url_for("admin.member_list"))


@bp.get("/members/requests")
@login_required(roles=MEMBER_ROLES)
def member_requests() -> ResponseReturnValue:
    pending = list(
        sql()
        .execute(
            select(MemberRequest)
            .where(MemberRequest.status == "pending")
            .order_by(MemberRequest.created_at)
        )
        .scalars()
    )
    decided = list(
        sql()
        .execute(
            select(MemberRequest)
            .where(MemberRequest.status != "pending")
            .order_by(MemberRequest.decided_at.desc())
            .limit(20)
        )
        .scalars()
    )
    return page("member_requests.html", pending=pending, decided=decided)


def _pending_request(request_id: int) -> MemberRequest | None:
    row: MemberRequest = _or_404(MemberRequest, request_id)
    if row.status != "pending":
        flash("该申请已经处理过了。", "info")
        return None
    return row


@bp.post("/members/requests/<int:request_id>/approve")
@login_required(roles=MEMBER_ROLES)
def member_approve(request_id: int) -> ResponseReturnValue:
    back = redirect(url_for("admin.member_requests"))
    row = _pending_request(request_id)
    if row is None:
        return back
    try:
        member = members.approve(sql(), row)
    except members.ApprovalConflict as conflict:
        sql().rollback()
        flash(str(conflict), "error")
        return back
    sql().flush()
    audit("members.approve", f"member_request:{row.id}", member=member.id)
    sql().commit()
    push(row.openid, "replies/member_bind/approved.txt", notice=True, member=member, request=row)
    flash(f"已通过“{row.name}”的入会申请并通知本人。", "success")
    return back


@bp.post("/members/requests/<int:request_id>/reject")
@login_required(roles=MEMBER_ROLES)
def member_reject(request_id: int) -> ResponseReturnValue:
    back = redirect(url_for("admin.member_requests"))
    row = _pending_request(request_id)
    if row is None:
        return back
    note = request.form.get("note", "").strip()
    if len(note) > 500:
        flash("驳回说明不能超过 500 个字。", "error")
        return back
    row.status = "rejected"
    row.note = note
    row.decided_at = utcnow()
    audit("members.reject", f"member_request:{row.id}", note=note)
    sql().commit()
    push(row.openid, "replies/member_bind/rejected.txt", notice=True, request=row, note=note)
    flash(f"已驳回“{row.name}”的申请并通知本人。", "success")
    return back


# -- knowledge base ---------------------------------------------------------------------------
KB_ROLES = SECTIONS["kb"]


@bp.get("/kb")
@login_required(roles=KB_ROLES)
def kb_list() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    query = select(KnowledgeEntry).order_by(KnowledgeEntry.topic)
    if q:
        query = query.where(
            or_(
                *(
                    column.contains(q, autoescape=True)
                    for column in (
                        KnowledgeEntry.topic,
                        KnowledgeEntry.title,
                        KnowledgeEntry.question,
                        KnowledgeEntry.paraphrases,
                        KnowledgeEntry.keywords,
                    )
                )
            )
        )
    entries = list(sql().execute(query).scalars())
    open_questions = (
        sql()
        .execute(
            select(func.count())
            .select_from(UnansweredQuestion)
            .where(UnansweredQuestion.resolved.is_(False))
        )
        .scalar_one()
    )
    return page(
        "kb_list.html", entries=entries, q=q, today=date.today(), open_questions=open_questions
    )


def _entry_values(row: KnowledgeEntry | None) -> dict[str, Any]:
    if row is None:
        return {"active": "on"}
    return {
        "topic": row.topic,
        "title": row.title,
        "question": row.question,
        "paraphrases": row.paraphrases,
        "keywords": row.keywords.replace(",", "，"),
        "answer": row.answer,
        "detail": row.detail,
        "source": row.source,
        "region": row.region or "",
        "valid_until": row.valid_until.isoformat() if row.valid_until else "",
        "reviewed": row.reviewed.isoformat() if row.reviewed else "",
        "active": "on" if row.active else "",
    }


def _parse_entry(
    form: Mapping[str, str], row: KnowledgeEntry | None
) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    data: dict[str, Any] = {}
    if row is None:
        topic = form.get("topic", "").strip()
        if not _TOPIC.match(topic):
            errors.append("主题编号只能用小写字母、数字、点、下划线和连字符（2–80 位）。")
        elif sql().execute(select(KnowledgeEntry.id).where(KnowledgeEntry.topic == topic)).first():
            errors.append(f"主题编号“{topic}”已存在。")
        data["topic"] = topic
    for key, label, limit in (
        ("title", "标题", 200),
        ("question", "标准问法", 500),
        ("answer", "答案", 0),
    ):
        value = form.get(key, "").strip()
        if not value:
            errors.append(f"请填写{label}。")
        elif limit and len(value) > limit:
            errors.append(f"{label}不能超过 {limit} 个字。")
        data[key] = value
    lines = [line.strip() for line in form.get("paraphrases", "").splitlines()]
    data["paraphrases"] = "\n".join(unique([x for x in lines if x]))
    words = re.split(r"[,，、;；\n]+", form.get("keywords", ""))
    data["keywords"] = ",".join(unique([w.strip() for w in words if w.strip()]))
    data["detail"] = form.get("detail", "").strip()
    data["source"] = form.get("source", "").strip()[:500]
    data["region"] = form.get("region", "").strip()[:100] or None
    for key, label in (("valid_until", "有效期"), ("reviewed", "审核日期")):
        raw = form.get(key, "").strip()
        try:
            data[key] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.append(f"{label}格式不对，应为 年-月-日。")
            data[key] = None
    data["active"] = form.get("active") == "on"
    # Answers are sandboxed templates (org.* only): a broken one must not reach members.
    kb = current_app.extensions["kb"]
    for key, label in (("answer", "答案"), ("detail", "详细说明")):
        try:
            kb.render_text(data[key], org_settings())
        except TemplateError as exc:
            errors.append(f"{label}中的模板写法有误：{exc.message or exc}")
    return data, errors


def _preview(data: Mapping[str, Any]) -> dict[str, str]:
    kb = current_app.extensions["kb"]
    out = {}
    for key in ("answer", "detail"):
        try:
            out[key] = kb.render_text(str(data.get(key) or ""), org_settings())
        except TemplateError:
            out[key] = ""
    return out


@bp.route("/kb/new", methods=["GET", "POST"])
@bp.route("/kb/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required(roles=KB_ROLES)
def kb_edit(entry_id: int | None = None) -> ResponseReturnValue:
    row: KnowledgeEntry | None = _or_404(KnowledgeEntry, entry_id) if entry_id else None
    if request.method == "GET":
        values = _entry_values(row)
        return page("kb_form.html", row=row, values=values, preview=_preview(values))
    data, errors = _parse_entry(request.form, row)
    if errors or request.form.get("action") == "preview":
        for message in errors:
            flash(message, "error")
        return page("kb_form.html", row=row, values=request.form, preview=_preview(request.form)), (
            400 if errors else 200
        )
    if row is None:
        row = KnowledgeEntry(topic=data.pop("topic"))
        sql().add(row)
        action = "kb.create"
    else:
        action = "kb.update"
    changed = sorted(k for k, v in data.items() if getattr(row, k, None) != v)
    for key, value in data.items():
        setattr(row, key, value)
    sql().flush()
    audit(action, f"knowledge_entry:{row.topic}", fields=changed)
    sql().commit()
    try:
        knowledge.bump_version(current_app.extensions["redis"])
    except Exception:
        log.exception("could not bump the knowledge-base version")
        flash("已保存，但通知各进程更新失败：新答案将在服务重启后生效。", "warning")
    else:
        flash("已保存。各服务进程将在 2 秒内使用新内容。", "success")
    return redirect(url_for("admin.kb_edit", entry_id=row.id))


@bp.get("/kb/unanswered")
@login_required(roles=KB_ROLES)
def kb_unanswered() -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    query = select(UnansweredQuestion)
    if not show_all:
        query = query.where(UnansweredQuestion.resolved.is_(False))
    query = query.order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.last_asked_at.desc())
    pager = db.paginate(query, page=_int_arg("page"), per_page=PER_PAGE, error_out=False)
    topics = {t: i for t, i in sql().execute(select(KnowledgeEntry.topic, KnowledgeEntry.id)).all()}
    return page("kb_unanswered.html", pager=pager, show_all=show_all, topics=topics)


@bp.post("/kb/unanswered/<int:question_id>/resolve")
@login_required(roles=KB_ROLES)
def kb_resolve(question_id: int) -> ResponseReturnValue:
    row: UnansweredQuestion = _or_404(UnansweredQuestion, question_id)
    if not row.resolved:
        row.resolved = True
        audit("kb.resolve", f"unanswered_question:{row.id}", text=row.text[:100])
        sql().commit()
        flash("已标记为已处理。", "success")
    return redirect(url_for("admin.kb_unanswered"))


# -- conversation log -------------------------------------------------------------------------
@bp.get("/log")
@login_required(roles=SECTIONS["log"])
def conversation_log() -> ResponseReturnValue:
    openid = request.args.get("openid", "").strip()
    intent = request.args.get("intent", "").strip()
    query = select(ConversationLog).order_by(ConversationLog.at.desc(), ConversationLog.id.desc())
    if openid:
        query = query.where(ConversationLog.openid == openid)
    if intent:
        query = query.where(ConversationLog.intent == intent)
    pager = db.paginate(query, page=_int_arg("page"), per_page=PER_PAGE, error_out=False)
    intents = [
        i
        for (i,) in sql()
        .execute(select(ConversationLog.intent).distinct().order_by(ConversationLog.intent))
        .all()
        if i
    ]
    return page("log.html", pager=pager, openid=openid, intent=intent, intents=intents)


# -- spreadsheets -----------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_file(stem: str, fmt: str, columns: Iterable[str], rows: list[list[Any]]) -> Response:
    """``rows`` as a CSV (UTF-8 with BOM, which Excel needs for Chinese) or XLSX download."""
    header = list(columns)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        data = io.BytesIO(buffer.getvalue().encode("utf-8-sig"))
        return send_file(
            data, "text/csv; charset=utf-8", as_attachment=True, download_name=f"{stem}.csv"
        )
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(v) for v in row])
        sheet.freeze_panes = "A2"
        for letter, name in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", header, strict=False):
            sheet.column_dimensions[letter].width = 28 if name in ("openid", "company") else 16
        out = io.BytesIO()
        book.save(out)
        out.seek(0)
        return send_file(
            out,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=f"{stem}.xlsx",
        )
    abort(404)


# -- command line -----------------------------------------------------------------------------
def _check_password(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if len(value) < MIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_PASSWORD} characters")
    return value


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
    if sql().execute(select(AdminUser.id).where(AdminUser.username == name)).first():
        raise click.ClickException(f"user {name!r} already exists")
    user = AdminUser(
        username=name,
        password_hash=generate_password_hash(password),
        role=role,
        committee_id=committee,
        department_id=department,
    )
    sql().add(user)
    sql().flush()
    # Read before the commit: afterwards the attributes are expired and would start a
    # new (read) transaction just to print them.
    created = {"id": user.id, "username": user.username}
    target = f"admin_user:{user.id}"
    sql().add(
        AuditLog(
            actor="cli",
            action="admin.create_user",
            target=target,
            detail=json.dumps({"role": role}),
        )
    )
    sql().commit()
    click.echo(json.dumps(created))


@admin_cli.command("set-password")
@click.argument("name")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, callback=_check_password
)
def set_password(name: str, password: str) -> None:
    """Set a staff account's password (signs out its open sessions)."""
    user = sql().execute(select(AdminUser).where(AdminUser.username == name)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {name!r}")
    user.password_hash = generate_password_hash(password)
    changed = {"id": user.id, "username": user.username}
    sql().add(AuditLog(actor="cli", action="admin.set_password", target=f"admin_user:{user.id}"))
    sql().commit()
    click.echo(json.dumps(changed))
