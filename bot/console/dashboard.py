"""The dashboard (工作台, ``/admin/``): today's numbers, charts of a chosen period, upcoming
sessions, recent talk.

The charts are drawn in the browser by the vendored Chart.js (``bot/static/console/``,
served by the app: the console runs on intranets) from the figures the page carries as
JSON (:mod:`bot.console.figures`); the same figures are in tables under each chart, so the
page reads without scripts too. Each section shows only to the roles that may open the
records behind it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select

from bot.console import access, figures, nav
from bot.console.cases import NAV as CASE_LABELS
from bot.console.common import local_now, render, sql, staff
from bot.console.training import seat_counts
from bot.models import (
    AdminUser,
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
    period = figures.period_from(request.args, local_now().date(), default=30)
    charts = _charts(period, user)
    return render(
        "dashboard/index.html",
        counts=counts,
        recent=recent,
        upcoming=upcoming,
        seats=seat_counts() if upcoming else {},
        period=period,
        presets=figures.PRESETS,
        charts=charts,
    )


def _charts(period: figures.Period, user: AdminUser) -> dict[str, Any]:
    """The period's figures this user may see, keyed by chart (absent: not theirs)."""
    charts: dict[str, Any] = {
        "talk": figures.conversation_figures(period, user),
        "handoffs": figures.handoff_figures(period, user),
        "cases": [
            {**row, "label": CASE_LABELS.get(row["kind"], (row["kind"], 0))[0]}
            for row in figures.case_figures(period, user, local_now().date())
        ],
        "notices": figures.notice_figures(period),
        "appeals": figures.appeal_figures(period, user),
    }
    if access.can_open(user, "admin.log.index"):
        charts["questions"] = figures.top_questions(period)
    if access.can_open(user, "admin.training.index"):
        charts["sessions"] = figures.registration_figures(period)
    return charts
