"""The 工作台账 (``/admin/reports``): the federation's figures for a period, in the shape its
annual report asks for, as a page, an XLSX workbook and a print layout.

Sections: training (sessions held, people registered and trained — 人次), every case kind
the engine declares (received, done, solved, the success rate with its numerator and
denominator, amounts: mediation, appeals and the other services appear as they land,
without this module changing), the appeals' three rates (响应率/解决率/满意率, from
``bot.services.cases.appeals.rates`` when it exists: :func:`figures.appeal_figures`),
members and chambers, notices sent (once the notices tables exist).

The three outputs come from one list of rows (section, item, value, detail) rendered by
``templates/admin/reports/_rows.json``: the words are the template's, and the page, the
workbook and the print layout cannot disagree.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from bot.console import access, exports, figures, nav
from bot.console.cases import NAV as CASE_LABELS
from bot.console.common import audit, local_now, render, sql, staff
from bot.models import AdminUser, Chamber, Follower, Member, Registration, TrainingSession
from bot.services.cases import KINDS, stats

bp = Blueprint("reports", __name__)
ROLES = ("officer",)
nav.register(
    "工作台账", "admin.reports.index", roles=ROLES, order=5, icon="report", also=("admin.reports.",)
)
COLUMNS = ("section", "item", "value", "detail")


def training_figures(period: figures.Period) -> dict[str, Any]:
    """Sessions held in the period (started by now, not cancelled), people registered and
    trained (人次: registrations confirmed or attended; attended: checked in)."""
    low, high = period.local()
    high = min(high, local_now())
    held = (
        select(TrainingSession.id, TrainingSession.kind)
        .where(
            TrainingSession.starts_at >= low,
            TrainingSession.starts_at < high,
            TrainingSession.status != "cancelled",
        )
        .subquery()
    )
    by_kind: dict[str, dict[str, int]] = {}
    for kind, n in sql().execute(select(held.c.kind, func.count()).group_by(held.c.kind)):
        by_kind[kind or ""] = {"sessions": int(n), "registered": 0, "attended": 0}
    rows = sql().execute(
        select(held.c.kind, Registration.status, func.count())
        .join(Registration, Registration.session_id == held.c.id)
        .where(Registration.status.in_(("confirmed", "attended")))
        .group_by(held.c.kind, Registration.status)
    )
    for kind, status, n in rows:
        entry = by_kind.setdefault(kind or "", {"sessions": 0, "registered": 0, "attended": 0})
        entry["registered"] += int(n)
        if status == "attended":
            entry["attended"] += int(n)
    total = {
        key: sum(v[key] for v in by_kind.values()) for key in ("sessions", "registered", "attended")
    }
    return {"total": total, "by_kind": dict(sorted(by_kind.items()))}


def case_rows(period: figures.Period, user: AdminUser) -> list[dict[str, Any]]:
    """One row per case kind the engine declares, from its statistics (scoped to ``user``)."""
    out = []
    for kind in KINDS.values():
        report = stats.report(
            sql(), kind, user, start=period.start, end=period.end, zone=figures.zone()
        )
        t = report.total
        out.append(
            {
                "kind": kind.name,
                "label": CASE_LABELS.get(kind.name, (kind.name, 0))[0],
                "received": t.received,
                "open": t.open,
                "done": t.success + t.failure + t.other,
                "success": t.success,
                "failure": t.failure,
                "rate": figures.fraction((t.success, t.decided)),
                "amount": float(t.amount),
                "settled_amount": float(t.settled_amount),
            }
        )
    return out


def member_figures(period: figures.Period) -> dict[str, int]:
    low, high = period.utc(figures.zone())

    def count(model: Any, *where: Any) -> int:
        query = select(func.count()).select_from(model).where(*where)
        return int(sql().execute(query).scalar_one())

    return {
        "members": count(Member, Member.created_at < high),
        "new_members": count(Member, Member.created_at >= low, Member.created_at < high),
        "bound": count(Member, Member.openid.is_not(None), Member.created_at < high),
        "chambers": count(Chamber, Chamber.created_at < high),
        "new_chambers": count(Chamber, Chamber.created_at >= low, Chamber.created_at < high),
        "followers": count(Follower, Follower.subscribed.is_(True)),
    }


def report_figures(period: figures.Period, user: AdminUser) -> dict[str, Any]:
    return {
        "period": period,
        "training": training_figures(period),
        "cases": case_rows(period, user),
        "appeals": figures.appeal_figures(period, user),
        "members": member_figures(period),
        "notices": figures.notice_figures(period),
    }


def report_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as rows, worded by the template (one list for page, XLSX and print)."""
    text = render_template("admin/reports/_rows.json", r=data)
    rows: list[list[Any]] = json.loads(text)
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def _period() -> figures.Period:
    return figures.year_period(request.args, local_now().date())


def _context() -> dict[str, Any]:
    period = _period()
    data = report_figures(period, staff())
    return {"period": period, "data": data, "rows": report_rows(data)}


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    ctx = _context()
    today = local_now().date()
    return render("reports/index.html", years=range(today.year, today.year - 6, -1), **ctx)


@bp.get("/print")
@access.require(*ROLES)
def printable() -> ResponseReturnValue:
    return render("reports/print.html", printed_at=local_now(), **_context())


@bp.get("/report.xlsx")
@access.require(*ROLES)
def workbook() -> ResponseReturnValue:
    ctx = _context()
    period: figures.Period = ctx["period"]
    headers = json.loads(render_template("admin/reports/_headers.json"))
    rows = [[row[c] for c in COLUMNS] for row in ctx["rows"]]
    stem = f"gongzuotaizhang-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    response = exports.download(stem, "xlsx", headers, rows, worded=False)
    audit("reports.export", "xlsx", **period.args())
    sql().commit()
    return response
