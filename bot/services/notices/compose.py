"""A notice's life: draft → (pending approval) → approved → sending → sent, or cancelled.

Every step writes an audit row in the caller's transaction (the caller commits), whoever
took it: the console, ``flask notices`` or an admin's own WeChat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.extensions import DBSession
from bot.models import AuditLog, Delivery, Notice
from bot.services.notices import audience, deliveries, rules

DRAFT, PENDING, APPROVED, SENDING, SENT, CANCELLED = (
    "draft",
    "pending",
    "approved",
    "sending",
    "sent",
    "cancelled",
)
CHANNELS = tuple(rules.CHANNELS)
TITLE_MAX = 64
SUMMARY_MAX = 200
BODY_MAX = 20_000
URL_MAX = 500


class NoticeError(ValueError):
    """A step the notice's state does not allow; ``code`` names why (for the message)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def audit(db: DBSession, actor: str, action: str, notice: Notice, **detail: Any) -> None:
    db.add(
        AuditLog(
            actor=actor[:50],
            action=action,
            target=f"notice:{notice.id}",
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else "",
        )
    )


def create(
    db: DBSession,
    *,
    title: str,
    body: str,
    actor: str,
    summary: str = "",
    attachment_url: str = "",
    audience_spec: str = "all",
    audience_list: list[str] | None = None,
    channel: str = "template",
    via: str = "console",
) -> Notice:
    """A draft, as typed (length limits are the forms' business; here they are cut)."""
    if channel not in CHANNELS:
        raise NoticeError("channel")
    spec = audience.parse(audience_spec).spec
    notice = Notice(
        title=title[:TITLE_MAX],
        summary=summary[:SUMMARY_MAX],
        body=body[:BODY_MAX],
        attachment_url=attachment_url[:URL_MAX],
        audience=spec,
        audience_list=audience_list if spec == "list" else None,
        channel=channel,
        status=DRAFT,
        created_by=actor[:50],
        created_via=via,
    )
    db.add(notice)
    db.flush()
    audit(db, actor, "notice.create", notice, channel=channel, audience=spec, via=via)
    return notice


def update(db: DBSession, notice: Notice, actor: str, **fields: Any) -> None:
    if notice.status not in (DRAFT, PENDING):
        raise NoticeError("not_editable")
    changed = sorted(k for k, v in fields.items() if getattr(notice, k) != v)
    for key in changed:
        setattr(notice, key, fields[key])
    if notice.status == PENDING:
        # What the approver saw is not what will go out any more: approve it again.
        notice.status = DRAFT
    audit(db, actor, "notice.update", notice, fields=changed)


@dataclass(frozen=True)
class Submitted:
    status: str  # pending (needs a second admin) or approved
    recipients: int


def submit(db: DBSession, notice: Notice, actor: str, threshold: int, now: datetime) -> Submitted:
    """Ask to send: counted now; more than ``threshold`` recipients need approval."""
    if notice.status not in (DRAFT, PENDING):
        raise NoticeError("not_draft")
    count = len(audience.recipients(db, notice, now))
    notice.recipient_count = count
    notice.submitted_by = actor[:50]
    notice.status = PENDING if count > threshold else APPROVED
    if notice.status == APPROVED:
        notice.approved_by, notice.approved_at = actor[:50], now
    audit(db, actor, "notice.submit", notice, recipients=count, status=notice.status)
    return Submitted(notice.status, count)


def approve(db: DBSession, notice: Notice, actor: str, now: datetime) -> None:
    """A second person approves: not whoever composed or submitted it."""
    if notice.status != PENDING:
        raise NoticeError("not_pending")
    if actor in (notice.submitted_by, notice.created_by):
        raise NoticeError("same_person")
    notice.status = APPROVED
    notice.approved_by, notice.approved_at = actor[:50], now
    audit(db, actor, "notice.approve", notice, recipients=notice.recipient_count)


def reject(db: DBSession, notice: Notice, actor: str) -> None:
    if notice.status != PENDING:
        raise NoticeError("not_pending")
    notice.status = DRAFT
    audit(db, actor, "notice.reject", notice)


def start(db: DBSession, notice: Notice, actor: str, now: datetime) -> int:
    """Approved → sending: the delivery rows are written (per-recipient channels); answer
    how many recipients. Recomputed now, so who unsubscribed since approval is left out."""
    if notice.status != APPROVED:
        raise NoticeError("not_approved")
    count = notice.recipient_count
    if rules.CHANNELS[notice.channel].per_recipient:
        openids = audience.recipients(db, notice, now)
        deliveries.create(db, notice.id, openids)
        count = len(openids)
    notice.recipient_count = count
    notice.status = SENDING
    notice.started_at = now
    audit(db, actor, "notice.send", notice, recipients=count, channel=notice.channel)
    return count


def cancel(db: DBSession, notice: Notice, actor: str, now: datetime) -> int:
    """Stop: rows not yet claimed are skipped (``cancelled``); answer how many."""
    if notice.status in (SENT, CANCELLED):
        raise NoticeError("finished")
    skipped = deliveries.skip_pending(db, notice.id, "cancelled", now)
    notice.status = CANCELLED
    notice.cancelled_at = now
    audit(db, actor, "notice.cancel", notice, skipped=skipped)
    return skipped


def retry_failures(db: DBSession, notice: Notice, actor: str, now: datetime) -> int:
    """Failed rows go again (a sent notice re-opens); ``unknown`` ones never do."""
    if notice.status not in (SENDING, SENT):
        raise NoticeError("not_sent")
    again = deliveries.retry_failed(db, notice.id, now)
    if again:
        notice.status = SENDING
        notice.finished_at = None
    audit(db, actor, "notice.retry", notice, rows=again)
    return again


def finish_if_done(db: DBSession, notice: Notice, now: datetime) -> bool:
    """Sending → sent once no row is pending or in flight."""
    if notice.status != SENDING or not rules.CHANNELS[notice.channel].per_recipient:
        return False
    left = db.execute(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.notice_id == notice.id,
            Delivery.status.in_((deliveries.PENDING, deliveries.SENDING)),
        )
    ).scalar()
    if left:
        return False
    notice.status = SENT
    notice.finished_at = now
    return True


def visible(db: DBSession, openid: str, limit: int = 8) -> list[Notice]:
    """The latest notices this member may see: sent or sending ones addressed to everyone,
    or with a delivery row for them (their chamber, tag, session or list)."""
    theirs = select(Delivery.notice_id).where(Delivery.openid == openid)
    query = (
        select(Notice)
        .where(
            Notice.status.in_((SENDING, SENT)),
            (Notice.audience == "all") | Notice.id.in_(theirs),
        )
        .order_by(Notice.started_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return list(db.execute(query).scalars())
