"""The staff console (``/admin/``): the ``admin`` blueprint, one nested blueprint per area.

Areas: ``auth`` (sign-in, Flask-Login), ``dashboard``, ``handoffs``, ``training`` (with the
door check-in), ``members``, ``kb`` and ``log``. Each area registers its sidebar entries
(:mod:`bot.console.nav`) and declares who may open each of its pages
(:func:`bot.console.access.require`); :func:`bot.console.access.scoped` decides which records
they see. Forms are WTForms (:mod:`bot.console.forms`), checked app-wide by CSRFProtect;
downloads go through :mod:`bot.console.exports`. Words staff read live in
``templates/admin/<area>/``; flash messages are the one exception, since they are a view's
verdict on what staff did.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException

from bot.console import (
    access,
    appeals,
    audit_log,
    auth,
    cases,
    dashboard,
    enterprises,
    handoffs,
    kb,
    log,
    members,
    notices,
    reports,
    services,
    training,
    users,
)
from bot.console.common import format_local, format_utc, render, sql
from bot.extensions import sqlite_immediate

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(auth.bp)
bp.register_blueprint(dashboard.bp)
bp.register_blueprint(handoffs.bp, url_prefix="/handoffs")
bp.register_blueprint(training.bp)  # /training/… and the door's /checkin/<code>
bp.register_blueprint(members.bp, url_prefix="/members")
bp.register_blueprint(kb.bp, url_prefix="/kb")
bp.register_blueprint(log.bp, url_prefix="/log")
bp.register_blueprint(cases.bp)  # one area per case kind (/disputes …) and /calendar
bp.register_blueprint(appeals.bp)  # /departments (the appeals' own pages ride on cases.bp)
bp.register_blueprint(enterprises.bp, url_prefix="/enterprises")  # 一企一档
bp.register_blueprint(reports.bp, url_prefix="/reports")
bp.register_blueprint(users.bp, url_prefix="/users")
bp.register_blueprint(audit_log.bp, url_prefix="/audit")
bp.register_blueprint(notices.bp)  # /notices/…
bp.register_blueprint(services.bp)  # /proxy-catalogue, /rosters
# The link printed in members' check-in QR codes, under a name of its own for the code that
# builds it (bot.web.pages): the page itself is the training area's.
bp.add_url_rule("/checkin/<code>", endpoint="checkin", build_only=True)

# GET views that write (an audit row, a check-in) besides every POST.
_WRITING_GETS = frozenset(
    {
        "admin.training.checkin",
        "admin.training.export",
        "admin.members.export",
        "admin.audit.export",
        "admin.reports.workbook",
    }
)
_UPLOADS = frozenset({"admin.members.import_roster", "admin.services.import_catalogue"})
ERROR_CODES = (400, 403, 404, 413, 429, 500)


@bp.url_value_preprocessor
def _prepare_request(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # URL value preprocessors run before every before_request function, the app's too, and
    # CSRFProtect's (app-wide) reads the form: the body limit must be set before that. The
    # app-wide MAX_CONTENT_LENGTH is sized for WeChat's XML; console forms and roster
    # uploads get their own (Flask 3.1 per-request limits).
    limit = "ADMIN_UPLOAD_MAX_BYTES" if endpoint in _UPLOADS else "ADMIN_FORM_MAX_BYTES"
    request.max_content_length = int(current_app.config[limit])
    if request.method == "POST" or endpoint in _WRITING_GETS:
        # These views read, then write: on SQLite they take the write lock at BEGIN, as a
        # conversation turn does, so a commit from another process in between cannot fail
        # them with "database is locked" (see bot.extensions). Set before the first query
        # of the request, the signed-in user's.
        g.admin_immediate = sqlite_immediate.set(True)


@bp.before_request
def _gate() -> ResponseReturnValue | None:
    return access.gate()


@bp.teardown_request
def _teardown(exc: BaseException | None) -> None:
    token = g.pop("admin_immediate", None)
    if token is not None:
        sqlite_immediate.reset(token)


def _forget_request_state(exc: BaseException | None) -> None:
    # Flask-Login and Flask-WTF keep this request's user and CSRF token on ``g``, which
    # lives as long as the app context. A server gives each request its own; a test (or a
    # CLI command) that holds one app context across requests must not hand the next
    # request the previous one's user. (App-wide: an unknown /admin/ URL has no blueprint.)
    if request.blueprint == "webhook":
        return
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def _render_error(error: HTTPException) -> ResponseReturnValue:
    # App-wide handlers (unknown /admin/... URLs never reach a blueprint handler), so every
    # other path keeps Flask's default response, like CTFd's render_error fallback.
    prefix = bp.url_prefix or "/admin"
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return error
    if error.response is not None:
        return error.response  # a page made for this refusal (the sign-in pause)
    code = error.code or 500
    try:
        if code == 500:
            sql().rollback()
        return render(f"{code}.html", error=error), code
    except TemplateNotFound:
        return error
    except Exception:  # the page itself failed (the database is down, say): plain answer
        logger.exception("could not render the admin %s page", code)
        return error


def init_app(app: Flask) -> None:
    """Configure the console on ``app`` and register its blueprint (the factory calls it)."""
    cfg = app.config
    # The console is the only user of the session cookie: keep it away from scripts and
    # from cross-site POSTs (the CSRF token is the main defence; SameSite backs it up).
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    if not cfg.get("SESSION_COOKIE_SAMESITE"):
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg.setdefault("ADMIN_FORM_MAX_BYTES", 1024 * 1024)
    cfg.setdefault("ADMIN_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
    # A token lasts as long as the sign-in: a form left open over lunch still saves.
    cfg.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # WTForms' own messages from its bundled Chinese catalogue (forms.Form.Meta), not Babel.
    cfg.setdefault("WTF_I18N_ENABLED", False)
    app.add_template_filter(format_utc, "admin_utc")
    app.add_template_filter(format_local, "admin_dt")
    app.teardown_request(_forget_request_state)
    for code in ERROR_CODES:
        app.register_error_handler(code, _render_error)
    app.register_blueprint(bp)
