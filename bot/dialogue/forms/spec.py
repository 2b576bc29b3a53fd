"""What a form is: ordered slots, numbered choices, a submit action (Rasa's form, declared).

These are plain values a handler module declares at import time through ``Intent.form``;
the engine (``bot.dialogue.forms.engine``) runs them. Nothing here imports the intent
registry or the engine, so declaring a form never pulls the machinery that runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn

Validator = Callable[[Turn, str], Any]
SubmitFn = Callable[[Turn, dict[str, Any]], Reply]

# What members type to say yes, no, or "nothing more" to a prompt. They are the form
# protocol's answer vocabulary (validators use them too), not reply text.
YES = frozenset(
    {
        "1",
        "是",
        "是的",
        "对",
        "对的",
        "确认",
        "确定",
        "提交",
        "好",
        "好的",
        "可以",
        "没问题",
        "ok",
        "yes",
        "y",
        "确认提交",
        "嗯",
        "行",
    }
)
NO = frozenset({"2", "否", "不", "不对", "修改", "改", "不是", "no", "n", "重新填"})
DONE = frozenset({"完成", "好了", "没有了", "没了", "无", "跳过", "不用了", "不需要"})


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slot:
    """One field of a form.

    :param validate: returns the normalised value or raises :class:`~bot.errors.Invalid`.
    :param entity: the NLU entity that fills it from any message (``phone``, ``date`` …).
    :param profile: the member-profile key that pre-fills it.
    :param choices: numbered options offered in the prompt; the validator gets the value.
    :param when: ask only when this holds for the values so far.
    :param attachment: media messages are collected into this slot.
    """

    name: str
    label: str
    validate: Validator | None = None
    entity: str | None = None
    profile: str | None = None
    optional: bool = False
    choices: Callable[[Turn], list[Choice]] | None = None
    when: Callable[[Mapping[str, Any]], bool] | None = None
    attachment: bool = False
    free_text: bool = False  # any text is an answer: only clear questions interrupt


@dataclass
class Form:
    """A form: its slots in order, and what happens when they are all filled.

    ``intent`` is the name of the intent that owns it (a name, not the object, so that the
    spec needs nothing from the registry).
    """

    name: str
    intent: str
    slots: tuple[Slot, ...]
    confirm: bool = True
    submit: SubmitFn | None = None
    prefill: Callable[[Turn], dict[str, Any]] | None = None
    describe: Callable[[Turn, dict[str, Any]], dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def on_submit(self, fn: SubmitFn) -> SubmitFn:
        self.submit = fn
        return fn

    def on_prefill(self, fn: Callable[[Turn], dict[str, Any]]) -> Callable[[Turn], dict[str, Any]]:
        self.prefill = fn
        return fn

    def slot(self, name: str) -> Slot:
        return next(s for s in self.slots if s.name == name)

    def template(self, step: str) -> str:
        return f"replies/{self.name}/{step}.txt"
