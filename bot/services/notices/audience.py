"""Who a notice reaches: followers, a chamber, a member tag, a session's registrants or an
uploaded list; never an unsubscribed follower. Customer-service notices go only to those
active within the 48-hour window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from bot.extensions import DBSession
from bot.models import ConversationLog, Follower, Member, Notice, Registration
from bot.services.notices import rules

KINDS = ("all", "chamber", "tag", "session", "list")
# Registrations whose people count as a session's registrants (not the cancelled).
REGISTRANT_STATUSES = ("confirmed", "waitlisted", "attended")


class AudienceError(ValueError):
    """An audience spec that names nothing (``chamber:abc``, ``fish``)."""


@dataclass(frozen=True)
class Audience:
    kind: str
    value: str = ""

    @property
    def spec(self) -> str:
        return self.kind if self.kind in ("all", "list") else f"{self.kind}:{self.value}"


def parse(spec: str) -> Audience:
    """``all``, ``chamber:ID``, ``tag:NAME``, ``session:ID`` or ``list``."""
    kind, _, value = (spec or "").strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind not in KINDS:
        raise AudienceError(spec)
    if kind in ("chamber", "session") and not (value.isascii() and value.isdigit()):
        raise AudienceError(spec)
    if kind == "tag" and not value:
        raise AudienceError(spec)
    if len(value) > 90:
        raise AudienceError(spec)
    return Audience(kind, value if kind not in ("all", "list") else "")


def _subscribed() -> Select[Any]:
    return select(Follower.openid).where(Follower.subscribed.is_(True))


def _member_openids(db: DBSession, query: Select[Any]) -> set[str]:
    return {str(row[0]) for row in db.execute(query).all() if row[0]}


def candidates(db: DBSession, notice: Notice) -> set[str]:
    """The openids the notice's audience names, before the subscription filter."""
    audience = parse(notice.audience)
    if audience.kind == "all":
        return {str(row[0]) for row in db.execute(_subscribed()).all()}
    if audience.kind == "chamber":
        return _member_openids(
            db, select(Member.openid).where(Member.chamber_id == int(audience.value))
        )
    if audience.kind == "tag":
        rows = db.execute(
            select(Member.openid, Member.tags).where(
                Member.openid.is_not(None), Member.tags.contains(audience.value)
            )
        ).all()
        return {
            openid
            for openid, tags in rows
            if openid and audience.value in [t.strip() for t in (tags or "").split(",")]
        }
    if audience.kind == "session":
        return _member_openids(
            db,
            select(Registration.openid).where(
                Registration.session_id == int(audience.value),
                Registration.status.in_(REGISTRANT_STATUSES),
            ),
        )
    return set(notice.audience_list or [])


def active_since(db: DBSession, since: datetime) -> set[str]:
    """Openids that wrote to the account since ``since`` (the customer-service window)."""
    rows = db.execute(
        select(ConversationLog.openid)
        .where(ConversationLog.at >= since, ConversationLog.msg_type != "event")
        .distinct()
    ).all()
    return {str(row[0]) for row in rows}


def recipients(db: DBSession, notice: Notice, now: datetime) -> list[str]:
    """The openids that get the notice, sorted: subscribed followers only; on the
    customer-service channel, only those active within the window."""
    wanted = candidates(db, notice)
    if not wanted:
        return []
    unsubscribed = {
        str(row[0])
        for row in db.execute(select(Follower.openid).where(Follower.subscribed.is_(False)))
    }
    if parse(notice.audience).kind != "all":
        # A member bound to the account follows it unless we saw them leave.
        wanted -= unsubscribed
    if notice.channel == "custom":
        wanted &= active_since(db, now - rules.CUSTOM_WINDOW)
    return sorted(wanted)


@dataclass
class Matched:
    """An uploaded list matched to members: who was found, and the lines that were not."""

    openids: list[str] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (line, reason)


def match_list(db: DBSession, values: Iterable[str]) -> Matched:
    """Match phones or names (one per value) to bound members.

    Reasons for a line left out: ``not_found``, ``ambiguous`` (a name two members share),
    ``not_bound`` (a member who has not bound their WeChat).
    """
    result = Matched()
    seen: set[str] = set()
    for raw in values:
        value = str(raw or "").strip()
        if not value or value in seen:
            continue
        seen.add(value)
        digits = value.replace(" ", "").replace("-", "")
        if digits.startswith("+86"):
            digits = digits[3:]
        if digits.isdigit():
            rows = db.execute(select(Member).where(Member.mobile == digits)).scalars().all()
        else:
            rows = db.execute(select(Member).where(Member.name == value[:50])).scalars().all()
        if not rows:
            result.unmatched.append((value, "not_found"))
        elif len(rows) > 1:
            result.unmatched.append((value, "ambiguous"))
        elif not rows[0].openid:
            result.unmatched.append((value, "not_bound"))
        elif rows[0].openid not in result.openids:
            result.openids.append(rows[0].openid)
    return result
