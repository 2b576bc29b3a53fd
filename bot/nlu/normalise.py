"""Understanding: text normalisation and the intent classifier's interface.

The classifier itself lives in ``bot.nlu.classifier``; this module holds what every part of
the bot shares (normalisation) and the result type.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

# Voice-input fillers at the start of a message; words that also begin real questions
# (这个月…, 额度…) are deliberately left out.
_FILLERS = re.compile(r"^(嗯+|呃+|啊+|那个|就是说|请问一下|请问|麻烦问一下)+")
_PUNCT = re.compile(r"[\s\u3000.,!?;:'\"“”‘’、，。！？；：（）()【】\[\]《》<>~～…—\-·]+")


@functools.lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Full-width → half-width, Traditional → Simplified, fillers and punctuation stripped."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = to_simplified(text)
    text = _PUNCT.sub(" ", text).strip()
    compact = text.replace(" ", "")
    stripped = _FILLERS.sub("", compact)
    return (stripped or compact).lower()


_t2s: Any = None
_traditional: frozenset[str] = frozenset()


def to_simplified(text: str) -> str:
    """Traditional → Simplified with OpenCC, skipped for text with no Traditional character.

    The pure-Python converter costs about 0.2 ms per sentence; almost every message is
    already Simplified, and a set lookup per character finds that out for a few µs.
    """
    global _t2s, _traditional
    if _t2s is None:
        from pathlib import Path

        import opencc
        from opencc import OpenCC

        table = Path(opencc.__file__).with_name("dictionary") / "TSCharacters.txt"
        _traditional = frozenset(
            line.split("\t", 1)[0]
            for line in table.read_text(encoding="utf-8").splitlines()
            if line and "\t" in line
        )
        _t2s = OpenCC("t2s")
    if text.isascii() or _traditional.isdisjoint(text):
        return text
    return str(_t2s.convert(text))


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    entities: dict[str, Any] = field(default_factory=dict)


class Understanding(Protocol):
    def parse(self, text: str) -> Parse: ...
