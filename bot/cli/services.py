"""``flask services …``: the 代办事项清单 (import from XLSX/CSV, list, try a description) and
the service rosters (lawyers, partner banks, 代办员)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot.dialogue.replies import Reply, render
from bot.extensions import db
from bot.models import AdminUser, Chamber
from bot.services import catalogue, providers

services_cli = AppGroup("services", help="The services' catalogue (商会代办) and rosters.")

REFUSED_EXIT = 1


@services_cli.command("import-catalogue")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--retire-missing", is_flag=True, help="Deactivate items the file does not list.")
def import_catalogue(path: Path, retire_missing: bool) -> None:
    """Import the 代办事项清单 from PATH (.xlsx or .csv; a header row of 事项名称, 部门,
    所需材料, 可否代办, 办理时限, 关键词, 备注)."""
    try:
        table = catalogue.read_table(path)
    except (ValueError, OSError, KeyError) as exc:
        click.echo(f"error: cannot read {path.name}: {exc}", err=True)
        raise SystemExit(REFUSED_EXIT) from None
    result = catalogue.import_table(db.session, table, deactivate_missing=retire_missing)
    if not result.created and not result.updated:
        db.session.rollback()
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(REFUSED_EXIT)
    db.session.commit()
    for error in result.errors:
        click.echo(f"warning: {error}", err=True)
    click.echo(
        f"catalogue: {result.created} added, {result.updated} updated, {result.retired} retired"
    )


@services_cli.command("catalogue")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
def list_catalogue(fmt: str) -> None:
    """The active items of the 代办事项清单."""
    items = catalogue.active(db.session)
    if fmt == "json":
        rows = [
            {
                "id": i.id,
                "name": i.name,
                "department": i.department,
                "materials": i.material_list,
                "by_proxy": i.by_proxy,
                "workdays": i.workdays,
            }
            for i in items
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for i in items:
        days = f"{i.workdays} 个工作日" if i.workdays else "—"
        click.echo(
            f"{i.id:>4}  {catalogue.label(i)}  {'可代办' if i.by_proxy else '须本人'}  {days}"
        )


@services_cli.command("find")
@click.argument("text")
def find_item(text: str) -> None:
    """Which items a member's description finds (as the bot would search)."""
    from bot.kb import catalogue as search

    items = {str(i.id): i for i in catalogue.active(db.session)}
    rows = [search.Row(*r) for r in catalogue.search_rows(items.values())]
    found = search.find(catalogue.version(db.session), rows, text)
    if not found:
        click.echo("no item matches")
    for match in found:
        click.echo(f"{match.score:.3f}  {catalogue.label(items[match.key])}")
    if found:
        click.echo("taken alone" if search.is_sure(found) else "offered as a list")


@services_cli.command("roster-add")
@click.argument("kind", type=click.Choice(["lawyer", "bank", "agent"]))
@click.argument("name")
@click.option("--user", "username", default=None, help="The console user who works the cases.")
@click.option("--organisation", default="", help="The law firm or bank.")
@click.option("--contact", default="", help="A phone number members may read.")
@click.option("--chamber", "chamber_name", default=None, help="The chamber a 代办员 serves.")
def roster_add(
    kind: str,
    name: str,
    username: str | None,
    organisation: str,
    contact: str,
    chamber_name: str | None,
) -> None:
    """Put a lawyer, a partner bank or a 代办员 on its roster."""
    user = chamber = None
    if username:
        user = db.session.execute(
            select(AdminUser).where(AdminUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise click.BadParameter(f"no console user {username!r}", param_hint="--user")
    if chamber_name:
        chamber = db.session.execute(
            select(Chamber).where(Chamber.name == chamber_name)
        ).scalar_one_or_none()
        if chamber is None:
            raise click.BadParameter(f"no chamber {chamber_name!r}", param_hint="--chamber")
    try:
        row = providers.add(
            db.session, kind, name, user=user, organisation=organisation, contact=contact,
            chamber=chamber,
        )  # fmt: skip
    except providers.RosterRefused as refused:
        db.session.rollback()
        click.echo(render(Reply(refused.template, refused.context)), err=True)
        raise SystemExit(REFUSED_EXIT) from None
    db.session.commit()
    click.echo(f"roster: {kind} #{row.id} {name}")


@services_cli.command("roster")
@click.option("--kind", type=click.Choice(["lawyer", "bank", "agent"]), default=None)
def roster_list(kind: str | None) -> None:
    """The rosters (id, kind, name, organisation, console user, active)."""
    users = {u.id: u.username for u in db.session.execute(select(AdminUser)).scalars()}
    for row in providers.listed(db.session, kind):
        user = users.get(row.user_id or 0, "—")
        state = "" if row.active else "  (停用)"
        click.echo(f"{row.id:>4}  {row.kind:<6}  {row.name}  {row.organisation}  {user}{state}")
