"""What every console area uses: rendering a page, the audit trail, pushes to members.

Each view commits once, its ``AuditLog`` row (:func:`audit`) in the same transaction as its
change, and only then queues pushes to members (:func:`push`): a job must never refer to a
record a rollback took back.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.console import access, nav
from bot.console.forms import ActionForm
from bot.dialogue.replies import org_settings, render_template_text
from bot.extensions import db
from bot.jobs.queue import enqueue_push
from bot.models import AdminUser, AuditLog
from bot.services import clock
from bot.web.guards import bounded_int

log = logging.getLogger(__name__)

PER_PAGE = 50


def sql() -> Session:
    """The request's database session (the scoped proxy's current session, typed)."""
    return db.session()


def staff() -> AdminUser:
    """The signed-in staff account (in views the gate and ``require`` admitted)."""
    user = current_user._get_current_object()
    assert isinstance(user, AdminUser)
    return user


def render(template: str, **context: Any) -> str:
    """Render ``admin/<template>`` with what every console page needs."""
    user = current_user._get_current_object()
    return render_template(
        f"admin/{template}",
        org=org_settings(),
        action=ActionForm(formdata=None),  # the token of the page's buttons (macros/forms.html)
        nav_entries=nav.registry.visible(user),
        endpoint=request.endpoint or "",
        can_open=lambda endpoint: access.can_open(user, endpoint),
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


def safe_next(target: str | None) -> str:
    """``target`` if it is a console page, else the dashboard."""
    # Only our own pages: "//evil.example" and "https://…" would leave the console.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard.index")


# Pages past this are empty anyway; bounding them keeps (page - 1) × PER_PAGE, the SQL
# OFFSET, inside a BIGINT.
MAX_PAGE = 1_000_000


def int_arg(name: str, default: int = 1, *, maximum: int = MAX_PAGE) -> int:
    """A positive integer query argument (a page number), ``default`` when absent or bad;
    at most ``maximum``."""
    value = bounded_int(request.args.get(name), default, minimum=1)
    return default if value is None else min(value, maximum)


def id_arg(name: str) -> int | None:
    """A record id from the query string (a filter), or None when absent or not an id."""
    return bounded_int(request.args.get(name), None, minimum=1)


def local_now() -> datetime:
    """The organisation's wall-clock time now (naive)."""
    return clock.local_now(current_app.config)


def to_local(value: datetime | None) -> datetime | None:
    """A stored UTC timestamp as the organisation's wall-clock time."""
    return clock.to_local(value, current_app.config)


def format_utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """The ``admin_utc`` filter: a stored UTC timestamp, shown in local time."""
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def format_local(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """The ``admin_dt`` filter: a value that is local already (session times, dates)."""
    return value.strftime(fmt) if value else ""
