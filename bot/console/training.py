"""Training sessions (培训活动): create and edit, open and close, cancel, the registrants,
check-in at the door (``/admin/checkin/<code>``, the member's QR code) and the export.

Times of sessions are local wall-clock times (as staff type them); registrations' stamps are
stored in UTC and shown in local time (``bot.services.clock``).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from bot.console import access, exports, nav
from bot.console.common import audit, local_now, push, render, safe_next, sql, staff
from bot.console.forms import AttendForm, SessionForm, SessionStatusForm
from bot.links import public_url
from bot.models import Registration, TrainingSession
from bot.services import clock, training

bp = Blueprint("training", __name__)
ROLES = ("officer",)
nav.register(
    "培训活动",
    "admin.training.index",
    roles=ROLES,
    order=20,
    icon="training",
    group="服务",
    also=("admin.training.",),
)


def seat_counts() -> dict[int, dict[str, int]]:
    """Registrations per session and status: ``{session_id: {status: n}}``."""
    rows = sql().execute(
        select(Registration.session_id, Registration.status, func.count()).group_by(
            Registration.session_id, Registration.status
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for session_id, status, n in rows.all():
        counts.setdefault(session_id, {})[status] = int(n)
    return counts


@bp.get("/training")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    show = request.args.get("show", "current")
    query = select(TrainingSession)
    if show == "current":
        query = query.where(TrainingSession.starts_at >= local_now() - timedelta(days=1))
        query = query.order_by(TrainingSession.starts_at, TrainingSession.id)
    else:
        query = query.order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())
    sessions = list(sql().execute(access.scoped(query, staff())).scalars())
    return render("training/list.html", sessions=sessions, counts=seat_counts(), show=show)


@bp.route("/training/new", methods=["GET", "POST"])
@access.require(*ROLES)
def new() -> ResponseReturnValue:
    form = SessionForm()
    if request.method == "GET":
        return render("training/form.html", row=None, form=form)
    if not form.validate():
        return render("training/form.html", row=None, form=form), 400
    row = TrainingSession(**form.values())
    sql().add(row)
    sql().flush()
    audit("training.create", f"training_session:{row.id}", title=row.title, status=row.status)
    sql().commit()
    flash("培训已创建。", "success")
    return redirect(url_for(".detail", session_id=row.id))


@bp.route("/training/<int:session_id>/edit", methods=["GET", "POST"])
@access.require(*ROLES)
def edit(session_id: int) -> ResponseReturnValue:
    row = access.get_or_404(TrainingSession, session_id)
    if row.status == "cancelled":
        flash("已取消的培训不能再修改。", "error")
        return redirect(url_for(".detail", session_id=row.id))
    if request.method == "GET":
        return render("training/form.html", row=row, form=SessionForm(row=row))
    form = SessionForm(row=row, data={})
    if not form.validate():
        return render("training/form.html", row=row, form=form), 400
    changed = {k: v for k, v in form.values().items() if getattr(row, k) != v}
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
    return redirect(url_for(".detail", session_id=row.id))


def _promote_all(row: TrainingSession) -> list[Registration]:
    promoted = []
    while (moved := training.promote_next(sql(), row.id)) is not None:
        promoted.append(moved)
    sql().refresh(row)
    return promoted


def _notify_promoted(rows: list[Registration]) -> None:
    # The same message a member's own cancellation sends to the one it promotes.
    for reg in rows:
        push(
            reg.openid,
            "replies/training_cancel/promoted.txt",
            notice=True,
            s=reg.session,
            checkin=public_url("pages.checkin_code", code=reg.checkin_code),
        )


@bp.get("/training/<int:session_id>")
@access.require(*ROLES)
def detail(session_id: int) -> ResponseReturnValue:
    row = access.get_or_404(TrainingSession, session_id)
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
    counts = seat_counts().get(row.id, {})
    return render("training/detail.html", row=row, regs=regs, places=places, counts=counts)


@bp.post("/training/<int:session_id>/status")
@access.require(*ROLES)
def status(session_id: int) -> ResponseReturnValue:
    row = access.get_or_404(TrainingSession, session_id)
    form = SessionStatusForm()
    if not form.validate():
        flash("无效的操作。", "error")
    elif row.status == "cancelled":
        flash("已取消的培训不能再开放或关闭报名。", "error")
    elif row.status != form.status.data:
        before, row.status = row.status, form.status.data
        audit("training.status", f"training_session:{row.id}", before=before, after=row.status)
        sql().commit()
        flash("已开放报名。" if row.status == "open" else "已关闭报名。", "success")
    back = form.back.data
    return redirect(safe_next(back) if back else url_for(".detail", session_id=row.id))


@bp.post("/training/<int:session_id>/cancel")
@access.require(*ROLES)
def cancel(session_id: int) -> ResponseReturnValue:
    row = access.get_or_404(TrainingSession, session_id)
    if row.status == "cancelled":
        flash("该培训已经取消。", "info")
        return redirect(url_for(".detail", session_id=row.id))
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
    return redirect(url_for(".detail", session_id=row.id))


@bp.post("/training/<int:session_id>/attend")
@access.require(*ROLES)
def attend(session_id: int) -> ResponseReturnValue:
    row = access.get_or_404(TrainingSession, session_id)
    form = AttendForm()
    reg = sql().get(Registration, form.reg_id.data) if form.validate() else None
    if reg is None or reg.session_id != row.id:
        abort(404)
    if reg.status == "confirmed":
        training.check_in(sql(), reg.checkin_code)
        audit("training.attend", f"registration:{reg.id}", session=row.id)
        sql().commit()
        flash(f"已为 {reg.name} 登记签到。", "success")
    elif reg.status != "attended":
        flash(f"{reg.name} 当前不是确认报名状态，不能签到。", "error")
    return redirect(url_for(".detail", session_id=row.id) + f"#reg-{reg.id}")


def registrant_rows(session_id: int) -> list[list[Any]]:
    """A session's registrations as rows of ``exports.SESSION_REGISTRANTS``."""
    regs = sql().execute(
        select(Registration)
        .where(Registration.session_id == session_id)
        .order_by(Registration.created_at, Registration.id)
    )
    zone = clock.zone(current_app.config)
    return [
        [
            r.id,
            r.session_id,
            r.session.title,
            r.openid,
            r.name,
            r.company,
            r.position,
            r.phone,
            r.status,
            # Stored in UTC; written with its offset so a spreadsheet reader is never misled.
            r.created_at.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="seconds"),
        ]
        for r in regs.scalars()
    ]


@bp.get("/training/<int:session_id>/export.<fmt>")
@access.require(*ROLES)
def export(session_id: int, fmt: str) -> ResponseReturnValue:
    row = access.get_or_404(TrainingSession, session_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = registrant_rows(row.id)
    audit("training.export", f"training_session:{row.id}", format=fmt, rows=len(rows))
    sql().commit()
    stem = f"training-{row.id}-registrations"
    return exports.download(stem, fmt, exports.SESSION_REGISTRANTS, rows)


@bp.get("/checkin/<code>")
@access.require(*ROLES)
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
    return render("training/checkin.html", reg=reg, found=found, already=already)
