"""Every intent is declared once, in its handler module, and registered in handlers.ALL.

The registry derives the rest from those declarations: the classifier's labels (which must
match the examples files, knowledge/intents/<label>.txt, and the project's label list,
knowledge/intents.yaml) and the intents that may interrupt a form.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import yaml

import handlers
from bot.dialogue.intents import Intent, Registry
from bot.nlu.classifier import example_labels
from tests.conftest import ROOT

# Labels of knowledge/intents.yaml for services that are not built yet. When one of them
# becomes an intent, take it off this list (the last test says so).
NOT_SERVED_YET: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry(handlers.ALL)


def test_every_handler_module_is_registered():
    names = {intent.name for intent in handlers.ALL}
    for module in pkgutil.iter_modules(handlers.__path__):
        if module.name == "validators":
            continue
        mod = importlib.import_module(f"handlers.{module.name}")
        for value in vars(mod).values():
            if isinstance(value, Intent):
                assert value.name in names, f"{module.name}.{value.name} is not in handlers.ALL"


def test_every_examples_file_belongs_to_a_classified_intent(registry):
    orphans = set(example_labels()) - set(registry.labels)
    assert not orphans, (
        f"knowledge/intents/{{{','.join(sorted(orphans))}}}.txt: no classified intent of that "
        "name in handlers.ALL (declare it, or move the examples)"
    )


def test_every_classified_intent_has_examples(registry):
    missing = set(registry.labels) - set(example_labels())
    assert not missing, (
        f"{sorted(missing)} are classified but have no knowledge/intents/<name>.txt: write "
        "examples, or declare Intent(..., classified=False) if only a command, menu key or "
        "event reaches it"
    )


def test_the_label_spec_is_served(registry):
    spec = yaml.safe_load((ROOT / "knowledge" / "intents.yaml").read_text())["intents"]
    wanted = {item["id"] for item in spec} - NOT_SERVED_YET
    assert wanted <= set(registry.labels), sorted(wanted - set(registry.labels))


def test_not_served_yet_is_kept_honest(registry):
    served = NOT_SERVED_YET & set(registry.intents)
    assert not served, f"{sorted(served)} are intents now: remove them from NOT_SERVED_YET"


def test_the_classifier_learns_the_registry_labels(app):
    assert app.extensions["nlu"].model.labels == app.extensions["registry"].labels
    assert set(app.extensions["nlu"].model.classes) == set(app.extensions["registry"].labels)


def test_intents_declare_whether_they_interrupt_a_form(registry):
    assert registry.interrupting == {
        "policy_question",
        "greeting",
        "goodbye",
        "help",
        "out_of_scope",
        "case_status",  # "我的申请办得怎么样了" at a form's question
    }


def test_only_declared_intents_are_left_out_of_the_classifier(registry):
    unclassified = {name for name, intent in registry.intents.items() if not intent.classified}
    # appeal_feedback: only its exact words ("已解决，满意") answering the bot's question;
    # service_hall (a menu button, "服务大厅") and proxy_supplement ("补材料", asked for by
    # the 代办员's message) likewise.
    assert unclassified == {
        "welcome", "contact", "back", "appeal_feedback", "service_hall", "proxy_supplement",
    }  # fmt: skip
