"""Members (会员名册): the roster, its export, the roster import, and join/bind requests.

A roster upload is checked first (a dry run that writes nothing) and imported only when
staff confirm; between the two steps the file waits in ``instance/uploads`` under a random
token that only the uploading session may redeem.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select

from bot.console import access, exports, nav
from bot.console.common import PER_PAGE, audit, id_arg, int_arg, push, render, sql, staff
from bot.console.forms import RejectForm, RosterConfirmForm, RosterUploadForm, first_errors
from bot.extensions import db
from bot.models import Chamber, Member, MemberRequest, utcnow
from bot.services import members

log = logging.getLogger(__name__)

bp = Blueprint("members", __name__)
ROLES = ("officer",)
nav.register(
    "会员名册",
    "admin.members.index",
    roles=ROLES,
    order=30,
    icon="members",
    group="服务",
    also=("admin.members.import_roster", "admin.members.export"),
)
nav.register(
    "入会申请", "admin.members.requests", roles=ROLES, order=31, icon="requests", group="服务"
)

UPLOAD_DIR = "uploads"
UPLOAD_TTL_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def pending_requests() -> int:
    query = select(func.count()).select_from(MemberRequest).where(MemberRequest.status == "pending")
    return int(sql().execute(access.scoped(query, staff())).scalar_one())


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
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
    chamber_id = id_arg("chamber")
    if chamber_id is not None:
        query = query.where(Member.chamber_id == chamber_id)
    if bound == "yes":
        query = query.where(Member.openid.is_not(None))
    elif bound == "no":
        query = query.where(Member.openid.is_(None))
    pager = db.paginate(
        access.scoped(query, staff()), page=int_arg("page"), per_page=PER_PAGE, error_out=False
    )
    chambers = list(sql().execute(select(Chamber).order_by(Chamber.name)).scalars())
    return render(
        "members/list.html",
        pager=pager,
        chambers=chambers,
        q=q,
        chamber=chamber,
        bound=bound,
        pending=pending_requests(),
    )


@bp.get("/export.<fmt>")
@access.require(*ROLES)
def export(fmt: str) -> ResponseReturnValue:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = exports.rows_of(members.roster_rows(sql()), exports.MEMBERS)
    audit("members.export", "members", format=fmt, rows=len(rows))
    sql().commit()
    return exports.download("members", fmt, exports.MEMBERS, rows)


# -- roster import --------------------------------------------------------------------------------
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


def _read_roster(data: bytes, filename: str) -> tuple[list[dict[str, str]] | None, str]:
    """The rows of an uploaded roster, or None and why it cannot be read (for staff)."""
    try:
        return members.read_table(data, filename), ""
    except ValueError as exc:  # read_table's messages are written for staff
        return None, str(exc)
    except Exception:
        log.warning("unreadable roster upload %r", filename, exc_info=True)
        return None, "无法读取该文件，请确认是 CSV 或 XLSX 格式的名册。"


def _import_page(form: RosterUploadForm, **context: object) -> str:
    return render("members/import.html", form=form, report=None, **context)


@bp.route("/import", methods=["GET", "POST"])
@access.require(*ROLES)
def import_roster() -> ResponseReturnValue:
    if request.method == "POST" and "token" in request.form:
        return _confirm_import(RosterConfirmForm())
    form = RosterUploadForm()
    if request.method == "GET":
        return _import_page(form)
    if not form.validate():
        return _import_page(form), 400
    upload = form.file.data
    data = upload.read()
    rows, problem = _read_roster(data, upload.filename)
    if rows is not None and not rows:
        problem = "文件里没有数据行。"
    if problem:
        form.file.errors.append(problem)
        return _import_page(form), 400
    assert rows is not None
    report = members.import_roster(sql(), rows, dry_run=True)
    sql().rollback()  # a dry run writes nothing; make sure nothing lingers
    # The file waits on disk (not in a hidden field: forms are size-limited) under a random
    # token that only this session may redeem.
    token = secrets.token_urlsafe(18)
    suffix = Path(upload.filename).suffix.lower()
    (_upload_dir() / f"roster-{token}{suffix}").write_bytes(data)
    session["import_token"] = token
    confirm = RosterConfirmForm(formdata=None, token=token)
    return render(
        "members/import.html",
        form=RosterUploadForm(formdata=None),
        report=report,
        confirm=confirm,
        filename=upload.filename,
    )


def _confirm_import(form: RosterConfirmForm) -> ResponseReturnValue:
    token = form.token.data or ""
    path = None
    if (
        form.validate()
        and _TOKEN.match(token)
        and hmac.compare_digest(session.get("import_token") or "", token)
    ):
        path = next(iter(_upload_dir().glob(f"roster-{token}.*")), None)
    upload = RosterUploadForm(formdata=None)
    if path is None:
        flash("上传的文件已过期，请重新选择文件。", "error")
        return _import_page(upload), 400
    rows, problem = _read_roster(path.read_bytes(), path.name)
    if rows is None:
        flash(problem, "error")
        return _import_page(upload), 400
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
    return redirect(url_for(".index"))


# -- join and bind requests -----------------------------------------------------------------------
@bp.get("/requests")
@access.require(*ROLES)
def requests() -> ResponseReturnValue:
    pending = (
        select(MemberRequest)
        .where(MemberRequest.status == "pending")
        .order_by(MemberRequest.created_at)
    )
    decided = (
        select(MemberRequest)
        .where(MemberRequest.status != "pending")
        .order_by(MemberRequest.decided_at.desc())
        .limit(20)
    )
    return render(
        "members/requests.html",
        pending=list(sql().execute(access.scoped(pending, staff())).scalars()),
        decided=list(sql().execute(access.scoped(decided, staff())).scalars()),
        reject_form=RejectForm(formdata=None),
    )


def _pending_request(request_id: int) -> MemberRequest | None:
    row = access.get_or_404(MemberRequest, request_id)
    if row.status != "pending":
        flash("该申请已经处理过了。", "info")
        return None
    return row


@bp.post("/requests/<int:request_id>/approve")
@access.require(*ROLES)
def approve(request_id: int) -> ResponseReturnValue:
    back = redirect(url_for(".requests"))
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


@bp.post("/requests/<int:request_id>/reject")
@access.require(*ROLES)
def reject(request_id: int) -> ResponseReturnValue:
    back = redirect(url_for(".requests"))
    row = _pending_request(request_id)
    if row is None:
        return back
    form = RejectForm()
    if not form.validate():
        # The form is one row's button in a table: its messages go to the top of the page.
        for message in first_errors([form]):
            flash(message, "error")
        return back
    note = form.note.data or ""
    row.status = "rejected"
    row.note = note
    row.decided_at = utcnow()
    audit("members.reject", f"member_request:{row.id}", note=note)
    sql().commit()
    push(row.openid, "replies/member_bind/rejected.txt", notice=True, request=row, note=note)
    flash(f"已驳回“{row.name}”的申请并通知本人。", "success")
    return back
