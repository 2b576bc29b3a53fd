"""Picks: a message that is only a choice from a numbered list (``第二个`` → 2)."""

from __future__ import annotations

from datetime import date

from bot.nlu.entities.numbers import small_int
from bot.nlu.entities.scan import Found, ascii_re


def _circled_digits() -> dict[str, int]:
    table: dict[str, int] = {}
    for first, count in ((0x2460, 20), (0x2474, 20), (0x2488, 20), (0x2776, 10), (0x2780, 10)):
        for i in range(count):
            table[chr(first + i)] = i + 1  # ①⑴⒈❶➀ ...
    for i in range(10):
        table[chr(0x278A + i)] = i + 1  # ➊ ...
    return table


_CIRCLED = _circled_digits()
_CHOICE_RE = ascii_re(
    r"(?:我选|我要|选择|选|要|就)?\s*第?\s*"
    rf"(\d{{1,3}}|[一二两三四五六七八九十]{{1,3}}|[{''.join(_CIRCLED)}])"
    r"\s*(?:个|项|期|号|条|种|位|家|款|套)?\s*(?:吧|呢|啊|呀|哈|的|嗯)?"
)
_TRIM_CHARS = " \t\r\n。.!?~～,、;；:"


def choice_number(s: str) -> int | None:
    """The number picked when the whole of ``s`` is a pick ("2", "第二个", "选3", "②")."""
    return _choice_number(s)


def _choice_number(s: str) -> int | None:
    if len(s) > 16:
        return None  # a choice is a few characters; spare the full match on long messages
    m = _CHOICE_RE.fullmatch(s.strip(_TRIM_CHARS))
    if m is None:
        return None
    token = m.group(1)
    if token in _CIRCLED:
        return _CIRCLED[token]
    return small_int(token)


def find(s: str, today: date) -> Found:
    """The number picked from a list, when the whole message is one (``number``)."""
    value = _choice_number(s)
    return ({"number": value} if value is not None else {}), []
