"""Sending what the case outbox owes members, by the push rules of ``bot.wechat.push``.

For each row: a customer-service message while the member's 48-hour window has pushes left;
else a template message (case number, service, status, date — each field checked against
the platform's limits: at most 20 characters, no line breaks); else the text is held and
shown with the member's next message. A row is claimed and committed before WeChat is
called (``bot.services.cases.outbox``), so a retried job, a second worker or the sweep never
send it twice.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from flask import current_app
from rq import Retry
from wechatpy.exceptions import WeChatClientException

from bot.dialogue.replies import Reply, render
from bot.extensions import db
from bot.models import OutboundMessage
from bot.models.cases import Outbox
from bot.services.cases import outbox
from bot.services.cases.engine import revive
from bot.services.cases.spec import KINDS
from bot.wechat.api import ApiBackoff
from bot.wechat.push import WINDOW_CLOSED, hold, take_window

log = logging.getLogger(__name__)

# The case-progress template's keywords (a template from the platform's library with a
# number, a service, a status and a date): logical field → the template's data key.
TEMPLATE_KEYS = {
    "number": "character_string1",
    "service": "thing2",
    "status": "phrase3",
    "date": "time4",
}
FIELD_MAX_CHARS = 20  # the platform refuses or cuts longer values
# Errors after which nothing can have reached the member: safe to try again later.
RETRYABLE = (ApiBackoff, requests.ConnectionError)


def enqueue(ids: list[int]) -> None:
    """Queue the sending of these outbox rows (after the transaction that wrote them)."""
    if not ids:
        return
    from bot.jobs.queue import queue

    queue().enqueue(
        "bot.jobs.outbox.deliver", list(ids), retry=Retry(max=4, interval=[5, 30, 120, 600])
    )


def enqueue_pending() -> None:
    """Queue every pending row (what a console view or the CLI just committed)."""
    enqueue(outbox.pending_ids(db.session))


def deliver(ids: list[int] | None = None) -> int:
    """Send the given rows, or every pending one; answer how many went out now.

    Re-raises a "try later" error from WeChat after giving the row back, so RQ retries
    the job; rows already sent are not pending any more and are skipped.
    """
    retry: Exception | None = None
    sent = 0
    for row_id in ids if ids is not None else outbox.pending_ids(db.session):
        try:
            if send_one(row_id) is not None:
                sent += 1
        except RETRYABLE as exc:
            retry = exc
    if retry is not None:
        raise retry
    return sent


def sweep() -> int:
    """The periodic chore: rows a dead worker left mid-send become ``unknown``; every pending
    row is sent."""
    outbox.mark_stale(db.session)
    db.session.commit()
    try:
        return deliver()
    except RETRYABLE:
        return 0  # the next sweep tries again


def send_one(row_id: int) -> str | None:
    """Claim, send and mark one row; None when it was not pending (sent, or taken)."""
    row = outbox.claim(db.session, row_id)
    if row is None:
        db.session.rollback()
        return None
    db.session.commit()  # the claim is durable before WeChat hears of the message
    try:
        status = _send(row)
    except RETRYABLE as exc:
        db.session.rollback()
        outbox.release(db.session, row, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        raise
    except WeChatClientException as exc:
        db.session.rollback()
        outbox.finish(db.session, row, outbox.FAILED, f"errcode {exc.errcode}: {exc.errmsg}")
        db.session.commit()
        log.warning("outbox %s to %s failed: %s", row.key, row.openid, exc.errcode)
        return outbox.FAILED
    except requests.RequestException as exc:
        # Sent, perhaps, with no answer (a read timeout): never again — the member sees the
        # change in their progress list anyway.
        db.session.rollback()
        outbox.finish(db.session, row, outbox.UNKNOWN, f"{type(exc).__name__}")
        db.session.commit()
        return outbox.UNKNOWN
    outbox.finish(db.session, row, status)
    db.session.commit()
    log.info("outbox %s to %s: %s", row.key, row.openid, status)
    return status


def _send(row: Outbox) -> str:
    from bot.jobs.queue import wechat_api

    client = current_app.extensions["redis"]
    api = wechat_api()
    text = render(Reply(row.template, revive(row.context)))
    if take_window(client, row.openid):
        try:
            api.message.send_text(row.openid, text)
        except WeChatClientException as exc:
            if exc.errcode not in WINDOW_CLOSED:
                raise
        else:
            db.session.add(
                OutboundMessage(kind="custom", openid=row.openid, status="sent", detail=text[:500])
            )
            return outbox.SENT
    template_id = _template_id()
    data = template_data(row) if template_id else None
    if template_id and data is not None:
        try:
            result = api.message.send_template(row.openid, template_id, data)
        except WeChatClientException as exc:
            log.warning("template message to %s refused (%s); holding it", row.openid, exc.errcode)
        else:
            db.session.add(
                OutboundMessage(
                    kind="template",
                    openid=row.openid,
                    msg_id=result.get("msgid"),
                    status="sent",
                    detail=text[:500],
                )
            )
            return outbox.TEMPLATE
    hold(db.session, client, row.openid, text)
    return outbox.HELD


def template_data(row: Outbox) -> dict[str, dict[str, str]] | None:
    """The template message's data, or None when a field breaks the platform's limits
    (over 20 characters, a line break, empty): then the text is held instead."""
    fields: dict[str, Any] = dict(row.fields or {})
    kind = KINDS.get(str((row.context or {}).get("kind")))
    if kind is not None:
        fields["service"] = render(Reply(kind.template("label")))
    data: dict[str, dict[str, str]] = {}
    for name, key in TEMPLATE_KEYS.items():
        value = str(fields.get(name) or "")
        if not field_ok(value):
            log.info("template field %s of %s not sendable (%r); holding", name, row.key, value)
            return None
        data[key] = {"value": value}
    return data


def field_ok(value: str) -> bool:
    return 0 < len(value) <= FIELD_MAX_CHARS and "\n" not in value and "\r" not in value


def _template_id() -> str:
    cfg = current_app.config
    return str(cfg.get("WECHAT_CASE_TEMPLATE_ID") or cfg.get("WECHAT_NOTICE_TEMPLATE_ID") or "")


def case_chores() -> int:
    """The periodic case chore: today's reminders owed, overdue noted, the outbox swept."""
    from bot.services import clock
    from bot.services.cases import clocks

    today = clock.local_now(current_app.config).date()
    owed = clocks.owe_reminders(db.session, today)
    clocks.note_overdue(db.session, today)
    db.session.commit()
    sent = sweep()
    log.info("case chores: %d reminders owed, %d messages sent", owed, sent)
    return sent
