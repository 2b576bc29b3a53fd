"""Understanding: text normalisation and the intent classifier's interface.

The classifier itself lives in ``bot.intent_model``; this module holds what every part of
the bot shares (normalisation) and the result type.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

# Voice-input fillers at the start of a message; words that also begin real questions
# (这个月…, 额度…) are deliberately left out.
_FILLERS = re.compile(r"^(嗯+|呃+|啊+|那个|就是说|请问一下|请问|麻烦问一下)+")
_PUNCT = re.compile(r"[\s\u3000.,!?;:'\"“”‘’、，。！？；：（）()【】\[\]《》<>~～…—\-·]+")


def normalise(text: str) -> str:
    """Full-width → half-width, Traditional → Simplified, fillers and punctuation stripped."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = to_simplified(text)
    text = _PUNCT.sub(" ", text).strip()
    compact = text.replace(" ", "")
    stripped = _FILLERS.sub("", compact)
    return (stripped or compact).lower()


_t2s: Any = None


def to_simplified(text: str) -> str:
    global _t2s
    if _t2s is None:
        from opencc import OpenCC

        _t2s = OpenCC("t2s")
    # Skip the converter for pure ASCII (most commands, numbers): it is the slow part.
    return text if text.isascii() else str(_t2s.convert(text))


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    entities: dict[str, Any] = field(default_factory=dict)


class Understanding(Protocol):
    def parse(self, text: str) -> Parse: ...
