"""``flask calendar …``: the holiday calendar that working-day deadlines are counted in."""

from __future__ import annotations

import json
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from bot.extensions import db
from bot.services import calendar, clock

calendar_cli = AppGroup("calendar", help="The holiday calendar (public holidays, 调休 days).")

# CONTRACT.md: a date the calendar does not cover exits with 2.
GAP_EXIT = 2


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@calendar_cli.command("workdays")
@click.argument("start")
@click.argument("n", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help='Print {"date": "YYYY-MM-DD"}.')
def workdays_command(start: str, n: int, as_json: bool) -> None:
    """Print the N-th working day after START by the holiday calendar in force."""
    try:
        day = calendar.add_workdays(db.session, _day(start), n)
    except calendar.CalendarGap as gap:
        click.echo(f"error: {gap}", err=True)
        raise SystemExit(GAP_EXIT) from None
    click.echo(json.dumps({"date": day.isoformat()}) if as_json else day.isoformat())


@calendar_cli.command("seed")
def seed_command() -> None:
    """Load the chinese-calendar package's holidays for the years it covers (kept if present)."""
    added = calendar.seed(db.session)
    db.session.commit()
    today = clock.local_now(current_app.config).date()
    until = calendar.covered_until(db.session, today)
    click.echo(
        f"calendar: {len(added)} years added"
        + (f" ({added[0]}–{added[-1]})" if added else "")
        + f"; covered until {until.isoformat() if until else 'nothing this year'}"
    )


@calendar_cli.command("check")
@click.argument("day", required=False)
def check_command(day: str | None) -> None:
    """Say whether DAY (default: today) is a working day, and how far the table reaches."""
    today = clock.local_now(current_app.config).date()
    wanted = _day(day) if day else today
    try:
        working = calendar.is_workday(db.session, wanted)
    except calendar.CalendarGap as gap:
        click.echo(f"error: {gap}", err=True)
        raise SystemExit(GAP_EXIT) from None
    until = calendar.covered_until(db.session, today)
    click.echo(
        f"{wanted.isoformat()}: {'working day' if working else 'rest day'}; "
        f"table covered until {until.isoformat() if until else '(this year missing)'}"
    )
