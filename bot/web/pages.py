"""Public H5 pages members open from a reply: knowledge-base details (``/kb/<topic>``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from bot.dialogue.replies import org_settings
from bot.links import public_url

bp = Blueprint("pages", __name__)


@bp.get("/kb/<topic>")
def kb_entry(topic: str) -> str:
    kb = current_app.extensions["kb"]
    entry = kb.entry(topic)
    if entry is None:
        abort(404)
    org = org_settings()
    return render_template(
        "pages/kb_entry.html",
        entry=entry,
        answer=kb.render_answer(topic, org),
        detail=kb.render_text(entry.detail, org),
        org=org,
    )


@bp.get("/checkin/<code>")
def checkin_code(code: str) -> str:
    """The member's check-in code: staff scan the QR at the door (it opens the console)."""
    import segno
    from sqlalchemy import select

    from bot.extensions import db
    from bot.models import Registration

    reg = db.session.execute(
        select(Registration).where(Registration.checkin_code == code)
    ).scalar_one_or_none()
    if reg is None:
        abort(404)
    qr = segno.make(public_url("admin.checkin", code=code), error="m")
    return render_template(
        "pages/checkin.html",
        reg=reg,
        s=reg.session,
        qr_svg=qr.svg_inline(scale=6, dark="#111"),
        org=org_settings(),
    )


@bp.get("/notices/<int:notice_id>")
def notice(notice_id: int) -> str:
    """A notice's phone-friendly page (the link in every channel's message). Only notices
    that went out: a draft or a cancelled one is a 404, as a missing one is."""
    from bot.extensions import db
    from bot.models import Notice
    from bot.services import clock

    row = db.session.get(Notice, notice_id)
    if row is None or row.status not in ("sending", "sent"):
        abort(404)
    return render_template(
        "pages/notice.html",
        n=row,
        published=clock.to_local(row.started_at, current_app.config),
        org=org_settings(),
    )
