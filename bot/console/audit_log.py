"""The audit log (操作记录, ``/admin/audit``), for admins: who changed what, and when.

Every console change and every ``flask admin …`` command writes an ``AuditLog`` row
(:func:`bot.console.common.audit`); sign-in failures are rows too (the throttle's fallback
counts them). Filters: who (exact), what (an action, or the area before its dot: ``kb``),
the record (its ``table:id`` target, or part of it), a period of local days, and words in
the detail. The same filters download as CSV or XLSX.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select

from bot.console import access, exports, nav
from bot.console.common import PER_PAGE, audit, format_utc, int_arg, render, sql
from bot.console.figures import day_arg, utc_midnight, zone
from bot.extensions import db
from bot.models import AuditLog
from bot.models.base import utcnow

bp = Blueprint("audit", __name__)
ROLES = ("admin",)
nav.register("操作记录", "admin.audit.index", roles=ROLES, order=62, icon="log", group="设置")
COLUMNS = ("at", "actor", "action", "target", "detail")
LABELS = {"at": "时间", "actor": "操作人", "action": "操作", "target": "对象", "detail": "详情"}
MAX_EXPORT = 50_000  # rows in one download; narrow the filters for more


def _filters() -> dict[str, Any]:
    args = request.args
    return {
        "actor": args.get("actor", "").strip()[:50],
        "action": args.get("action", "").strip()[:60],
        "target": args.get("target", "").strip()[:200],
        "q": args.get("q", "").strip()[:100],
        "start": day_arg(args.get("start")),
        "end": day_arg(args.get("end")),
    }


def _query(f: dict[str, Any]) -> Select[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if f["actor"]:
        query = query.where(AuditLog.actor == f["actor"])
    if f["action"]:
        action = f["action"]
        if "." in action:
            query = query.where(AuditLog.action == action)
        else:  # an area: every action it names ("kb" → kb.create, kb.update …)
            query = query.where(AuditLog.action.startswith(action + ".", autoescape=True))
    if f["target"]:
        query = query.where(AuditLog.target.contains(f["target"], autoescape=True))
    if f["q"]:
        query = query.where(AuditLog.detail.contains(f["q"], autoescape=True))
    tz = zone()
    if f["start"] is not None:
        query = query.where(AuditLog.at >= utc_midnight(f["start"], tz))
    if f["end"] is not None:
        query = query.where(AuditLog.at < utc_midnight(f["end"] + timedelta(days=1), tz))
    return query


def detail_of(row: AuditLog) -> Any:
    """The detail as data (a dict from views), or the text as stored."""
    if not row.detail:
        return ""
    try:
        return json.loads(row.detail)
    except ValueError:
        return row.detail


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    f = _filters()
    pager = db.paginate(_query(f), page=int_arg("page"), per_page=PER_PAGE, error_out=False)
    actions = select(AuditLog.action).distinct().order_by(AuditLog.action)
    actors = select(AuditLog.actor).distinct().order_by(AuditLog.actor)
    names = list(sql().execute(actions).scalars())
    return render(
        "audit/index.html",
        pager=pager,
        f=f,
        actions=names,
        areas=sorted({name.split(".", 1)[0] for name in names if "." in name}),
        actors=list(sql().execute(actors).scalars()),
        detail_of=detail_of,
    )


@bp.get("/export.<fmt>")
@access.require(*ROLES)
def export(fmt: str) -> ResponseReturnValue:
    rows = sql().execute(_query(_filters()).limit(MAX_EXPORT)).scalars()
    records = [
        [
            format_utc(r.at, "%Y-%m-%d %H:%M:%S"),
            r.actor,
            r.action,
            r.target,
            r.detail,
        ]
        for r in rows
    ]
    headers = [LABELS[c] for c in COLUMNS]
    response = exports.download(f"audit-{utcnow():%Y%m%d}", fmt, headers, records, worded=False)
    # A download of the audit log is itself an act worth recording.
    used = {k: str(v) for k, v in _filters().items() if v}
    audit("audit.export", fmt, rows=len(records), filters=used)
    sql().commit()
    return response
