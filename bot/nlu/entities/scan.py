"""Scanning helpers every entity family shares: normalisation, pre-checks, masking, context.

Extractors read the same normalised text (one character in, one out, so a span found in it
is valid in every masked copy), look for a cheap trigger character before a regex scan, and
hide the spans an earlier, stricter extractor claimed from the looser ones after it.
"""

from __future__ import annotations

import re
from typing import Any

#: Longer input is cut: members' messages are short, and the cap bounds the worst case.
MAX_CHARS = 4000

# Spans already claimed by one entity are overwritten with this character so that later, looser
# patterns (money, bare "5号") cannot re-read their digits.  It is neither a digit, a CJK
# character nor whitespace, so it also acts as a boundary for names.
MASK = "\x00"

CJK = "\u3400-\u4dbf\u4e00-\u9fff"


def ascii_re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # ASCII: \d must mean 0-9 only, or Arabic-Indic and other Unicode digits would come out of a
    # "phone number".  Chinese characters in the patterns are literals and are unaffected.
    return re.compile(pattern, flags | re.ASCII)


CN_DIGIT_CHARS = "零〇一二两三四五六七八九"
CN_NUM_CHARS = CN_DIGIT_CHARS + "十百千万亿"


def _normalisation_table() -> dict[int, int]:
    # One character in, one character out: spans found in the normalised text stay valid for
    # masking, and names can be cut from it directly.
    table = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII
    table[0x3000] = 0x20  # ideographic space
    table[0xFFE5] = 0xA5  # full-width yen sign -> ¥
    for cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE63):
        table[cp] = ord("-")  # the many dashes people type between phone digit groups
    for cp in (0x00A0, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF):
        table[cp] = 0x20
    table[0] = 0x20  # keep our mask character out of the input
    return table


_NORMALISE = _normalisation_table()


def normalise_chars(text: str) -> str:
    """Cut to MAX_CHARS; full-width forms, odd dashes and spaces to their plain forms."""
    return text[:MAX_CHARS].translate(_NORMALISE)


def any_of(chars: str) -> re.Pattern[str]:
    """A pre-check for a regex scan: a character class is searched for in C, without the per
    character allocations of ``set.isdisjoint(text)``, and most messages contain none of them."""
    return ascii_re(f"[{re.escape(chars)}]")


def has_any(text: str, chars: re.Pattern[str]) -> bool:
    return chars.search(text) is not None


# Patterns are written to *start* with a literal or a character class, so the regex engine can
# skip quickly to candidate positions; what a lookbehind or a leading optional group would have
# checked is done by these two helpers instead.  That halves the cost of a scan.


def char_before(s: str, index: int) -> str:
    """The character before ``index`` ("" at the start)."""
    return s[index - 1] if index > 0 else ""


def word_before(s: str, index: int, words: tuple[str, ...]) -> tuple[str, int]:
    """The word of ``words`` (longest first) ending just before ``index``, spaces skipped."""
    end = index
    while end > 0 and s[end - 1] == " ":
        end -= 1
    for word in words:
        if end >= len(word) and s.startswith(word, end - len(word)):
            return word, end - len(word)
    return "", index


# What an extractor read: the entities it found, and the spans it claimed (masked for the
# extractors after it when it is a masking one).
Spans = list[tuple[int, int]]
Found = tuple[dict[str, Any], Spans]


def mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with every span overwritten by ``MASK``."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK * (end - start)
    return "".join(chars)
