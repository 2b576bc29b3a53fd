"""Notices (通知公告): compose, count the audience, approve, send, watch, cancel, retry.

Editors and officers compose and submit; a send to more than ``NOTICE_APPROVAL_THRESHOLD``
recipients waits for a second person, an admin other than the one who composed or submitted
it. Sending runs in the workers (``bot.jobs.notices``); the page polls ``progress`` for the
bar (sent / failed / skipped / remaining). Every step is audited by the service itself
(``bot.services.notices.compose``), whoever takes it. The platform's rules are shown from
``bot.services.notices.rules``, the data the sending code enforces.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console import access, nav
from bot.console.common import int_arg, render, sql, staff
from bot.console.forms import ActionForm
from bot.console.notice_forms import NoticeForm, OpenidForm
from bot.extensions import db
from bot.models import AdminUser, Chamber, Delivery, Notice, TrainingSession, utcnow
from bot.services.notices import audience, compose, deliveries, reconcile, rules

bp = Blueprint("notices", __name__)
ROLES = ("editor", "officer")
nav.register(
    "通知公告",
    "admin.notices.index",
    roles=ROLES,
    order=25,
    icon="log",
    group="服务",
    also=("admin.notices.",),
)
PER_PAGE = 30
MAX_LIST_LINES = 20_000
ERRORS = {
    "not_editable": "该通知已在发送或已结束，不能再修改。",
    "not_draft": "只有草稿可以提交发送。",
    "not_pending": "该通知不在待审核状态。",
    "same_person": "需由另一位管理员审核：撰写或提交的人不能自己批准。",
    "not_approved": "该通知尚未获批准。",
    "finished": "该通知已经结束。",
    "not_sent": "只有发送中或已发送的通知可以重试失败项。",
    "channel": "未知的发送方式。",
}


def _notice(notice_id: int) -> Notice:
    row = sql().get(Notice, notice_id)
    if row is None:
        abort(404)
    return row


def _choices(form: NoticeForm) -> None:
    chambers = sql().execute(select(Chamber).order_by(Chamber.name)).scalars()
    form.chamber.choices = [("", "—")] + [(str(c.id), c.name) for c in chambers]
    sessions = (
        sql()
        .execute(select(TrainingSession).order_by(TrainingSession.starts_at.desc()).limit(50))
        .scalars()
    )
    form.session.choices = [("", "—")] + [(str(s.id), s.title) for s in sessions]


def _settings() -> dict[str, Any]:
    cfg = current_app.config
    from bot.jobs.notices import template_id

    kind = str(cfg.get("WECHAT_ACCOUNT_TYPE") or "service")
    return {
        "threshold": int(cfg["NOTICE_APPROVAL_THRESHOLD"]),
        "account_type": kind,
        "quota": rules.MASS_QUOTAS.get(kind),
        "template_id": template_id(cfg),
        "rules": rules,
    }


@bp.get("/notices")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    page = int_arg("page")
    status = request.args.get("status", "")
    query = select(Notice).order_by(Notice.id.desc())
    if status in (compose.DRAFT, compose.PENDING, compose.SENDING, compose.SENT):
        query = query.where(Notice.status == status)
    pager = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    progress = {n.id: deliveries.progress(sql(), n.id) for n in pager.items}
    return render("notices/list.html", pager=pager, progress=progress, status=status, **_settings())


@bp.route("/notices/new", methods=["GET", "POST"])
@access.require(*ROLES)
def new() -> ResponseReturnValue:
    form = NoticeForm()
    _choices(form)
    if request.method == "GET":
        return render("notices/form.html", form=form, row=None, **_settings())
    if not form.validate():
        return render("notices/form.html", form=form, row=None, **_settings()), 400
    matched = _uploaded(form)
    if form.audience_kind.data == "list" and matched is None:
        form.upload.errors = [*form.upload.errors, "请上传名单文件（CSV 或 XLSX）。"]
        return render("notices/form.html", form=form, row=None, **_settings()), 400
    row = compose.create(
        sql(),
        title=form.title.data,
        summary=form.summary.data or "",
        body=form.body.data,
        attachment_url=form.attachment_url.data or "",
        audience_spec=form.audience_spec(),
        audience_list=matched.openids if matched else None,
        channel=form.channel.data,
        actor=staff().username,
    )
    sql().commit()
    flash("通知草稿已保存。核对发送对象和人数后，点“提交发送”。", "success")
    if matched is not None:
        _report_unmatched(matched)
    return redirect(url_for(".detail", notice_id=row.id))


@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@access.require(*ROLES)
def edit(notice_id: int) -> ResponseReturnValue:
    row = _notice(notice_id)
    if row.status not in (compose.DRAFT, compose.PENDING):
        flash(ERRORS["not_editable"], "error")
        return redirect(url_for(".detail", notice_id=row.id))
    form = NoticeForm()
    _choices(form)
    if request.method == "GET":
        form.fill(row)
        return render("notices/form.html", form=form, row=row, **_settings())
    if not form.validate():
        return render("notices/form.html", form=form, row=row, **_settings()), 400
    matched = _uploaded(form)
    spec = form.audience_spec()
    keep_list = spec == "list" and matched is None and row.audience == "list"
    if spec == "list" and matched is None and not keep_list:
        form.upload.errors = [*form.upload.errors, "请上传名单文件（CSV 或 XLSX）。"]
        return render("notices/form.html", form=form, row=row, **_settings()), 400
    fields: dict[str, Any] = {
        "title": form.title.data,
        "summary": form.summary.data or "",
        "body": form.body.data,
        "attachment_url": form.attachment_url.data or "",
        "channel": form.channel.data,
        "audience": audience.parse(spec).spec,
    }
    if matched is not None:
        fields["audience_list"] = matched.openids
    compose.update(sql(), row, staff().username, **fields)
    sql().commit()
    flash("通知已保存。", "success")
    if matched is not None:
        _report_unmatched(matched)
    return redirect(url_for(".detail", notice_id=row.id))


def _uploaded(form: NoticeForm) -> audience.Matched | None:
    """The uploaded list matched to members, or None when no file came."""
    upload = form.upload.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    raw = upload.read()
    values: list[str] = []
    if upload.filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).active
            rows = sheet.iter_rows(values_only=True) if sheet is not None else []
            values = [str(r[0]) for r in rows if r and r[0] is not None]
        except Exception:  # a damaged workbook is the member of staff's to fix, not a 500
            values = []
    else:
        text = raw.decode("utf-8-sig", errors="replace")
        values = [r[0] for r in csv.reader(io.StringIO(text)) if r and r[0].strip()]
    header = {"手机", "手机号", "姓名", "phone", "mobile", "name"}
    values = [v for v in values[:MAX_LIST_LINES] if v.strip().lower() not in header]
    return audience.match_list(sql(), values)


def _report_unmatched(matched: audience.Matched) -> None:
    flash(f"名单匹配到 {len(matched.openids)} 位已绑定微信的会员。", "info")
    if matched.unmatched:
        why = {"not_found": "名册中没有", "ambiguous": "重名", "not_bound": "未绑定微信"}
        shown = "；".join(f"{v}（{why[r]}）" for v, r in matched.unmatched[:20])
        more = f" 等 {len(matched.unmatched)} 条" if len(matched.unmatched) > 20 else ""
        flash(f"未匹配：{shown}{more}", "warning")


@bp.get("/notices/<int:notice_id>")
@access.require(*ROLES)
def detail(notice_id: int) -> ResponseReturnValue:
    row = _notice(notice_id)
    count = row.recipient_count
    if row.status == compose.DRAFT:
        count = len(audience.recipients(sql(), row, utcnow()))
    problems: dict[str, str] = {}
    if row.channel == "template":
        from bot.jobs.notices import template_fields

        problems = rules.template_problems(template_fields(row))
    failures = list(
        sql()
        .execute(
            select(Delivery)
            .where(
                Delivery.notice_id == row.id,
                Delivery.status.in_((deliveries.FAILED, deliveries.SKIPPED, deliveries.UNKNOWN)),
            )
            .order_by(Delivery.id)
            .limit(50)
        )
        .scalars()
    )
    me = staff()
    return render(
        "notices/detail.html",
        row=row,
        count=count,
        problems=problems,
        report=reconcile.report(sql(), row),
        failures=failures,
        can_approve=me.role == "admin" and me.username not in (row.created_by, row.submitted_by),
        can_preview=bool(me.openid) and row.channel == "mass",
        **_settings(),
    )


@bp.get("/notices/<int:notice_id>/progress")
@access.require(*ROLES)
def progress(notice_id: int) -> ResponseReturnValue:
    row = _notice(notice_id)
    figures: dict[str, Any] = dict(deliveries.progress(sql(), row.id))
    if row.channel == "mass":
        done = row.status in (compose.SENT, compose.CANCELLED)
        figures.update(percent=100 if done else 0, mass_status=row.mass_status)
    return jsonify(status=row.status, **figures)


def _step(notice_id: int, run: Any, done: str) -> ResponseReturnValue:
    row = _notice(notice_id)
    if not ActionForm().validate():
        abort(400)
    try:
        result = run(row)
    except compose.NoticeError as exc:
        sql().rollback()
        flash(ERRORS.get(exc.code, exc.code), "error")
        return redirect(url_for(".detail", notice_id=notice_id))
    sql().commit()
    if result is not None:
        flash(done.format(result=result), "success")
    return redirect(url_for(".detail", notice_id=notice_id))


def _start(row: Notice) -> int:
    count = compose.start(sql(), row, staff().username, utcnow())
    sql().commit()
    from bot.jobs.notices import start_chains

    start_chains(row.id)
    return count


@bp.post("/notices/<int:notice_id>/submit")
@access.require(*ROLES)
def submit(notice_id: int) -> ResponseReturnValue:
    def run(row: Notice) -> str | None:
        if row.channel == "template" and not _settings()["template_id"]:
            flash("尚未配置通知模板（NOTICE_TEMPLATE_ID），不能用模板消息发送。", "error")
            return None
        threshold = int(current_app.config["NOTICE_APPROVAL_THRESHOLD"])
        outcome = compose.submit(sql(), row, staff().username, threshold, utcnow())
        if outcome.status == compose.PENDING:
            return f"共 {outcome.recipients} 人，超过 {threshold} 人，已提交另一位管理员审核。"
        return f"已开始发送，共 {_start(row)} 人。"

    return _step(notice_id, run, "{result}")


@bp.post("/notices/<int:notice_id>/approve")
@access.require("admin")
def approve(notice_id: int) -> ResponseReturnValue:
    def run(row: Notice) -> int:
        compose.approve(sql(), row, staff().username, utcnow())
        return _start(row)

    return _step(notice_id, run, "已批准并开始发送，共 {result} 人。")


@bp.post("/notices/<int:notice_id>/reject")
@access.require("admin")
def reject(notice_id: int) -> ResponseReturnValue:
    def run(row: Notice) -> str:
        compose.reject(sql(), row, staff().username)
        return "done"

    return _step(notice_id, run, "已退回为草稿。")


@bp.post("/notices/<int:notice_id>/cancel")
@access.require(*ROLES)
def cancel(notice_id: int) -> ResponseReturnValue:
    return _step(
        notice_id,
        lambda row: compose.cancel(sql(), row, staff().username, utcnow()),
        "已取消发送，{result} 位尚未发送的会员不再发送。",
    )


@bp.post("/notices/<int:notice_id>/retry")
@access.require(*ROLES)
def retry(notice_id: int) -> ResponseReturnValue:
    def run(row: Notice) -> int:
        again = compose.retry_failures(sql(), row, staff().username, utcnow())
        if again:
            sql().commit()
            from bot.jobs.notices import start_chains

            start_chains(row.id)
        return again

    return _step(notice_id, run, "已重新发送 {result} 条失败的消息（结果未知的不会重发）。")


@bp.post("/notices/<int:notice_id>/preview")
@access.require(*ROLES)
def preview(notice_id: int) -> ResponseReturnValue:
    row = _notice(notice_id)
    me = staff()
    if not ActionForm().validate() or not me.openid:
        abort(400)
    from bot.jobs.notices import preview as send_preview

    compose.audit(sql(), me.username, "notice.preview", row, openid=me.openid)
    sql().commit()
    try:
        send_preview(row.id, me.openid)
    except Exception:
        current_app.logger.exception("preview of notice %s failed", row.id)
        flash("预览发送失败，请稍后再试。", "error")
    else:
        flash("预览已发到您绑定的微信。", "success")
    return redirect(url_for(".detail", notice_id=row.id))


@bp.route("/notices/my-wechat", methods=["GET", "POST"])
@access.require(*ROLES)
def my_wechat() -> ResponseReturnValue:
    """Staff bind their own WeChat: mass previews go to it, and an admin's "#通知…" from it
    drafts a notice."""
    me = sql().get(AdminUser, staff().id)
    assert me is not None
    form = OpenidForm()
    if request.method == "GET":
        form.openid.data = me.openid
        return render("notices/my_wechat.html", form=form)
    if not form.validate():
        return render("notices/my_wechat.html", form=form), 400
    value = form.openid.data or None
    taken = (
        value
        and sql()
        .execute(select(AdminUser.id).where(AdminUser.openid == value, AdminUser.id != me.id))
        .first()
    )
    if taken:
        form.openid.errors = ["该微信已绑定到另一个账号。"]
        return render("notices/my_wechat.html", form=form), 400
    me.openid = value
    from bot.console.common import audit

    audit("admin.openid", f"admin_user:{me.id}", bound=bool(value))
    sql().commit()
    flash("已保存。", "success")
    return redirect(url_for(".index"))
