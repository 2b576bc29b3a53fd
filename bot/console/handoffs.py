"""Hand-offs (人工服务): members waiting for a person, the thread, replies and closing.

Officers see every hand-off; a mediator sees those routed to their committee
(``access.scoped``). The detail page polls ``<id>.json`` every 5 s for new lines. Replies
are queued as customer-service messages after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console import access, nav
from bot.console.common import audit, format_utc, push, render, sql, staff
from bot.console.forms import ReplyForm
from bot.jobs.queue import enqueue_push
from bot.models import Handoff, HandoffMessage, Member
from bot.services import handoff as service
from bot.services import members

log = logging.getLogger(__name__)

bp = Blueprint("handoffs", __name__)
ROLES = ("officer", "mediator")
nav.register(
    "人工服务",
    "admin.handoffs.index",
    roles=ROLES,
    order=10,
    icon="chat",
    group="服务",
    also=("admin.handoffs.",),
)


def open_handoffs() -> list[Handoff]:
    """The waiting and active hand-offs the signed-in user may see, longest waiting first."""
    query = select(Handoff).where(Handoff.status.in_(service.OPEN)).order_by(Handoff.opened_at)
    return list(sql().execute(access.scoped(query, staff())).scalars())


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    rows = open_handoffs()
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
    closed = (
        select(Handoff)
        .where(Handoff.status == "closed")
        .order_by(Handoff.closed_at.desc())
        .limit(10)
    )
    recent = list(sql().execute(access.scoped(closed, staff())).scalars())
    return render(
        "handoffs/list.html",
        rows=rows,
        last=last,
        names=_names(r.openid for r in rows),
        recent=recent,
    )


def _names(openids: Iterable[str]) -> dict[str, Member]:
    wanted = set(openids)
    if not wanted:
        return {}
    found = sql().execute(select(Member).where(Member.openid.in_(wanted))).scalars()
    return {m.openid: m for m in found if m.openid}


def _thread_json(row: Handoff) -> dict[str, Any]:
    lines = service.thread(sql(), row)
    return {
        "id": row.id,
        "status": row.status,
        "lines": [
            {
                "at": format_utc(line["at"], "%m-%d %H:%M"),
                "sender": line["sender"],
                "text": line["text"],
                "staff": line.get("staff") or "",
                "delivery": line.get("delivery") or "",
                "earlier": bool(line["earlier"]),
            }
            for line in lines
        ],
    }


def _detail_page(row: Handoff, form: ReplyForm) -> str:
    member = members.by_openid(sql(), row.openid)
    return render("handoffs/detail.html", row=row, member=member, data=_thread_json(row), form=form)


@bp.get("/<int:handoff_id>")
@access.require(*ROLES)
def detail(handoff_id: int) -> ResponseReturnValue:
    return _detail_page(access.get_or_404(Handoff, handoff_id), ReplyForm())


@bp.get("/<int:handoff_id>.json")
@access.require(*ROLES)
def thread_json(handoff_id: int) -> ResponseReturnValue:
    return jsonify(_thread_json(access.get_or_404(Handoff, handoff_id)))


@bp.post("/<int:handoff_id>/reply")
@access.require(*ROLES)
def reply(handoff_id: int) -> ResponseReturnValue:
    row = access.get_or_404(Handoff, handoff_id)
    if row.status not in service.OPEN:
        flash("该人工会话已结束，无法再回复。", "error")
        return redirect(url_for(".detail", handoff_id=row.id))
    form = ReplyForm()
    if not form.validate():
        return _detail_page(row, form), 400
    text = form.text.data
    message = service.add_staff_message(sql(), row, staff().username, text, delivery="queued")
    audit("handoff.reply", f"handoff:{row.id}", chars=len(text))
    sql().commit()
    try:
        enqueue_push(row.openid, text, handoff_message=message.id)
    except Exception:
        log.exception("could not queue a hand-off reply", extra={"openid": row.openid})
        flash("回复已记录，但发送队列暂时不可用，请稍后重试或电话联系。", "warning")
    return redirect(url_for(".detail", handoff_id=row.id))


@bp.post("/<int:handoff_id>/close")
@access.require(*ROLES)
def close(handoff_id: int) -> ResponseReturnValue:
    row = access.get_or_404(Handoff, handoff_id)
    if row.status not in service.OPEN:
        flash("该人工会话已经结束。", "info")
        return redirect(url_for(".index"))
    service.close(sql(), row, staff().username)
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
    return redirect(url_for(".index"))
