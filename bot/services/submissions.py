"""Form submissions by idempotency key, and the attachments that come with them.

The form engine makes one key per form run (form, member, the moment the run started). It
claims the key in the same transaction as the record the submit action writes, so both land
or neither does, and keeps the reply the member got: a repeated or retried confirmation is
answered with the same text, and no second record is written.

Attachments are recorded as ``pending`` rows in that transaction too; their ids are left in
``session.info[FETCH_AFTER_COMMIT]`` for whoever fetches them once it commits (the job queue
listens for commits, see ``bot.jobs.media``), since services import no jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.extensions import DBSession
from bot.models import Attachment, FormSubmission

FETCH_AFTER_COMMIT = "attachments_to_fetch"


class AlreadyClaimed(Exception):
    """Another process submitted the same form run a moment ago."""


def lookup(db: DBSession, key: str) -> FormSubmission | None:
    """The submission made under ``key``, or None if there is none."""
    return db.execute(select(FormSubmission).where(FormSubmission.key == key)).scalar_one_or_none()


def same_as(
    db: DBSession, *, form: str, openid: str, digest: str, since: datetime
) -> FormSubmission | None:
    """The member's latest submission of ``form`` since ``since`` with the same answers."""
    if not digest:
        return None
    return db.execute(
        select(FormSubmission)
        .where(
            FormSubmission.openid == openid,
            FormSubmission.form == form,
            FormSubmission.digest == digest,
            FormSubmission.record_ref != "",
            FormSubmission.created_at >= since,
        )
        .order_by(FormSubmission.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def claim(db: DBSession, key: str, *, form: str, openid: str) -> FormSubmission:
    """Claim ``key`` in the caller's transaction; raises :class:`AlreadyClaimed` when another
    transaction holds it (the unique key refused it). A savepoint keeps the caller's
    transaction usable either way."""
    row = FormSubmission(key=key, form=form, openid=openid, record_ref="", reply="")
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        raise AlreadyClaimed(key) from None
    return row


def complete(
    row: FormSubmission,
    *,
    ref: str,
    reply: str,
    consent_version: str | None = None,
    consent_at: datetime | None = None,
    digest: str = "",
) -> None:
    """Record what the submission produced: the record's reference and the reply sent."""
    row.digest = digest
    row.record_ref = ref[:64]
    row.reply = reply
    row.consent_version = consent_version
    row.consent_at = consent_at


def record_attachments(
    db: DBSession,
    *,
    owner_kind: str,
    owner_id: str,
    openid: str,
    key: str,
    items: Iterable[Any],
) -> list[Attachment]:
    """Pending attachment rows for ``items`` (media the member sent: ``type``, ``media_id``,
    ``title``, ``received_at``); their ids are queued for fetching after the commit."""
    rows = [
        Attachment(
            owner_kind=owner_kind[:40],
            owner_id=owner_id[:64],
            openid=openid,
            submission_key=key,
            media_id=str(item.media_id)[:200],
            media_type=str(item.type)[:20],
            title=str(item.title)[:200],
            received_at=item.received_at,
            status="pending",
        )
        for item in items
        if item.media_id
    ]
    if not rows:
        return rows
    db.add_all(rows)
    db.flush()
    db.info.setdefault(FETCH_AFTER_COMMIT, []).extend(row.id for row in rows)
    return rows


def attachments_of(db: DBSession, owner_kind: str, owner_id: str) -> list[Attachment]:
    """A record's attachments, in the order they were sent."""
    return list(
        db.execute(
            select(Attachment)
            .where(Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id)
            .order_by(Attachment.id)
        ).scalars()
    )
