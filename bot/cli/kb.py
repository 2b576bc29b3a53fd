"""``flask kb …``: ask, import, export, eval (docs/CONTRACT.md)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from bot.extensions import db
from bot.kb import answers
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
def eval_command(path: Path, errors: bool) -> None:
    """Measure top-1/top-3 accuracy, MRR, rejection rates and confusions on a TSV set."""
    report = evaluate(path)
    click.echo(format_report(report, errors))


def evaluate(path: Path) -> dict[str, Any]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if "\t" in line:
            question, topic = line.split("\t", 1)
            rows.append((question.strip(), topic.strip()))
    in_scope = out_scope = top1 = top3 = answered_right = answered_wrong = 0
    rejected_in = rejected_out = 0
    rr = 0.0
    confusions: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    for question, gold in rows:
        decision = kb().decide(question)
        ranked = [c.topic for c in decision.candidates]
        if gold == "none":
            out_scope += 1
            if decision.band == "none":
                rejected_out += 1
            else:
                misses.append(f"OOS not rejected ({decision.band} {ranked[:1]}): {question}")
            continue
        in_scope += 1
        if ranked[:1] == [gold]:
            top1 += 1
        elif ranked:
            confusions[(gold, ranked[0])] += 1
        if gold in ranked[:3]:
            top3 += 1
        if gold in ranked:
            rr += 1.0 / (ranked.index(gold) + 1)
        if decision.band == "none":
            rejected_in += 1
            misses.append(f"rejected ({decision.score:.2f}) {gold}: {question}")
        elif decision.band == "answer":
            if decision.topic == gold:
                answered_right += 1
            else:
                answered_wrong += 1
                misses.append(f"WRONG {decision.topic} for {gold}: {question}")
        if ranked[:1] != [gold] and decision.band != "none":
            misses.append(f"top1 {ranked[:1]} for {gold} ({decision.band}): {question}")
    n = max(1, in_scope)
    return {
        "questions": len(rows),
        "in_scope": in_scope,
        "out_of_scope": out_scope,
        "top1": top1 / n,
        "top3": top3 / n,
        "mrr": rr / n,
        "answered_right": answered_right / n,
        "answered_wrong": answered_wrong / n,
        "oos_rejection": rejected_out / max(1, out_scope),
        "false_rejection": rejected_in / n,
        "confusions": confusions.most_common(10),
        "misses": misses,
    }


def format_report(r: dict[str, Any], errors: bool = False) -> str:
    lines = [
        f"questions: {r['questions']} (in scope {r['in_scope']}, out of scope {r['out_of_scope']})",
        f"top-1 accuracy:            {r['top1']:.1%}",
        f"top-3 accuracy:            {r['top3']:.1%}",
        f"MRR:                       {r['mrr']:.3f}",
        f"answered directly & right: {r['answered_right']:.1%}",
        f"answered directly & wrong: {r['answered_wrong']:.1%}",
        f"out-of-scope rejected:     {r['oos_rejection']:.1%}",
        f"in-scope wrongly rejected: {r['false_rejection']:.1%}",
        "most confused (gold → top-1):",
    ]
    lines += [f"  {g} → {p}: {c}" for (g, p), c in r["confusions"]] or ["  none"]
    if errors:
        lines += ["misses:"] + [f"  {m}" for m in r["misses"]]
    return "\n".join(lines)
