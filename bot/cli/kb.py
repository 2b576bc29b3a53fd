"""``flask kb …``: ask, import, export, eval, fit (docs/CONTRACT.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from bot.extensions import db
from bot.kb import answers, evaluation
from bot.kb import entries as knowledge
from bot.kb.base import KnowledgeBase
from bot.models import KnowledgeEntry

kb_cli = AppGroup("kb", help="The curated policy knowledge base.")


def input_lines(argument: str | None, from_stdin: bool) -> list[str]:
    """The items a command answers: one a line from stdin, or the single argument."""
    if from_stdin:
        return [line.rstrip("\n") for line in sys.stdin]
    return [argument or ""]


def kb() -> KnowledgeBase:
    base: KnowledgeBase = current_app.extensions["kb"]
    return base


def ask_json(question: str) -> dict[str, Any]:
    """What a member asking ``question`` would get, in the contract's JSON shape."""
    found = answers.answer(kb(), question)
    return {
        "band": found.band,
        "topic": found.topic,
        "score": round(found.score, 4),
        "answer": found.text,
        "candidates": [{"topic": c.topic, "score": round(c.score, 4)} for c in found.candidates],
    }


@kb_cli.command("ask")
@click.argument("question", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="One question a line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object a line).")
def ask(question: str | None, from_stdin: bool, as_json: bool) -> None:
    """Answer a question as a member would be answered."""
    for q in input_lines(question, from_stdin):
        result = ask_json(q)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(
                f"[{result['band']} {result['topic']} {result['score']}]\n{result['answer']}\n"
            )


@kb_cli.command("import")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None)
def import_command(directory: Path | None) -> None:
    """Copy entry files into the database (upsert by topic) and reload every process."""
    try:
        entries = knowledge.read_files(directory or knowledge.ENTRIES_DIR)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    created, updated = knowledge.import_entries(db.session, entries)
    db.session.commit()
    version = knowledge.bump_version(current_app.extensions["redis"])
    click.echo(f"imported {len(entries)} entries ({created} new, {updated} updated); v{version}")


@kb_cli.command("export")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None)
def export_command(directory: Path | None) -> None:
    """Write the database's entries back to files, one per topic."""
    target = directory or knowledge.ENTRIES_DIR
    target.mkdir(parents=True, exist_ok=True)
    rows = db.session.execute(db.select(KnowledgeEntry)).scalars().all()
    for row in rows:
        entry = knowledge.from_row(row)
        (target / f"{entry.topic}.md").write_text(knowledge.dump_entry(entry), encoding="utf-8")
    click.echo(f"exported {len(rows)} entries to {target}")


@kb_cli.command("eval")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--errors", is_flag=True, help="List every miss.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(path: Path, errors: bool, as_json: bool) -> None:
    """Measure a TSV set (question<TAB>topic|none): top-1/top-3, bands, decision curve."""
    report = evaluate(path)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        click.echo(format_report(report, errors))


def evaluate(path: Path) -> dict[str, Any]:
    """:func:`bot.kb.evaluation.evaluate` of the set at ``path`` on the app's knowledge base."""
    return evaluation.evaluate(kb(), evaluation.read_set(path))


format_report = evaluation.format_report


@kb_cli.command("fit")
@click.option(
    "--tune",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="The labelled questions (default knowledge/eval/tune.tsv).",
)
@click.option("--check", is_flag=True, help="Only say whether the stored model is current.")
def fit_command(tune: Path | None, check: bool) -> None:
    """Fit the answer/choices/decline decision on our labelled questions and store it."""
    from bot.kb import calibration, fitting

    path = tune or calibration.TUNE_FILE
    digest = calibration.data_hash(path)
    stored = calibration.load_calibration()
    if check:
        current = stored is not None and stored.data_hash == digest
        click.echo("current" if current else "stale: run `flask kb fit`")
        if not current:
            raise SystemExit(1)
        return
    base = kb()
    samples = fitting.measure(base, evaluation.read_set(path))
    fitted = fitting.fit(samples, digest)
    fitted.save()
    base.use_calibration(fitted)
    click.echo(json.dumps({"data_hash": digest, **(fitted.report or {})}, ensure_ascii=False))
