"""The figures of a period, for the dashboard's charts and the 工作台账 report.

A period is a span of the organisation's local days, both ends included
(:class:`Period`); stored times are naive UTC, so each query turns the period into UTC
bounds and, for a per-day series, groups by the local day in SQL (:func:`local_day`: one
query per series, not one per day). Every query that reads a table with a scope rule goes
through :func:`bot.console.access.scoped`, so a mediator's hand-offs and cases are their
committee's, as on every other page.

Questions are counted from the conversation log: a ``policy_question`` reply is the
knowledge base's answer, its "您是想问" choices, or its "没有找到". Which one is read off the
start of the reply, and that start comes from the templates themselves
(:func:`band_prefixes`), so the words stay in ``templates/replies/policy_question/``.

Notices are another engineer's tables (issue 14): their figures are read only when
``bot.models`` exports ``Notice`` and ``Delivery`` (:func:`notice_figures`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from werkzeug.datastructures import MultiDict

import bot.models as models
from bot.console import access
from bot.console.common import sql
from bot.dialogue.replies import Reply
from bot.dialogue.replies import render as render_reply
from bot.models import AdminUser, ConversationLog, Handoff, Member, Registration, TrainingSession
from bot.models.cases import Case
from bot.services import clock
from bot.services.cases import KINDS
from bot.services.cases.clocks import overdue_clause

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # dates a filter may name
MAX_DAYS = 366  # a year, leap or not: the longest period a page or a download covers
PRESETS = (7, 30, 90)  # the dashboard's quick choices, in days
TOP = 10  # rows of the "top questions / intents" lists
MAX_SESSIONS = 15  # bars of the registrations chart
POLICY_INTENT = "policy_question"
BANDS = ("answer", "choices", "none")


@dataclass(frozen=True)
class Period:
    """Local days ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    def utc(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The period as naive-UTC bounds ``[low, high)`` (how timestamps are stored)."""
        return utc_midnight(self.start, zone), utc_midnight(self.end + timedelta(days=1), zone)

    def local(self) -> tuple[datetime, datetime]:
        """The period as naive local bounds ``[low, high)`` (session times are local)."""
        return datetime.combine(self.start, time()), datetime.combine(
            self.end + timedelta(days=1), time()
        )

    def args(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def utc_midnight(day: date, zone: tzinfo) -> datetime:
    """Local midnight of ``day`` as naive UTC (how timestamps are stored)."""
    return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)


def period_from(args: Mapping[str, str] | MultiDict[str, str], today: date, default: int) -> Period:
    """The period a page's query string asks for: ``start``/``end`` (ISO dates) or ``days``
    (the last N days to today); ``default`` days otherwise. Never longer than
    :data:`MAX_DAYS`, never ending after today; swapped ends are put in order."""
    days = args.get("days", "")
    if days.isdigit() and 1 <= int(days) <= MAX_DAYS:
        return Period(today - timedelta(days=int(days) - 1), today)
    start, end = day_arg(args.get("start")), day_arg(args.get("end"))
    if start is None and end is None:
        return Period(today - timedelta(days=default - 1), today)
    end = end or today
    start = start or end - timedelta(days=default - 1)
    if start > end:
        start, end = end, start
    end, start = min(end, today), min(start, today)
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return Period(start, end)


def year_period(args: Mapping[str, str] | MultiDict[str, str], today: date) -> Period:
    """The report's period: ``start``/``end`` if given, else ``year`` (default this year),
    from 1 January to 31 December (to today for the current year)."""
    if args.get("start") or args.get("end"):
        return period_from(args, today, default=today.timetuple().tm_yday)
    year = args.get("year", "")
    number = int(year) if year.isdigit() and 2000 <= int(year) <= today.year else today.year
    return Period(date(number, 1, 1), min(date(number, 12, 31), today))


def day_arg(value: str | None) -> date | None:
    """An ISO date typed into a filter, or None when it is not one or lies outside
    :data:`EARLIEST`–:data:`LATEST` (year 1 in UTC+8 has no UTC midnight to compare with)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def zone() -> tzinfo:
    return clock.zone(current_app.config)


def local_day(column: Any, offset: timedelta) -> ColumnElement[Any]:
    """The local calendar day of a naive-UTC timestamp column, in SQL (SQLite or
    PostgreSQL). ``offset`` is the zone's UTC offset over the period: the organisation's
    zone (Asia/Shanghai by default) keeps one all year."""
    if sql().get_bind().dialect.name == "sqlite":
        return func.date(column, f"{int(offset.total_seconds()):+d} seconds")
    return func.date(column + literal(offset))


def _offset(period: Period, where: tzinfo) -> timedelta:
    moment = datetime.combine(period.start, time(12), where)
    return moment.utcoffset() or timedelta(0)


def _per_day(rows: Any, period: Period) -> list[int]:
    counts = {str(day)[:10]: int(n) for day, n in rows}
    return [counts.get(day.isoformat(), 0) for day in period.days]


def _count(query: Select[Any], user: AdminUser) -> int:
    return int(sql().execute(access.scoped(query, user)).scalar_one())


# -- conversations ----------------------------------------------------------------------------
@functools.cache
def _prefix_of(template: str, key: str, values: tuple[Any, ...]) -> str:
    """What every reply of ``template`` starts with: the common start of its renders with
    each of ``values`` for ``key``, up to the end of the first line."""
    texts = [render_reply(Reply(template, {key: value})) for value in values]
    n = 0
    while all(n < len(t) for t in texts) and len({t[n] for t in texts}) == 1:
        n += 1
    return texts[0][:n].split("\n", 1)[0].strip()


def band_prefixes() -> dict[str, str]:
    """The first words of a "choices" and a "none" reply (needs an app context)."""
    return {
        "choices": _prefix_of("replies/policy_question/choices.txt", "titles", (("甲",), ("乙",))),
        "none": _prefix_of("replies/policy_question/none.txt", "question", ("甲", "乙", "")),
    }


def conversation_figures(period: Period, user: AdminUser) -> dict[str, Any]:
    """Messages and active users per day; questions by band; the top intents. Four passes
    over the period's log rows (per day, the users, the intents, the bands), each a range
    of the ``at`` index."""
    low, high = period.utc(zone())
    day = local_day(ConversationLog.at, _offset(period, zone()))
    in_period = and_(ConversationLog.at >= low, ConversationLog.at < high)
    is_message = ConversationLog.msg_type != "event"
    per_day = (
        sql()
        .execute(
            access.scoped(
                select(
                    day,
                    func.count(case((is_message, 1))),
                    func.count(ConversationLog.openid.distinct()),
                )
                .where(in_period)
                .group_by(day),
                user,
            )
        )
        .all()
    )
    users = (
        sql()
        .execute(
            select(
                func.count(ConversationLog.openid.distinct()), func.count(Member.openid.distinct())
            )
            .select_from(ConversationLog)
            .outerjoin(Member, Member.openid == ConversationLog.openid)
            .where(in_period)
        )
        .one()
    )
    intents = sql().execute(
        select(ConversationLog.intent, func.count())
        .where(in_period, is_message, ConversationLog.intent.is_not(None))
        .group_by(ConversationLog.intent)
        .order_by(func.count().desc(), ConversationLog.intent)
        .limit(TOP)
    )
    return {
        "labels": [d.isoformat() for d in period.days],
        "messages": _per_day([(d, m) for d, m, _ in per_day], period),
        "active": _per_day([(d, a) for d, _, a in per_day], period),
        "active_total": int(users[0]),
        "active_members": int(users[1]),
        "bands": question_bands(period),
        "intents": [(name, int(n)) for name, n in intents],
    }


def question_bands(period: Period) -> dict[str, int]:
    """Policy questions in the period by the band the member got (one pass)."""
    low, high = period.utc(zone())
    prefixes = band_prefixes()
    policy = and_(
        ConversationLog.at >= low,
        ConversationLog.at < high,
        ConversationLog.intent == POLICY_INTENT,
        ConversationLog.msg_type != "event",
    )
    columns: list[ColumnElement[Any]] = [func.count()]
    for band in ("choices", "none"):
        starts = ConversationLog.reply.startswith(prefixes[band], autoescape=True)
        columns.append(func.count(case((starts, 1))) if prefixes[band] else literal(0))
    row = sql().execute(select(*columns).where(policy)).one()
    total, choices, none = int(row[0]), int(row[1]), int(row[2])
    return {
        "answer": max(0, total - choices - none),
        "choices": choices,
        "none": none,
    }


def top_questions(period: Period) -> list[tuple[str, int]]:
    """The policy questions asked most often in the period, as typed (phones masked)."""
    low, high = period.utc(zone())
    rows = sql().execute(
        select(ConversationLog.text, func.count())
        .where(
            ConversationLog.at >= low,
            ConversationLog.at < high,
            ConversationLog.intent == POLICY_INTENT,
            ConversationLog.msg_type == "text",
        )
        .group_by(ConversationLog.text)
        .order_by(func.count().desc(), ConversationLog.text)
        .limit(TOP)
    )
    return [(text, int(n)) for text, n in rows if text]


# -- hand-offs, cases, training ----------------------------------------------------------------
def handoff_figures(period: Period, user: AdminUser) -> dict[str, int]:
    low, high = period.utc(zone())

    def status(name: str) -> int:
        return _count(select(func.count()).select_from(Handoff).where(Handoff.status == name), user)

    opened = select(func.count()).select_from(Handoff)
    opened = opened.where(Handoff.opened_at >= low, Handoff.opened_at < high)
    return {
        "waiting": status("waiting"),
        "active": status("active"),
        "opened": _count(opened, user),
    }


def case_figures(period: Period, user: AdminUser, today: date) -> list[dict[str, Any]]:
    """Per case kind (every kind the engine declares): the cases received in the period by
    status, in the kind's order of states, and the open cases overdue today."""
    low, high = period.utc(zone())
    kinds = []
    for kind in KINDS.values():
        query: Select[Any, Any] = (
            select(Case.status, func.count())
            .where(Case.kind == kind.name, Case.created_at >= low, Case.created_at < high)
            .group_by(Case.status)
        )
        rows = sql().execute(access.scoped(query, user))
        counts = {status: int(n) for status, n in rows}
        statuses = [(s.name, counts.pop(s.name, 0)) for s in kind.states]
        statuses += sorted(counts.items())  # a status the kind no longer declares
        overdue = select(func.count()).select_from(Case).where(overdue_clause(today, kind))
        kinds.append(
            {
                "kind": kind.name,
                "statuses": statuses,
                "received": sum(n for _, n in statuses),
                "overdue": _count(overdue, user),
            }
        )
    return kinds


def registration_figures(period: Period) -> list[dict[str, Any]]:
    """Sessions (not cancelled) that start in the period or after it — registrations are
    mostly for what is coming — with their registrations by status; at most
    :data:`MAX_SESSIONS`, the earliest first."""
    low, _ = period.local()
    sessions = sql().execute(
        select(TrainingSession)
        .where(TrainingSession.starts_at >= low, TrainingSession.status != "cancelled")
        .order_by(TrainingSession.starts_at, TrainingSession.id)
        .limit(MAX_SESSIONS)
    )
    rows = list(sessions.scalars())
    counts: dict[int, dict[str, int]] = {}
    if rows:
        tally = sql().execute(
            select(Registration.session_id, Registration.status, func.count())
            .where(Registration.session_id.in_([s.id for s in rows]))
            .group_by(Registration.session_id, Registration.status)
        )
        for session_id, status, n in tally:
            counts.setdefault(session_id, {})[status] = int(n)
    return [
        {
            "id": s.id,
            "title": s.title,
            "starts_at": s.starts_at,
            "capacity": s.capacity,
            "confirmed": counts.get(s.id, {}).get("confirmed", 0),
            "attended": counts.get(s.id, {}).get("attended", 0),
            "waitlisted": counts.get(s.id, {}).get("waitlisted", 0),
            "cancelled": counts.get(s.id, {}).get("cancelled", 0),
        }
        for s in rows
    ]


# -- appeals (issue 13) ---------------------------------------------------------------------------
def appeal_rates() -> Callable[..., Any] | None:
    """``bot.services.cases.appeals.rates`` if the appeals work has landed, else None."""
    try:
        module = importlib.import_module("bot.services.cases.appeals")
    except ModuleNotFoundError:
        return None
    rates = getattr(module, "rates", None)
    return rates if callable(rates) else None


def fraction(pair: Any) -> dict[str, Any]:
    """A rate from its (numerator, denominator): both kept, so a reader can check it."""
    numerator, denominator = (int(pair[0]), int(pair[1])) if pair else (0, 0)
    rate = numerator / denominator if denominator else None
    return {"numerator": numerator, "denominator": denominator, "rate": rate}


def appeal_figures(period: Period, user: AdminUser) -> dict[str, dict[str, Any]] | None:
    """The appeals' rates for the period (name → numerator, denominator, rate), or None
    before the appeals service gives them."""
    rates_of = appeal_rates()
    if rates_of is None:
        return None
    # The organisation's zone, when the service takes one (its days are local days).
    takes_zone = "zone" in inspect.signature(rates_of).parameters
    extra = {"zone": zone()} if takes_zone else {}
    found = rates_of(sql(), period.start, period.end, user, **extra)
    return {str(name): fraction(pair) for name, pair in dict(found).items()}


# -- notices (issue 14's other half) -----------------------------------------------------------
def notices_available() -> bool:
    return hasattr(models, "Notice") and hasattr(models, "Delivery")


def notice_figures(period: Period) -> dict[str, int] | None:
    """The notices whose sending started in the period (``started_at``; drafts and notices
    waiting for approval have none) and their deliveries by status; None until the notices
    tables exist. Statuses as docs/CONTRACT.md names them (``flask export deliveries``:
    sent|failed|skipped|unknown|pending). TODO(issue 14, notices): read the notices
    service's own figures instead, if it grows a function for them."""
    if not notices_available():
        return None
    # getattr: the names exist only once the notices work lands.
    notice, delivery = getattr(models, "Notice"), getattr(models, "Delivery")  # noqa: B009
    if not all(hasattr(delivery, name) for name in ("status", "notice_id")):
        return None
    low, high = period.utc(zone())
    stamp = getattr(notice, "started_at", None) or getattr(notice, "created_at", None)
    if stamp is None:
        return None
    sent_in_period = and_(stamp >= low, stamp < high)
    query = (
        select(delivery.status, func.count())
        .join(notice, notice.id == delivery.notice_id)
        .where(sent_in_period)
        .group_by(delivery.status)
    )
    counts = {str(status): int(n) for status, n in sql().execute(query)}
    notices = select(func.count()).select_from(notice).where(sent_in_period)
    return {
        "notices": int(sql().execute(notices).scalar_one()),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "skipped": counts.get("skipped", 0),
        "unknown": counts.get("unknown", 0),
        "pending": counts.get("pending", 0),
    }
