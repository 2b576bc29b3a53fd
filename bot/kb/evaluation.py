"""Measuring the knowledge base on a labelled set: ranking, bands and the decision curve.

A set is a TSV of ``question<TAB>topic`` lines (``none`` for out of scope), with or without
a header line — the development sets, our tuning and held-out sets under
``knowledge/eval/``, or a curator's own regression set. ``flask kb eval FILE`` prints
:func:`format_report`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.kb.base import Decision, KnowledgeBase

# Answer cut-offs the decision curve is drawn at (the fitted one is added).
CURVE_CUTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MAX_CHOICES = 3


def read_set(path: Path) -> list[tuple[str, str]]:
    """``(question, topic)`` rows of a TSV; a header line (``question<TAB>topic``) is skipped."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if "\t" not in line:
            continue
        question, topic = (part.strip() for part in line.rsplit("\t", 1))
        if number == 0 and (question.lower() == "question" or topic.lower() == "topic"):
            continue
        if question:
            rows.append((question, topic))
    return rows


@dataclass(frozen=True)
class Outcome:
    """One question's gold topic and what the knowledge base did with it."""

    question: str
    gold: str
    decision: Decision

    @property
    def ranked(self) -> list[str]:
        return [c.topic for c in self.decision.candidates]


def run(kb: KnowledgeBase, rows: Iterable[tuple[str, str]]) -> list[Outcome]:
    return [Outcome(q, gold, kb.decide(q)) for q, gold in rows]


def _bands(outcomes: list[Outcome], kb: KnowledgeBase, cut: float | None) -> list[str]:
    calibration = kb.calibration
    if cut is None or calibration is None:
        return [o.decision.band for o in outcomes]
    return [calibration.band(o.decision.p_answer, o.decision.p_choices, cut) for o in outcomes]


def tally(outcomes: list[Outcome], bands: list[str]) -> dict[str, float]:
    """Rates of each band against right/wrong, in scope and out of scope."""
    counts: Counter[str] = Counter()
    for outcome, band in zip(outcomes, bands, strict=True):
        ranked = outcome.ranked
        if outcome.gold == "none":
            counts["oos"] += 1
            counts[f"oos_{band}"] += 1
            continue
        counts["in"] += 1
        if band == "answer":
            counts["answer_right" if ranked[:1] == [outcome.gold] else "answer_wrong"] += 1
        elif band == "choices":
            counts[
                "choices_right" if outcome.gold in ranked[:MAX_CHOICES] else "choices_wrong"
            ] += 1
        else:
            counts["declined"] += 1
    n, m = max(1, counts["in"]), max(1, counts["oos"])
    return {
        "answered_right": counts["answer_right"] / n,
        "answered_wrong": counts["answer_wrong"] / n,
        "choices_right": counts["choices_right"] / n,
        "choices_wrong": counts["choices_wrong"] / n,
        "false_rejection": counts["declined"] / n,
        "oos_answered": counts["oos_answer"] / m,
        "oos_choices": counts["oos_choices"] / m,
        "oos_rejection": counts["oos_none"] / m,
    }


def evaluate(kb: KnowledgeBase, rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Every measure of :func:`format_report` for ``rows``."""
    outcomes = run(kb, rows)
    inside = [o for o in outcomes if o.gold != "none"]
    n = max(1, len(inside))
    top1 = sum(o.ranked[:1] == [o.gold] for o in inside)
    top3 = sum(o.gold in o.ranked[:3] for o in inside)
    rr = sum(1.0 / (o.ranked.index(o.gold) + 1) for o in inside if o.gold in o.ranked)
    confusions: Counter[tuple[str, str]] = Counter(
        (o.gold, o.ranked[0]) for o in inside if o.ranked and o.ranked[0] != o.gold
    )
    report: dict[str, Any] = {
        "questions": len(rows),
        "in_scope": len(inside),
        "out_of_scope": len(outcomes) - len(inside),
        "top1": top1 / n,
        "top3": top3 / n,
        "mrr": rr / n,
        **tally(outcomes, _bands(outcomes, kb, None)),
        "confusions": confusions.most_common(10),
        "misses": _misses(outcomes),
    }
    calibration = kb.calibration
    if calibration is not None:
        cuts = sorted({*CURVE_CUTS, round(calibration.answer_cut, 3)})
        report["answer_cut"] = calibration.answer_cut
        report["choices_cut"] = calibration.choices_cut
        report["curve"] = [
            {"cut": cut, **tally(outcomes, _bands(outcomes, kb, cut))} for cut in cuts
        ]
    else:
        report["curve"] = []
    return report


def _misses(outcomes: list[Outcome]) -> list[str]:
    misses = []
    for o in outcomes:
        d, ranked = o.decision, o.ranked
        text = o.question if len(o.question) <= 80 else o.question[:77] + "…"
        if o.gold == "none":
            if d.band != "none":
                misses.append(
                    f"OOS not declined ({d.band} {ranked[:1]} p={d.p_answer:.2f}): {text}"
                )
            continue
        if d.band == "none":
            misses.append(f"declined (p={d.p_choices:.2f}, top {ranked[:1]}) {o.gold}: {text}")
        elif d.band == "answer" and d.topic != o.gold:
            misses.append(f"WRONG {d.topic} for {o.gold} (p={d.p_answer:.2f}): {text}")
        elif ranked[:1] != [o.gold]:
            misses.append(f"top1 {ranked[:1]} for {o.gold} ({d.band}): {text}")
        elif d.band == "choices":
            misses.append(f"choices though right (p={d.p_answer:.2f}) {o.gold}: {text}")
    return misses


def format_report(r: dict[str, Any], errors: bool = False) -> str:
    lines = [
        f"questions: {r['questions']} (in scope {r['in_scope']}, out of scope {r['out_of_scope']})",
        f"top-1 accuracy:            {r['top1']:.1%}",
        f"top-3 accuracy:            {r['top3']:.1%}",
        f"MRR:                       {r['mrr']:.3f}",
        f"answered directly & right: {r['answered_right']:.1%}",
        f"answered directly & wrong: {r['answered_wrong']:.1%}",
        f"choices, right among them: {r['choices_right']:.1%}",
        f"choices, right not among:  {r['choices_wrong']:.1%}",
        f"in-scope declined:         {r['false_rejection']:.1%}",
        f"out-of-scope declined:     {r['oos_rejection']:.1%}"
        f" (answered {r['oos_answered']:.1%}, choices {r['oos_choices']:.1%})",
    ]
    if r.get("curve"):
        lines += [
            f"decision curve (answer when P(right) ≥ cut; choices when P(in top 3) ≥ "
            f"{r['choices_cut']:.2f}; fitted cut {r['answer_cut']:.2f}):",
            "    cut   in scope: answer right / wrong   choices   declined"
            "   out of scope: answer / choices / declined",
        ]
        for row in r["curve"]:
            mark = " *" if abs(row["cut"] - r["answer_cut"]) < 1e-9 else "  "
            choices = row["choices_right"] + row["choices_wrong"]
            lines.append(
                f"  {mark}{row['cut']:.2f}        {row['answered_right']:6.1%} / "
                f"{row['answered_wrong']:5.1%}    {choices:6.1%}"
                f"    {row['false_rejection']:6.1%}          {row['oos_answered']:5.1%} / "
                f"{row['oos_choices']:5.1%} / {row['oos_rejection']:6.1%}"
            )
    lines.append("most confused (gold → top-1):")
    lines += [f"  {g} → {p}: {c}" for (g, p), c in r["confusions"]] or ["  none"]
    if errors:
        lines += ["misses:"] + [f"  {m}" for m in r["misses"]]
    return "\n".join(lines)
