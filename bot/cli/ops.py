"""Operators' commands: ``flask training create``, ``flask export …`` (docs/CONTRACT.md).

Exports print JSON lines (raw values) or CSV; the CSV is written by ``bot.console.exports``,
as the console's downloads are, so cells that a spreadsheet would run as formulas stay text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot.console import exports
from bot.extensions import db
from bot.models import Registration, TrainingSession
from bot.services import members

training_cli = AppGroup("training", help="Training sessions.")
export_cli = AppGroup("export", help="Export records for operators and audits.")

REGISTRATION_FIELDS = exports.REGISTRATIONS
MEMBER_FIELDS = exports.MEMBERS


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@training_cli.command("create")
@click.option("--title", required=True)
@click.option("--kind", default="")
@click.option("--start", "start", required=True, help="Local time, e.g. 2026-12-05T09:00")
@click.option("--end", default=None)
@click.option("--capacity", type=click.IntRange(min=1), required=True)
@click.option("--deadline", default=None)
@click.option("--place", default="")
@click.option("--audience", default="anyone", help="anyone | members | tag:<标签>")
@click.option("--open", "is_open", is_flag=True, help="Open for sign-up now.")
def create_session(
    title: str,
    kind: str,
    start: str,
    end: str | None,
    capacity: int,
    deadline: str | None,
    place: str,
    audience: str,
    is_open: bool,
) -> None:
    """Create a training session and print its id as JSON."""
    try:
        session = TrainingSession(
            title=title,
            kind=kind,
            starts_at=datetime.fromisoformat(start),
            ends_at=_iso(end),
            capacity=capacity,
            deadline=_iso(deadline),
            place=place,
            audience=audience,
            status="open" if is_open else "draft",
        )
    except ValueError as exc:
        raise click.BadParameter(f"dates must be ISO 8601 ({exc})") from exc
    db.session.add(session)
    db.session.commit()
    click.echo(json.dumps({"id": session.id}))


def registration_rows(session_id: int | None) -> list[dict[str, Any]]:
    query = select(Registration).order_by(Registration.id)
    if session_id is not None:
        query = query.where(Registration.session_id == session_id)
    return [
        {
            "id": r.id,
            "session_id": r.session_id,
            "openid": r.openid,
            "name": r.name,
            "company": r.company,
            "position": r.position,
            "phone": r.phone,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
        }
        for r in db.session.execute(query).scalars()
    ]


def emit(rows: Iterable[dict[str, Any]], fields: Sequence[str], fmt: str) -> None:
    """Print ``rows`` as JSON lines (every key) or as CSV (``fields``, in order)."""
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    # For scripts, so no BOM (that is for Excel); formulas are escaped all the same.
    exports.write_csv(sys.stdout, fields, exports.rows_of(rows, fields))


@export_cli.command("registrations")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--session", "session_id", type=int, default=None)
def export_registrations(fmt: str, session_id: int | None) -> None:
    """All registrations (optionally of one session)."""
    emit(registration_rows(session_id), REGISTRATION_FIELDS, fmt)


@export_cli.command("members")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_members(fmt: str) -> None:
    """The member roster."""
    emit(members.roster_rows(db.session), MEMBER_FIELDS, fmt)


@export_cli.command("disputes")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_disputes(fmt: str) -> None:
    """Mediation cases (CONTRACT.md fields, plus amount, due_at, closed_at)."""
    from bot.services.cases import rows

    emit(rows.dispute_rows(db.session), rows.DISPUTE_FIELDS, fmt)


@export_cli.command("cases")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--kind", default=None, help="One kind (mediation …); every kind without it.")
def export_cases(fmt: str, kind: str | None) -> None:
    """Every service-request case of every kind (or of --kind)."""
    from bot.services.cases import KINDS, rows

    if kind is not None and kind not in KINDS:
        raise click.BadParameter(f"unknown kind {kind!r} (one of {sorted(KINDS)})")
    emit(rows.case_rows(db.session, kind=kind), rows.CASE_FIELDS, fmt)


@export_cli.command("committees")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_committees(fmt: str) -> None:
    """Mediation committees and the dispute types each takes."""
    from bot.services.cases import rows

    emit(_joined(rows.committee_rows(db.session), fmt), rows.COMMITTEE_FIELDS, fmt)


@export_cli.command("departments")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_departments(fmt: str) -> None:
    """Departments and the appeal categories each answers."""
    from bot.services.cases import rows

    emit(_joined(rows.department_rows(db.session), fmt), rows.DEPARTMENT_FIELDS, fmt)


def _joined(items: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """Lists as "合同、租赁" in a CSV cell; JSON keeps them as lists."""
    if fmt == "json":
        return items
    return [{k: "、".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in items]


@export_cli.command("appeals")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_appeals(fmt: str) -> None:
    """Appeals (诉求): CONTRACT.md's fields, then urgency, due_at, acknowledged_at,
    answered_at, solved, rating, reopened."""
    from bot.services.cases import rows

    fields = rows.APPEAL_FIELDS
    emit([{k: r[k] for k in fields} for r in rows.appeal_rows(db.session)], fields, fmt)


@export_cli.command("deliveries")
@click.option("--notice", "notice_id", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_deliveries(notice_id: int, fmt: str) -> None:
    """A notice's deliveries: openid, status (sent|failed|skipped|unknown|pending),
    attempts, sent_at, and why (error) and WeChat's report (confirmed)."""
    from bot.cli.notices import DELIVERY_FIELDS, delivery_rows

    emit(delivery_rows(notice_id), DELIVERY_FIELDS, fmt)
