"""``flask notices …`` (create, send, status, sweep) and ``flask demo followers N``.

``create`` prints ``{"id": …}``; ``send ID --approve-as USERNAME`` submits the notice, has
the named admin approve it when its audience needs a second person, and queues the send
(``flask worker`` processes do it). Each step is audited as the console's are.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from bot.extensions import db, sqlite_immediate
from bot.models import AdminUser, ConversationLog, Delivery, Follower, Notice, utcnow
from bot.services.notices import audience, compose, deliveries, reconcile

notices_cli = AppGroup("notices", help="Notices (通知公告): compose, approve, send.")
demo_cli = AppGroup("demo", help="Demonstration data for operators and acceptance checks.")

DELIVERY_FIELDS = ("openid", "status", "attempts", "sent_at", "error", "msg_id", "confirmed")


def _notice(notice_id: int) -> Notice:
    row = db.session.get(Notice, notice_id)
    if row is None:
        raise click.ClickException(f"no notice {notice_id}")
    return row


def _echo(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


@notices_cli.command("create")
@click.option("--title", required=True)
@click.option("--body", required=True)
@click.option("--summary", default="")
@click.option("--attachment", default="", help="A link (http/https) to an attachment.")
@click.option("--audience", "spec", default="all", help="all | chamber:ID | tag:NAME | session:ID")
@click.option("--channel", type=click.Choice(compose.CHANNELS), default="template")
@click.option("--as", "actor", default="cli", help="Who composes it (for the audit log).")
def create(
    title: str, body: str, summary: str, attachment: str, spec: str, channel: str, actor: str
) -> None:
    """Create a draft notice; prints {"id": …}."""
    try:
        audience.parse(spec)
    except audience.AudienceError:
        raise click.BadParameter(f"unknown audience {spec!r}", param_hint="--audience") from None
    if attachment and not attachment.startswith(("http://", "https://")):
        raise click.BadParameter("an http(s) link", param_hint="--attachment")
    row = compose.create(
        db.session,
        title=title,
        body=body,
        summary=summary,
        attachment_url=attachment,
        audience_spec=spec,
        channel=channel,
        actor=actor,
        via="cli",
    )
    ident = row.id
    db.session.commit()
    _echo({"id": ident})


@notices_cli.command("send")
@click.argument("notice_id", type=int)
@click.option("--approve-as", "approver", required=True, help="An active admin's username.")
@click.option("--as", "actor", default="cli", help="Who submits it (for the audit log).")
def send(notice_id: int, approver: str, actor: str) -> None:
    """Submit, approve (when the audience needs it) and queue the send."""
    from bot.jobs.notices import start_chains

    admin = db.session.execute(
        select(AdminUser).where(AdminUser.username == approver)
    ).scalar_one_or_none()
    if admin is None or admin.role != "admin" or not admin.active:
        raise click.ClickException(f"{approver!r} is not an active admin")
    from bot.jobs.notices import template_id

    token = sqlite_immediate.set(True)
    try:
        row = _notice(notice_id)
        if row.channel == "template" and not template_id(current_app.config):
            raise click.ClickException("NOTICE_TEMPLATE_ID is not set: no template to send with")
        now = utcnow()
        threshold = int(current_app.config["NOTICE_APPROVAL_THRESHOLD"])
        try:
            if row.status in (compose.DRAFT, compose.PENDING) and row.submitted_by is None:
                compose.submit(db.session, row, actor, threshold, now)
            if row.status == compose.PENDING:
                compose.approve(db.session, row, approver, now)
            count = compose.start(db.session, row, approver, now)
        except compose.NoticeError as exc:
            raise click.ClickException(f"notice {notice_id}: {exc.code} ({row.status})") from None
        db.session.commit()
    finally:
        sqlite_immediate.reset(token)
    start_chains(notice_id)
    _echo({"id": notice_id, "status": compose.SENDING, "recipients": count})


@notices_cli.command("status")
@click.argument("notice_id", type=int)
def status(notice_id: int) -> None:
    """The notice's progress: our delivery table and WeChat's reports."""
    row = _notice(notice_id)
    _echo({"id": row.id, "status": row.status, **reconcile.report(db.session, row)})


@notices_cli.command("sweep")
def sweep() -> None:
    """Run the notices chore once (restart stalled sends, poll mass jobs, match reports)."""
    from bot.jobs.notices import sweep as run

    _echo({"restarted": run()})


def delivery_rows(notice_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Delivery).where(Delivery.notice_id == notice_id).order_by(Delivery.id)
    ).scalars()
    return [
        {
            "openid": r.openid,
            # In flight is still pending for a reader: nothing is known of it yet.
            "status": deliveries.PENDING if r.status == deliveries.SENDING else r.status,
            "attempts": r.attempts,
            "sent_at": r.sent_at.isoformat(timespec="seconds") + "Z" if r.sent_at else None,
            "error": r.error,
            "msg_id": r.msg_id,
            "confirmed": r.confirmed,
        }
        for r in rows
    ]


@demo_cli.command("followers")
@click.argument("count", type=click.IntRange(min=1, max=1_000_000))
@click.option("--prefix", default="o-demo-", help="Openids are PREFIX000001 …")
def demo_followers(count: int, prefix: str) -> None:
    """N subscribed followers, each active within the customer-service window (a message
    logged a minute ago and the window's pushes open)."""
    now = utcnow()
    existing = int(
        db.session.execute(
            select(func.count()).select_from(Follower).where(Follower.openid.like(f"{prefix}%"))
        ).scalar()
        or 0
    )
    openids = [f"{prefix}{i:06d}" for i in range(existing + 1, existing + count + 1)]
    at = now - timedelta(minutes=1)
    window = current_app.config["PUSH_WINDOW_MESSAGE"]
    redis = current_app.extensions["redis"]
    for start in range(0, len(openids), 5000):
        chunk = openids[start : start + 5000]
        db.session.execute(
            Follower.__table__.insert(),
            [
                {"openid": o, "subscribed": True, "subscribed_at": at, "created_at": at}
                for o in chunk
            ],
        )
        db.session.execute(
            ConversationLog.__table__.insert(),
            [
                {"at": at, "openid": o, "msg_type": "text", "text": "你好", "reply": ""}
                for o in chunk
            ],
        )
        pipe = redis.pipeline(transaction=False)
        for o in chunk:
            pipe.set(f"bot:win:msg:{o}", int(window[0]), ex=int(window[1]))
        pipe.execute()
    db.session.commit()
    _echo({"created": count, "first": openids[0], "last": openids[-1]})
