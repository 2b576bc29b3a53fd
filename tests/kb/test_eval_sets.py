"""Our own labelled sets (knowledge/eval/): well formed, apart, not pasted, and the held-out
set's bar; `flask kb eval` on any TSV of that shape."""

from __future__ import annotations

import json
from collections import Counter

import yaml

from bot.kb import entries as knowledge
from bot.kb.evaluation import read_set
from bot.nlu.normalise import normalise
from tests.conftest import ROOT

EVAL = ROOT / "knowledge" / "eval"
TOPICS = {
    t["id"]: t for t in yaml.safe_load((ROOT / "knowledge" / "topics.yaml").read_text())["topics"]
}


def test_the_sets_are_labelled_with_known_topics_and_cover_them():
    for name, per_topic, outside in (("tune.tsv", 8, 80), ("holdout.tsv", 3, 40)):
        rows = read_set(EVAL / name)
        labels = Counter(topic for _, topic in rows)
        assert set(labels) <= {*TOPICS, "none"}, name
        assert labels["none"] >= outside, name
        thin = {t: labels[t] for t in TOPICS if labels[t] < per_topic}
        assert not thin, (name, thin)


def test_held_out_questions_are_apart_from_the_tuning_set_and_the_entries():
    tune = {normalise(q) for q, _ in read_set(EVAL / "tune.tsv")}
    held = {normalise(q) for q, _ in read_set(EVAL / "holdout.tsv")}
    assert not tune & held
    titles = {normalise(t["title"]) for t in TOPICS.values()}
    written = {normalise(q) for e in knowledge.read_files() for q in e.questions} - titles
    assert not written & held, "a held-out question was pasted into an entry"
    assert not written & tune, "a tuning question was pasted into an entry"


def test_the_held_out_bar(app):
    """The regression bar on questions never tuned on (issue 11's goals; out-of-scope
    declined is held at 0.80 here because this set's out-of-scope half includes 25 long or
    domain-sounding questions, harder than the development set's)."""
    from bot.cli.kb import evaluate

    report = evaluate(EVAL / "holdout.tsv")
    assert report["answered_right"] >= 0.90, report["answered_right"]
    assert report["answered_wrong"] <= 0.05, report["answered_wrong"]
    assert report["false_rejection"] <= 0.05, report["false_rejection"]
    assert report["oos_rejection"] >= 0.80, report["oos_rejection"]
    assert report["top3"] >= 0.98, report["top3"]


def test_kb_eval_takes_any_set_of_that_shape(runner, tmp_path):
    path = tmp_path / "mine.tsv"  # a curator's own set, without a header line
    path.write_text(
        "法治体检收费吗\tlegal.checkup\n劳动仲裁多久出结果\tlegal.labor-dispute\n"
        "明天会下雨吗\tnone\n"
    )
    result = runner.invoke(args=["kb", "eval", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["questions"] == 3 and report["in_scope"] == 2
    for key in (
        "top1",
        "top3",
        "mrr",
        "oos_rejection",
        "false_rejection",
        "answered_right",
        "answered_wrong",
        "choices_right",
        "oos_answered",
        "curve",
    ):
        assert key in report, key
    assert report["top1"] == 1.0 and report["oos_rejection"] == 1.0
    cuts = [row["cut"] for row in report["curve"]]
    assert cuts == sorted(cuts) and report["answer_cut"] in cuts
    # A stricter cut answers no more than a looser one.
    answered = [row["answered_right"] + row["answered_wrong"] for row in report["curve"]]
    assert answered == sorted(answered, reverse=True)
    text = runner.invoke(args=["kb", "eval", str(path)]).output
    assert "decision curve" in text and "out-of-scope declined" in text
