"""Dialogue state: one small versioned JSON record per user in Redis.

Only the dispatcher decides the next state; the delivery ledger writes it, once, at the
end of a turn, under the user's lock (see ``bot.wechat.ledger``).

``values`` holds a form's slot values and nothing else; the engine's control state (the
profile values on offer, the slot being changed from the confirmation, a question the engine
asked itself, the last submission) has fields of its own, so no value can be mistaken for
control and a submit action never sees control.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# 2: control state (prefill, editing, pending, submitted) moved out of ``values``.
SCHEMA_VERSION = 2


@dataclass
class DialogueState:
    active_form: str | None = None
    requested_slot: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    failures: int = 0  # invalid answers to the requested slot in a row
    stage: str = "fill"  # fill | confirm | prefill
    history: list[str] = field(default_factory=list)  # slots answered, for "返回"
    choices: list[str] = field(default_factory=list)  # numbered options last offered
    choice_kind: str | None = None  # what a bare number picks: "kb", "slot", ...
    form_started_at: float = 0.0
    handoff: bool = False  # a person is handling this conversation
    touched_at: float = 0.0  # last turn; a form idle past DIALOGUE_TTL_SECONDS has expired
    acked_at: float = 0.0  # last "a person will answer" during a hand-off
    # -- the form engine's control state ---------------------------------------------
    prefill: dict[str, Any] = field(default_factory=dict)  # profile values offered (1/2)
    editing: str | None = None  # the slot being changed from the confirmation ("改电话")
    # A question the engine asked about the last answer ("这是您的手机号吗？"): kind + data.
    pending: dict[str, Any] = field(default_factory=dict)
    # The last submission (key, the confirming text, when): a repeated confirmation after
    # the form has closed gets the same reply again instead of a puzzled one.
    submitted: dict[str, Any] = field(default_factory=dict)
    version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> DialogueState:
        """Load a stored record; an unknown or damaged one starts the user over."""
        if not raw:
            return cls()
        try:
            data: dict[str, Any] = json.loads(raw)
            if data.get("version") != SCHEMA_VERSION:
                return cls()
            known = {f.name for f in fields(cls)}
            state = cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError):
            return cls()
        shapes = (
            (state.values, dict),
            (state.prefill, dict),
            (state.pending, dict),
            (state.submitted, dict),
            (state.history, list),
            (state.choices, list),
        )
        if not all(isinstance(value, kind) for value, kind in shapes):
            return cls()  # damaged by hand or by a bug: start over rather than crash later
        return state

    def copy(self) -> DialogueState:
        """A copy a handler may change freely (its dict and lists are its own).

        Faster than ``dataclasses.replace``, which re-runs ``__init__``: this is made for
        every message.
        """
        twin = object.__new__(DialogueState)
        twin.__dict__.update(self.__dict__)
        twin.values = dict(self.values)
        twin.history = list(self.history)
        twin.choices = list(self.choices)
        twin.prefill = dict(self.prefill)
        twin.pending = dict(self.pending)
        twin.submitted = dict(self.submitted)
        return twin

    @property
    def is_idle(self) -> bool:
        return self == DialogueState()
