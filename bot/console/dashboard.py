"""The dashboard (工作台, ``/admin/``): today's numbers, upcoming sessions, recent talk."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select

from bot.console import access, nav
from bot.console.common import local_now, render, sql, staff
from bot.console.training import seat_counts
from bot.models import (
    ConversationLog,
    Follower,
    Handoff,
    Member,
    MemberRequest,
    TrainingSession,
    UnansweredQuestion,
    utcnow,
)

bp = Blueprint("dashboard", __name__)
ROLES = access.EVERYONE
nav.register("工作台", "admin.dashboard.index", roles=ROLES, order=0, icon="home")


@bp.get("/")
@access.require(*ROLES)
def index() -> ResponseReturnValue:
    user = staff()
    week_ago = utcnow() - timedelta(days=7)

    def count(query: Select[Any]) -> int:
        return int(sql().execute(access.scoped(query, user)).scalar_one())

    def handoffs(status: str) -> int:
        # Scoped: a mediator counts the hand-offs of their own committee only.
        return count(select(func.count()).select_from(Handoff).where(Handoff.status == status))

    counts = {
        "followers": count(
            select(func.count()).select_from(Follower).where(Follower.subscribed.is_(True))
        ),
        "members": count(select(func.count()).select_from(Member)),
        "bound": count(select(func.count()).select_from(Member).where(Member.openid.is_not(None))),
        "sessions": count(
            select(func.count())
            .select_from(TrainingSession)
            .where(TrainingSession.status == "open", TrainingSession.starts_at > local_now())
        ),
        "waiting": handoffs("waiting"),
        "active": handoffs("active"),
        "unanswered": count(
            select(func.count())
            .select_from(UnansweredQuestion)
            .where(
                UnansweredQuestion.resolved.is_(False),
                UnansweredQuestion.last_asked_at >= week_ago,
            )
        ),
        "requests": count(
            select(func.count()).select_from(MemberRequest).where(MemberRequest.status == "pending")
        ),
    }
    recent: list[ConversationLog] = []
    if access.can_open(user, "admin.log.index"):
        query = select(ConversationLog).order_by(ConversationLog.at.desc()).limit(15)
        recent = list(sql().execute(access.scoped(query, user)).scalars())
    upcoming: list[TrainingSession] = []
    if access.can_open(user, "admin.training.index"):
        query = (
            select(TrainingSession)
            .where(
                TrainingSession.status.in_(("draft", "open", "closed")),
                TrainingSession.starts_at >= local_now(),
            )
            .order_by(TrainingSession.starts_at)
            .limit(5)
        )
        upcoming = list(sql().execute(access.scoped(query, user)).scalars())
    return render(
        "dashboard/index.html",
        counts=counts,
        recent=recent,
        upcoming=upcoming,
        seats=seat_counts() if upcoming else {},
    )
