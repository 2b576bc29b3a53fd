"""``flask cases …``: change a case from the command line by the same rules as the console.

``set-status`` and ``act`` go through the case engine (``bot.services.cases``): the kind's
transition table, the user's role and scope, the history row and the member's message —
then the outbox job is queued, as after a console change. A refusal prints why and exits 1.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from bot.dialogue.replies import Reply, render
from bot.extensions import db
from bot.models import AdminUser
from bot.services import clock
from bot.services.cases import engine
from bot.services.cases.outbox import of_case

cases_cli = AppGroup("cases", help="Service-request cases (mediation, appeals …).")

REFUSED_EXIT = 1


def _user(username: str) -> AdminUser:
    user = db.session.execute(
        select(AdminUser).where(AdminUser.username == username)
    ).scalar_one_or_none()
    if user is None or not user.active:
        _refuse(Reply("replies/cases/staff/unknown_user.txt", {"username": username}))
    assert user is not None
    return user


def _refuse(reply: Reply) -> None:
    db.session.rollback()
    click.echo(f"refused: {render(reply)}", err=True)
    raise SystemExit(REFUSED_EXIT)


def _data(pairs: tuple[str, ...]) -> dict[str, str]:
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: use KEY=VALUE", param_hint="--data")
        data[key.strip()] = value.strip()
    return data


def _change(number: str, username: str, change: str, note: str, data: dict[str, str]) -> None:
    """Make ``change`` (a status, or ``@action``) on case ``number`` as ``username``."""
    from bot.jobs import outbox as outbox_jobs

    user = _user(username)
    today = clock.local_now(current_app.config).date()
    try:
        case = engine.visible_case(db.session, number, user)
        if change.startswith("@"):
            event = engine.act(db.session, case, change[1:], user, note, today=today, data=data)
        else:
            event = engine.set_status(db.session, case, change, user, note, today=today, data=data)
    except engine.CaseNotFound:
        _refuse(Reply("replies/cases/staff/not_found.txt", {"number": number}))
        return
    except engine.CaseRefused as refusal:
        _refuse(Reply(refusal.template, refusal.context))
        return
    owed = [row.id for row in of_case(db.session, case.id) if row.status == "pending"]
    db.session.commit()
    outbox_jobs.enqueue(owed)  # only after the commit: the job must find the rows
    click.echo(
        json.dumps(
            {
                "number": case.number,
                "status": case.status,
                "action": event.action,
                "event": event.id,
                "due_at": case.due_at.isoformat() if case.due_at else None,
                "notified": bool(owed),
            },
            ensure_ascii=False,
        )
    )


@cases_cli.command("set-status")
@click.argument("number")
@click.argument("status")
@click.option("--note", default="", help="The note (a reason where one is required).")
@click.option("--as", "username", required=True, help="The console user making the change.")
@click.option("--data", "pairs", multiple=True, help="KEY=VALUE an action needs (repeatable).")
def set_status_command(
    number: str, status: str, note: str, username: str, pairs: tuple[str, ...]
) -> None:
    """Move case NUMBER to STATUS as a console user would (same rules, history, messages)."""
    _change(number, username, status, note, _data(pairs))


@cases_cli.command("act")
@click.argument("number")
@click.argument("action")
@click.option("--note", default="")
@click.option("--as", "username", required=True)
@click.option("--data", "pairs", multiple=True, help="KEY=VALUE, e.g. when=2026-12-05T14:30")
def act_command(number: str, action: str, note: str, username: str, pairs: tuple[str, ...]) -> None:
    """Make ACTION on case NUMBER (schedule, extend, transfer, followup, note …)."""
    _change(number, username, "@" + action, note, _data(pairs))


@cases_cli.command("show")
@click.argument("number")
@click.option("--as", "username", required=True)
def show_command(number: str, username: str) -> None:
    """Print case NUMBER with its history, as USERNAME may see it (JSON)."""
    user = _user(username)
    try:
        case = engine.visible_case(db.session, number, user)
    except engine.CaseNotFound:
        _refuse(Reply("replies/cases/staff/not_found.txt", {"number": number}))
        return
    click.echo(
        json.dumps(
            {
                "number": case.number,
                "kind": case.kind,
                "status": case.status,
                "due_at": case.due_at.isoformat() if case.due_at else None,
                "actions": [t.action for t in engine.allowed_actions(case, user)],
                "history": [
                    {
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "from": e.from_status,
                        "to": e.to_status,
                        "note": e.note,
                        "visibility": e.visibility,
                    }
                    for e in case.events
                ],
            },
            ensure_ascii=False,
        )
    )
