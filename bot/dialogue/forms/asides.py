"""Messages in the middle of a form that are not answers to its prompt: a question to
answer before the prompt is repeated, or a wish to stop.

Messages that answer a prompt are short; a clear question in the middle of a form is
answered and the prompt repeated. Which intents may do so, each declares
(``Intent(..., interrupts_forms=True)``); the registry hands the engine their names. An
account of what happened often names a question word mid-sentence ("不知道有哪些政策，
建议…"): for a free-text slot only a short or question-shaped message is a question.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from bot.dialogue.forms.spec import (
    AGREE,
    DISAGREE,
    DONE,
    NO,
    NO_ANSWERS,
    SKIP,
    YES,
    YES_ANSWERS,
    Slot,
)
from bot.dialogue.turn import Turn

QUESTION = re.compile(
    r"[?？吗呢]|怎么|如何|什么|哪些|哪里|多少|多久|几天|啥时候|能不能|可不可以|是否"
)
ASKING_END = re.compile(
    r"(?:[?？吗呢么]|怎么办|怎么样|如何|多少|多久|是什么|哪些|在哪里?)[\s。.!！~～…]*$"
)
SMALL_TALK = frozenset({"greeting", "help", "goodbye"})
# The classifier's confidence for an aside: any, a question-marked one, a clear one.
CONFIDENCE, MARKED_CONFIDENCE, CLEAR = 0.6, 0.25, 0.8
# A message this short that names a question word is a question even without a "?".
SHORT_QUESTION = 20
# A short message the classifier is sure means "stop" ("算了不弄了", "先不弄了") ends the
# form instead of becoming a company name or a title; longer ones are answers.
LEAVE_MAX_CHARS = 12
LEAVE_CONFIDENCE = 0.9
_ANSWER_WORDS = YES | NO | DONE | SKIP | AGREE | DISAGREE | YES_ANSWERS | NO_ANSWERS


class Aside(Enum):
    NONE = "none"  # an answer to the prompt
    QUESTION = "question"  # answer it, then repeat the prompt
    MAYBE = "maybe"  # a question unless the slot accepts it as an answer


def asks(text: str) -> bool:
    """The message is shaped like a question: it ends like one, or is short."""
    text = text.strip()
    return bool(ASKING_END.search(text)) or len(text) <= SHORT_QUESTION


def leaving(nlu: Any, turn: Turn) -> bool:
    """A short message that means "stop" (not one of the answer words)."""
    text = turn.text
    if len(text) > LEAVE_MAX_CHARS or text.isdigit() or text in _ANSWER_WORDS:
        return False
    parse = nlu.parse(turn.message.text)
    return bool(parse.intent == "cancel" and parse.confidence >= LEAVE_CONFIDENCE)


def aside(parse: Any, interrupting: frozenset[str], turn: Turn, slot: Slot) -> Aside:
    """Whether the message (classified as ``parse``) is a question beside the prompt."""
    raw = turn.message.text
    # "这个要多久才有答复？": a question mark is the member saying it is a question, even
    # when the classifier is unsure which.
    marked = raw.strip().endswith(("?", "？"))
    floor = MARKED_CONFIDENCE if marked else CONFIDENCE
    if turn.text.isdigit() or parse.intent not in interrupting or parse.confidence < floor:
        return Aside.NONE
    questioning = bool(QUESTION.search(turn.text))
    if slot.free_text and questioning and not asks(raw):
        return Aside.NONE
    if parse.intent in SMALL_TALK:
        if len(turn.text) > 8:
            return Aside.NONE
    elif not questioning:
        return Aside.NONE
    # A clear question wins over the slot; a weaker one only when the slot refuses it
    # (a company name may look like chit-chat, a dispute summary like a question).
    if questioning and (parse.confidence >= CLEAR or marked or ASKING_END.search(raw.strip())):
        return Aside.QUESTION
    return Aside.NONE if slot.free_text else Aside.MAYBE
