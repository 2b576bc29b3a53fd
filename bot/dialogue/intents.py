"""What members want: :class:`Intent` declarations and the frozen :class:`Registry` of them.

Routing precedence (issue 4): menu key → global commands (取消, 帮助, 人工, 返回, 更多) → the
form in progress → understanding (NLU) → the intent's handler. A handler module declares
everything about its intent in one ``Intent(...)`` call — its triggers, whether the
classifier learns it (``knowledge/intents/<name>.txt``), whether it may interrupt a form —
and the registry derives every table from those declarations: menu keys, commands, events,
forms, the classifier's labels, the interrupting intents.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.dialogue.forms.spec import Form, Slot
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn

HandlerFn = Callable[[Turn], Reply]


class Intent:
    """A named thing members want, with what triggers it and the function that answers it.

    :param classified: the intent classifier learns it from ``knowledge/intents/<name>.txt``
        (False for intents reached only by an event, a menu key or an exact command).
    :param interrupts_forms: a clear message of this intent in the middle of a form is
        answered, and the pending prompt repeated (a question, a greeting).
    :param light: the handler does no database or network I/O, so the webhook may run it in
        the request thread instead of handing it to the pool that guards the budget.
    """

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        menu_keys: tuple[str, ...] = (),
        commands: tuple[str, ...] = (),
        patterns: tuple[str, ...] = (),
        events: tuple[str, ...] = (),
        light: bool = False,
        classified: bool = True,
        interrupts_forms: bool = False,
        in_forms: bool = True,
        claims: Callable[[Turn], bool] | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.menu_keys = menu_keys
        self.commands = commands  # exact texts that select this intent ("帮助", "菜单")
        # Regular expressions on the normalised text, tried right after the commands: texts
        # with a fixed shape and a free part ("通知3", "#通知…") that no classifier should guess.
        self.patterns = tuple(re.compile(p) for p in patterns)
        self.events = events
        self.light = light
        self.classified = classified
        self.interrupts_forms = interrupts_forms
        # False: while a form is in progress its commands are answers to that form, not
        # this intent ("满意" typed at another form's prompt), unless the form is its own.
        self.in_forms = in_forms
        # A message the intent recognises as the answer to a question it asked the member
        # earlier (回访: "解决了，谢谢"), asked after the form in progress and before the
        # classifier; it looks at the member's records, so it is kept cheap and specific.
        self.claims = claims
        self.run: HandlerFn | None = None
        self.handler_name = ""
        self.forms: list[Form] = []
        self._frozen = False

    def handler(self, fn: HandlerFn) -> HandlerFn:
        """Record ``fn`` as the intent's handler (like a blueprint, it only records)."""
        if self._frozen:
            raise RuntimeError(f"intent {self.name!r} is registered already; decorate earlier")
        if self.run is not None:
            raise RuntimeError(f"intent {self.name!r} has two handlers")
        self.run = fn
        return fn

    def form(
        self,
        *slots: Slot,
        name: str | None = None,
        confirm: bool = True,
        collects_media: str | None = None,
        owner_kind: str = "",
    ) -> Form:
        """Declare a form this intent owns; without a handler, the intent starts it.

        :param collects_media: the media slot that images, voice messages and files sent at
            any step go into (see ``bot.dialogue.forms.engine``).
        :param owner_kind: what its attachments belong to (the form's name by default).
        """
        if self._frozen:
            raise RuntimeError(f"intent {self.name!r} is registered already; declare forms earlier")
        declared = Form(
            name or self.name,
            self.name,
            tuple(slots),
            confirm=confirm,
            collects_media=collects_media,
            owner_kind=owner_kind,
        )
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
    """The frozen table of intents, menu keys, commands, events, forms and labels."""

    def __init__(self, intents: tuple[Intent, ...]) -> None:
        self.intents: dict[str, Intent] = {}
        self.menu: dict[str, Intent] = {}
        self.commands: dict[str, Intent] = {}
        self.events: dict[str, Intent] = {}
        self.forms: dict[str, Form] = {}
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
        self.patterns: tuple[tuple[re.Pattern[str], Intent], ...] = tuple(
            (pattern, intent) for intent in intents for pattern in intent.patterns
        )
        # What the classifier learns, in routing order; `flask nlu eval` reports in it too.
        self.labels: tuple[str, ...] = tuple(i.name for i in intents if i.classified)
        self.interrupting: frozenset[str] = frozenset(i.name for i in intents if i.interrupts_forms)
        self.claimants: tuple[Intent, ...] = tuple(i for i in intents if i.claims is not None)

    def get(self, name: str) -> Intent | None:
        return self.intents.get(name)

    def matching(self, text: str) -> Intent | None:
        """The intent whose pattern matches the normalised ``text``, if any."""
        for pattern, intent in self.patterns:
            if pattern.search(text):
                return intent
        return None
