"""Routing a member's message to the handler that answers it.

Precedence (issue 4): menu key → global commands (取消, 帮助, 人工, 返回, 更多) → the form in
progress → understanding (NLU) → the intent's handler. Handlers declare what they answer with
:class:`Intent`; they receive one :class:`Turn` and return a :class:`~bot.dialogue.replies.Reply`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.dialogue.replies import Reply
from bot.dialogue.state import DialogueState
from bot.extensions import DBSession
from bot.wechat.channel import Inbound

if TYPE_CHECKING:
    from bot.dialogue.forms.engine import Form

log = logging.getLogger(__name__)

HandlerFn = Callable[["Turn"], Reply]


@dataclass
class Notice:
    """A message for another member, pushed after the turn's transaction commits."""

    openid: str
    reply: Reply


@dataclass
class Turn:
    """Everything a handler may use for one message; handlers import nothing else."""

    user_id: str
    text: str
    message: Inbound
    db: DBSession
    now: datetime
    state: DialogueState
    org: Mapping[str, str]
    kb: Any = None
    intent: str = ""
    confidence: float = 0.0
    entities: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    config: Mapping[str, Any] = field(default_factory=dict)
    forms: Any = None  # the form engine
    # Records that may be written after the reply, in batches (see bot.jobs.convlog): kind → data.
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def note(self, kind: str, **data: Any) -> None:
        """Record something for curators off the request path (e.g. an unanswered question)."""
        self.notes.append((kind, data))

    def notify(self, openid: str, reply: Reply) -> None:
        """Queue a message to another member, sent only if this turn commits."""
        self.notices.append(Notice(openid, reply))

    def start_form(self, name: str, values: Mapping[str, Any] | None = None) -> Reply:
        """Begin the form ``name``; slots the message already answers are filled."""
        reply: Reply = self.forms.start(self, name, values)
        return reply


class Intent:
    """A named thing members want, with what triggers it and the function that answers it."""

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        menu_keys: tuple[str, ...] = (),
        commands: tuple[str, ...] = (),
        events: tuple[str, ...] = (),
        light: bool = False,
    ) -> None:
        self.name = name
        self.description = description
        self.menu_keys = menu_keys
        self.commands = commands  # exact texts that select this intent ("帮助", "菜单")
        self.events = events
        # Light: the handler does no database or network I/O, so the webhook may run it
        # in the request thread instead of handing it to the pool that guards the budget.
        self.light = light
        self.run: HandlerFn | None = None
        self.handler_name = ""
        self.forms: list[Any] = []
        self._frozen = False

    def handler(self, fn: HandlerFn) -> HandlerFn:
        """Record ``fn`` as the intent's handler (like a blueprint, it only records)."""
        if self._frozen:
            raise RuntimeError(f"intent {self.name!r} is registered already; decorate earlier")
        if self.run is not None:
            raise RuntimeError(f"intent {self.name!r} has two handlers")
        self.run = fn
        return fn

    def form(self, *slots: Any, name: str | None = None, confirm: bool = True) -> Form:
        """Declare a form this intent owns; without a handler, the intent starts it."""
        from bot.dialogue.forms.engine import Form

        if self._frozen:
            raise RuntimeError(f"intent {self.name!r} is registered already; declare forms earlier")
        declared = Form(name or self.name, self, tuple(slots), confirm=confirm)
        self.forms.append(declared)
        return declared

    def freeze(self) -> None:
        if self.run is None and self.forms:
            first = self.forms[0].name

            def start(turn: Turn) -> Reply:
                return turn.start_form(first)

            start.__name__ = f"start_{first}"
            self.run = start
        if self.run is None:
            raise RuntimeError(f"intent {self.name!r} has no handler")
        self.handler_name = f"{self.run.__module__}.{self.run.__name__}"  # for the log
        for form in self.forms:
            if form.submit is None:
                raise RuntimeError(f"form {form.name!r} has no submit action (@form.on_submit)")
        self._frozen = True


class Registry:
    """The frozen table of intents, menu keys, commands and events."""

    def __init__(self, intents: tuple[Intent, ...]) -> None:
        self.intents: dict[str, Intent] = {}
        self.menu: dict[str, Intent] = {}
        self.commands: dict[str, Intent] = {}
        self.events: dict[str, Intent] = {}
        self.forms: dict[str, Any] = {}
        for intent in intents:
            if intent.name in self.intents:
                raise RuntimeError(f"intent {intent.name!r} is listed twice in handlers.ALL")
            intent.freeze()
            self.intents[intent.name] = intent
            for form in intent.forms:
                if form.name in self.forms:
                    raise RuntimeError(f"form {form.name!r} is declared twice")
                self.forms[form.name] = form
            for table, keys, what in (
                (self.menu, intent.menu_keys, "menu key"),
                (self.commands, intent.commands, "command"),
                (self.events, intent.events, "event"),
            ):
                for key in keys:
                    if key in table:
                        raise RuntimeError(
                            f"{what} {key!r} is claimed by {table[key].name!r} and {intent.name!r}"
                        )
                    table[key] = intent

    def get(self, name: str) -> Intent | None:
        return self.intents.get(name)
