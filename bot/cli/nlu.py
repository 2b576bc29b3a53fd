"""``flask nlu …``: parse and eval (docs/CONTRACT.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from bot.cli.kb import input_lines

nlu_cli = AppGroup("nlu", help="Understanding members: intents and entities.")


def parse_json(text: str) -> dict[str, Any]:
    parse = current_app.extensions["nlu"].parse(text)
    return {
        "intent": parse.intent,
        "confidence": round(parse.confidence, 4),
        "entities": parse.entities,
    }


@nlu_cli.command("parse")
@click.argument("text", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="One message a line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object a line).")
def parse_command(text: str | None, from_stdin: bool, as_json: bool) -> None:
    """Classify a message and extract its entities."""
    for line in input_lines(text, from_stdin):
        result = parse_json(line)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(f"{result['intent']} ({result['confidence']:.2f}) {result['entities']}")


@nlu_cli.command("eval")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--errors", is_flag=True, help="List every misclassified line.")
def eval_command(path: Path, errors: bool) -> None:
    """Accuracy, macro-F1, per-intent precision/recall/F1 and a confusion matrix."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if "\t" in line:
            utterance, label = line.split("\t", 1)
            rows.append((utterance, label.strip()))
    nlu = current_app.extensions["nlu"]
    predicted = [nlu.parse(u).intent for u, _ in rows]
    click.echo(report(rows, predicted, errors, labels=current_app.extensions["registry"].labels))


def report(
    rows: list[tuple[str, str]],
    predicted: list[str],
    errors: bool = False,
    *,
    labels: Sequence[str] = (),
) -> str:
    """Accuracy, macro-F1 and per-intent figures of ``predicted`` against ``rows``' labels.

    :param labels: the classifier's labels (``registry.labels``): the table follows their
        order, and gold labels outside them (intents not built yet) are left out, as a
        label the bot cannot predict says nothing about the classifier. Without them,
        every label that occurs is reported.
    """
    gold = [label for _, label in rows]
    occurring = dict.fromkeys([*gold, *predicted])
    labels = [label for label in labels if label in occurring] if labels else list(occurring)
    confusion: Counter[tuple[str, str]] = Counter(zip(gold, predicted, strict=True))
    lines = [f"messages: {len(rows)}"]
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(1, len(rows))
    f1s = []
    table = [f"{'intent':<18} {'prec':>5} {'rec':>5} {'f1':>5} {'n':>4}"]
    for label in labels:
        tp = confusion[(label, label)]
        fp = sum(c for (g, p), c in confusion.items() if p == label and g != label)
        fn = sum(c for (g, p), c in confusion.items() if g == label and p != label)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        if label in gold:
            f1s.append(f1)
        table.append(f"{label:<18} {prec:5.2f} {rec:5.2f} {f1:5.2f} {gold.count(label):4d}")
    lines.append(f"accuracy: {accuracy:.1%}")
    lines.append(f"macro-F1: {sum(f1s) / max(1, len(f1s)):.3f}")
    lines.append(f"lowest F1: {min(f1s) if f1s else 0:.3f}")
    lines += table
    lines.append(
        "confusion matrix (rows gold, columns predicted; abbreviations = first 4 letters):"
    )
    short = [label[:4] for label in labels]
    lines.append(" " * 18 + " ".join(f"{s:>4}" for s in short))
    for g in labels:
        lines.append(f"{g:<18}" + " ".join(f"{confusion[(g, p)] or '.':>4}" for p in labels))
    if errors:
        lines.append("errors:")
        for (utterance, g), p in zip(rows, predicted, strict=True):
            if g != p:
                lines.append(f"  {g} → {p}: {utterance}")
    return "\n".join(lines)
