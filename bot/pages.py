"""Public H5 pages members open from a reply: knowledge-base details (``/kb/<topic>``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from bot.replies import org_settings

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
