"""A minimal understanding used until the trained classifier is available.

It recognises an intent's commands as substrings and otherwise treats the text as a policy
question, which the knowledge base answers or honestly declines.
"""

from __future__ import annotations

from bot.dispatch import Registry
from bot.nlu import Parse


class KeywordNLU:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def parse(self, text: str) -> Parse:
        for command, intent in self.registry.commands.items():
            if len(command) >= 2 and command in text:
                return Parse(intent.name, 0.6)
        return Parse("policy_question" if "policy_question" in self.registry.intents else
                     "out_of_scope", 0.3)
