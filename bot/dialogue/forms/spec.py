"""What a form is: ordered slots of a kind, their options and mappings, a submit action.

These are plain values a handler module declares at import time through ``Intent.form``;
the engine (``bot.dialogue.forms.engine``, whose docstring lists the slot kinds and the
mappings) runs them. Nothing here imports the intent registry or the engine, so declaring a
form never pulls in the machinery that runs it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn

Validator = Callable[[Turn, Any], Any]
# on_submit(turn, values) or on_submit(turn, values, key) -> Reply | Submitted
SubmitFn = Callable[..., Any]

# What members type to say yes, no, or "nothing more" to a prompt. They are the form
# protocol's answer vocabulary (validators use them too), not reply text; they are compared
# with the normalised message (no punctuation, lower case).
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
# A yes/no slot ("有没有签合同？") takes more everyday words than a confirmation does.
YES_ANSWERS = frozenset(
    {"1", "是", "是的", "对", "对的", "嗯", "好", "好的", "可以", "行", "ok", "yes", "y"}
    | {"有", "有的", "要", "需要", "签了", "当然", "确定", "确认", "没错"}
)
NO_ANSWERS = frozenset(
    {"2", "否", "不", "不对", "不是", "no", "n", "没有", "没", "无", "不要", "不需要"}
    | {"不用", "不用了", "没签", "不行", "不可以", "不想"}
)
AGREE = frozenset({"1", "同意", "我同意", "同意授权", "授权", "是", "好", "好的", "可以", "确认"})
DISAGREE = frozenset({"2", "不同意", "我不同意", "拒绝", "不授权", "不", "否", "不要", "不可以"})
# Every way of saying yes or no the forms know, for a question of the engine's own ("is this
# your phone number?").
ANY_YES = YES | YES_ANSWERS | AGREE
ANY_NO = NO | NO_ANSWERS | DISAGREE
# An optional slot is left empty with these.
SKIP = DONE | {"没有", "不知道", "不清楚", "暂无"}

KINDS = frozenset(
    {"text", "choice", "yes_no", "number", "money", "date", "time", "datetime", "phone"}
    | {"media", "consent"}
)


@dataclass(frozen=True)
class Choice:
    """One option of a choice slot.

    :param value: what is stored (``contract``); members never need to type it.
    :param label: what members read in lists and summaries (``合同纠纷``).
    :param aliases: synonyms that name this option in a message (``合同``, ``欠款``).
    """

    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Money:
    """An amount as the member gave it: ``yuan`` for arithmetic, ``text`` for the record."""

    yuan: Decimal
    text: str


@dataclass(frozen=True)
class Number:
    """A count or measure as the member gave it ("大概30人" → 30, and the words)."""

    value: Decimal
    text: str


@dataclass(frozen=True)
class Consent:
    """Agreement to the consent text of ``template`` in ``version``, at ``at`` (UTC)."""

    version: str
    at: datetime
    template: str


@dataclass(frozen=True)
class MediaItem:
    """An image, voice message, video or file a member sent during the form.

    ``media_id`` is WeChat's temporary id: it expires three days after ``received_at``, so
    the attachment job fetches it right after the form is submitted.
    """

    type: str
    media_id: str
    title: str
    received_at: datetime


@dataclass(frozen=True)
class Submitted:
    """What a submit action returns: the record's reference and the reply to send."""

    ref: str
    reply: Reply


@dataclass(frozen=True)
class Slot:
    """One field of a form (the slot kinds and mappings are listed in the engine's docstring).

    :param kind: ``text`` (the default), ``choice``, ``yes_no``, ``number``, ``money``,
        ``date``, ``time``, ``datetime``, ``phone``, ``media`` or ``consent``.
    :param validate: called with the kind's value (the text as typed for text; the option's
        value for a choice; a :class:`Money` …); returns the value to keep or raises
        :class:`~bot.errors.Invalid` (ask again) or :class:`~bot.errors.FormEnded`.
    :param entity: the NLU entity that fills it from any message (``phone``, ``money`` …).
    :param mention: a choice slot is filled by an option named anywhere in a message.
    :param profile: the member-profile key that pre-fills it.
    :param choices: the options, made per turn (sessions open now); or ``options``, fixed.
    :param multi: several options may be picked ("1、3", "合同纠纷和劳动纠纷").
    :param when: ask only when this holds for the values so far (re-checked after edits).
    :param min_len: text bounds (characters), as typed.
    :param past: a date must not be after today (True) or before today (False).
    :param consent: the template of the consent text; its ``{% set version = "…" %}`` is
        what the record keeps.
    :param mask: show only the ends of the value in summaries (phones always are).
    :param numeric: a text slot that may hold a bare number (a case number, a room).
    :param free_text: any text is an answer: only clear questions interrupt.
    :param attachment: an older spelling of ``kind="media"``.
    """

    name: str
    label: str
    kind: str = "text"
    validate: Validator | None = None
    entity: str | None = None
    mention: bool = False
    profile: str | None = None
    optional: bool = False
    choices: Callable[[Turn], list[Choice]] | None = None
    options: tuple[Choice, ...] = ()
    multi: bool = False
    when: Callable[[Mapping[str, Any]], bool] | None = None
    min_len: int = 1
    max_len: int = 500
    past: bool | None = None
    consent: str | None = None
    mask: bool = False
    numeric: bool = False
    free_text: bool = False
    attachment: bool = False

    def __post_init__(self) -> None:
        kind = self.kind
        if kind == "text" and (self.choices is not None or self.options):
            kind = "choice"
        if self.attachment:
            kind = "media"
        if kind not in KINDS:
            raise ValueError(f"slot {self.name!r}: unknown kind {kind!r} (one of {sorted(KINDS)})")
        if kind == "consent" and not self.consent:
            raise ValueError(f"slot {self.name!r}: a consent slot needs consent='<template>'")
        object.__setattr__(self, "kind", kind)

    def options_for(self, turn: Turn) -> list[Choice]:
        """The options on offer this turn."""
        return list(self.choices(turn)) if self.choices is not None else list(self.options)


@dataclass
class Form:
    """A form: its slots in order, and what happens when they are all filled.

    ``intent`` is the name of the intent that owns it (a name, not the object, so that the
    spec needs nothing from the registry). ``collects_media`` names the media slot that an
    image, voice message, video or file sent at any step goes into; ``owner_kind`` is what
    the stored attachments say they belong to (the form's name unless given).
    """

    name: str
    intent: str
    slots: tuple[Slot, ...]
    confirm: bool = True
    submit: SubmitFn | None = None
    submit_takes_key: bool = False
    prefill: Callable[[Turn], dict[str, Any]] | None = None
    describe: Callable[[Turn, dict[str, Any]], dict[str, Any]] | None = None
    collects_media: str | None = None
    owner_kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [s.name for s in self.slots]
        if len(set(names)) != len(names):
            raise ValueError(f"form {self.name!r} declares a slot twice: {names}")
        if self.collects_media is not None:
            if self.collects_media not in names:
                raise ValueError(
                    f"form {self.name!r}: collects_media={self.collects_media!r} is not a slot"
                )
            if self.slot(self.collects_media).kind != "media":
                raise ValueError(f"form {self.name!r}: slot {self.collects_media!r} is not media")
        self.owner_kind = self.owner_kind or self.name

    def on_submit(self, fn: SubmitFn) -> SubmitFn:
        """Record the submit action: ``fn(turn, values)`` or ``fn(turn, values, key)``.

        It runs in the turn's transaction, once per form run (``key`` is the run's
        idempotency key: store it with the record to be safe across processes too), and
        returns :class:`Submitted` (or a Reply whose context carries ``ref``).
        """
        self.submit = fn
        self.submit_takes_key = len(inspect.signature(fn).parameters) >= 3
        return fn

    def on_prefill(self, fn: Callable[[Turn], dict[str, Any]]) -> Callable[[Turn], dict[str, Any]]:
        self.prefill = fn
        return fn

    def slot(self, name: str) -> Slot:
        return next(s for s in self.slots if s.name == name)

    def has_slot(self, name: str) -> bool:
        return any(s.name == name for s in self.slots)

    def template(self, step: str) -> str:
        return f"replies/{self.name}/{step}.txt"

    @property
    def media_slot(self) -> Slot | None:
        """The slot media go into: the declared one, or a media slot being asked."""
        return self.slot(self.collects_media) if self.collects_media else None
