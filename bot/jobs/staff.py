"""The staff chore: answered appeals whose 回访 window passed are closed, staff reminders
and the daily digests are owed (``bot.services.cases.staff_reminders``), and the outbox is
swept so they go out. Every step is idempotent (unique outbox keys, a close only from
已答复), so a round run twice, or by two workers at once, sends nothing twice.

Reminders and digests wait for the working morning (``STAFF_REMINDER_HOUR``, local, 8 by
default): a round just after midnight owes nothing yet.
"""

from __future__ import annotations

import logging

from flask import current_app

from bot.dialogue.replies import Reply, render
from bot.extensions import db
from bot.jobs.outbox import sweep
from bot.services import clock
from bot.services.cases import appeals, staff_reminders

log = logging.getLogger(__name__)

DEFAULT_HOUR = 8


def staff_chores() -> int:
    """One round; answers how many messages went out."""
    now = clock.local_now(current_app.config)
    today = now.date()
    closed = appeals.close_unrated(db.session, today)
    db.session.commit()
    reminded = digests = 0
    if now.hour >= int(current_app.config.get("STAFF_REMINDER_HOUR", DEFAULT_HOUR)):
        reminded = staff_reminders.remind(db.session, today)
        label = render(Reply(f"{staff_reminders.TEMPLATES}/label.txt"))
        digests = staff_reminders.send_digests(db.session, today, label)
        db.session.commit()
    sent = sweep()
    log.info(
        "staff chores: %d appeals closed unrated, %d reminders, %d digests owed, %d sent",
        closed, reminded, digests, sent,
    )  # fmt: skip
    return sent
