"""Background jobs (RQ on the same Redis): pushes to members and periodic chores.

Jobs run in ``flask worker`` processes, each inside an app context. They are enqueued only
after the turn's transaction has committed, so a job never refers to a record that a
rollback took back.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, Retry

from bot.extensions import db

log = logging.getLogger(__name__)


class JobsExtension:
    """RQ needs a Redis client that does not decode responses (job payloads are bytes)."""

    def init_app(self, app: Flask) -> None:
        connection = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=5.0
        )
        app.extensions["rq"] = Queue(app.config["RQ_QUEUE"], connection=connection)
        from bot.jobs import media

        media.listen()  # attachments are fetched once the submission that records them commits


jobs_ext = JobsExtension()


def queue() -> Queue:
    q: Queue = current_app.extensions["rq"]
    return q


def enqueue_push(
    openid: str, text: str, *, notice: bool = False, handoff_message: int | None = None
) -> None:
    """Queue a customer-service push; retried with back-off when WeChat is busy.

    ``notice`` marks news the member did not ask for just now (a waiting-list promotion, a
    reminder): outside the customer-service window it goes as a template message when one
    is configured, and is otherwise kept for their next visit.
    """
    if not text:
        return
    queue().enqueue(
        "bot.jobs.queue.push_job",
        openid,
        text,
        notice,
        handoff_message,
        retry=Retry(max=4, interval=[2, 10, 60, 600]),
    )


def wechat_api() -> Any:
    from bot.wechat.api import BotWeChatClient

    cfg = current_app.config
    return BotWeChatClient(
        cfg["WECHAT_APP_ID"],
        cfg["WECHAT_APP_SECRET"],
        base=cfg["WECHAT_API_BASE"],
        client=current_app.extensions["redis"],
    )


def push_job(
    openid: str, text: str, notice: bool = False, handoff_message: int | None = None
) -> str:
    """Deliver ``text`` to ``openid`` now, or hold it for their next message."""
    from rq import get_current_job

    from bot.wechat.push import push_text

    template = current_app.config.get("WECHAT_NOTICE_TEMPLATE_ID") if notice else None
    client = current_app.extensions["redis"]
    job = get_current_job()
    # A retry must not send twice: once WeChat has the message, remember that for this job
    # (the database record may still fail and be retried).
    sent_key = f"bot:pushed:{job.id}" if job is not None else None
    if sent_key and client.get(sent_key):
        log.info("push to %s already delivered by an earlier attempt", openid)
        return str(client.get(sent_key))
    try:
        result = push_text(
            db.session,
            current_app.extensions["redis"],
            wechat_api(),
            openid,
            text,
            template_id=template or None,
        )
        if sent_key:
            client.set(sent_key, result, ex=24 * 3600)
        if handoff_message is not None:
            # Staff see in the console whether their reply reached the member or waits.
            from bot.models import HandoffMessage

            line = db.session.get(HandoffMessage, handoff_message)
            if line is not None:
                line.delivery = result
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("push to %s: %s", openid, result)
    return result


def send_reminders() -> int:
    """Remind every confirmed registrant of tomorrow's sessions, each exactly once."""
    from bot.dialogue.replies import Reply, render
    from bot.links import public_url
    from bot.services import clock, training

    now = clock.local_now(current_app.config)
    sent = 0
    for reg in training.due_reminders(db.session, now):
        # Claim first and commit: a second worker running the same sweep finds it taken.
        if not training.claim_reminder(db.session, reg):
            db.session.rollback()
            continue
        db.session.commit()
        text = render(
            Reply(
                "replies/training_register/reminder.txt",
                {
                    "s": reg.session,
                    "checkin": public_url("pages.checkin_code", code=reg.checkin_code),
                },
            )
        )
        enqueue_push(reg.openid, text, notice=True)
        sent += 1
    log.info("training reminders queued: %d", sent)
    return sent


def flush_conversation_log() -> int:
    from bot.jobs import convlog

    return convlog.flush(current_app.extensions["redis"], int(current_app.config["CONVLOG_BATCH"]))
