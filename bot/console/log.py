"""The conversation log (对话记录): what members said and what the bot answered.

Curators read it to improve answers; mobile numbers in it are masked when written.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console import access, nav
from bot.console.common import PER_PAGE, int_arg, render, sql, staff
from bot.extensions import db
from bot.models import ConversationLog

bp = Blueprint("log", __name__)
ROLES = ("editor",)
nav.register("对话记录", "admin.log.index", roles=ROLES, order=50, icon="log", group="内容")


@bp.get("")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    openid = request.args.get("openid", "").strip()
    intent = request.args.get("intent", "").strip()
    query = select(ConversationLog).order_by(ConversationLog.at.desc(), ConversationLog.id.desc())
    if openid:
        query = query.where(ConversationLog.openid == openid)
    if intent:
        query = query.where(ConversationLog.intent == intent)
    pager = db.paginate(
        access.scoped(query, staff()), page=int_arg("page"), per_page=PER_PAGE, error_out=False
    )
    names = select(ConversationLog.intent).distinct().order_by(ConversationLog.intent)
    intents = [i for i in sql().execute(names).scalars() if i]
    return render("log/index.html", pager=pager, openid=openid, intent=intent, intents=intents)
