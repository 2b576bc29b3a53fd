"""Understanding: the intent bar on the development set and the CLI contract."""

from __future__ import annotations

import json

from bot.cli.nlu import report
from bot.nlu.classifier import read_examples
from tests.conftest import ROOT, eval_set


def test_examples_do_not_copy_the_intent_dev_set():
    import yaml

    rows = read_examples()
    spec = yaml.safe_load((ROOT / "knowledge" / "intents.yaml").read_text())["intents"]
    allowed = {example for intent in spec for example in intent["examples"]}
    dev = {line.split("\t")[0] for line in eval_set("intents_dev.tsv").read_text().splitlines()[1:]}
    # The spec's own examples may be shared, and so may the few-character vocabulary every
    # member uses (你好, 取消, 人工客服); no longer sentence of the set may be trained on.
    shared = {t for t in dev & {text for text, _ in rows} if t not in allowed and len(t) > 4}
    assert not shared


def test_intent_bar_on_the_development_set(app):
    """Macro-F1 ≥ 0.93 and no intent below 0.85 (issue 4's bar)."""
    nlu = app.extensions["nlu"]
    rows = []
    for line in eval_set("intents_dev.tsv").read_text().splitlines()[1:]:
        utterance, label = line.split("\t")
        rows.append((utterance, label))
    predicted = [nlu.parse(u).intent for u, _ in rows]
    text = report(rows, predicted, labels=app.extensions["registry"].labels)
    macro = float(
        next(line for line in text.splitlines() if line.startswith("macro-F1")).split()[-1]
    )
    lowest = float(
        next(line for line in text.splitlines() if line.startswith("lowest F1")).split()[-1]
    )
    assert macro >= 0.93 and lowest >= 0.85, text


def test_parse_json_contract(runner):
    result = runner.invoke(args=["nlu", "parse", "我要报名新生代企业家培训班", "--json"])
    data = json.loads(result.output.strip().splitlines()[-1])
    assert set(data) == {"intent", "confidence", "entities"}
    assert data["intent"] == "training_register" and 0 < data["confidence"] <= 1
    result = runner.invoke(
        args=["nlu", "parse", "--stdin", "--json"], input="你好\n今天天气怎么样\n"
    )
    intents = [json.loads(line)["intent"] for line in result.output.strip().splitlines()]
    assert intents == ["greeting", "out_of_scope"]


def test_examples_do_not_copy_the_knowledge_dev_set():
    from bot.nlu.normalise import normalise

    kb_dev = {
        normalise(line.split("\t")[0])
        for line in eval_set("kb_dev.tsv").read_text().splitlines()[1:]
    }
    copied = {t for t, _ in read_examples() if normalise(t) in kb_dev and len(t) > 4}
    assert not copied


def test_eval_reports_in_the_registry_labels(app, runner, tmp_path):
    data = tmp_path / "set.tsv"
    data.write_text(
        "utterance\tintent\n你好\tgreeting\n明天会下雨吗\tweather_report\n转人工\thuman_agent\n"
    )
    result = runner.invoke(args=["nlu", "eval", str(data)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("intent "))
    end = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    table = [line.split()[0] for line in lines[start + 1 : end]]
    # Registry order; a gold label the bot has no intent for (weather_report) is not scored.
    assert "weather_report" not in table and {"greeting", "human_agent"} <= set(table)
    assert table == [label for label in app.extensions["registry"].labels if label in table]
