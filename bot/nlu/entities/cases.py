"""Mediation case numbers (``case_no``, TJ…) and appeal ticket numbers (``ticket_no``, SQ…)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot.nlu.entities.scan import Found, Spans, any_of, ascii_re, has_any

# Characters that any match of the pattern must contain: most messages contain none, and a
# character-class search is far cheaper than the scan itself.
_CASE_TRIGGERS = any_of("JjQq")

# TJ/SQ + an 8-digit date + a 3-8 digit serial.  The date part is not validated: a member who
# mistypes it still means that case, and the lookup will say whether it exists.
_CASE_RE = ascii_re(r"(?<![A-Za-z0-9])(TJ|SQ)(\d{8}\d{3,8})(?!\d)", re.IGNORECASE)


def _cases(s: str, out: dict[str, Any]) -> Spans:
    spans: Spans = []
    if not has_any(s, _CASE_TRIGGERS):
        return spans
    for m in _CASE_RE.finditer(s):
        key = "case_no" if m.group(1).upper() == "TJ" else "ticket_no"
        out.setdefault(key, m.group(0).upper())
        spans.append(m.span())
    return spans


def find(s: str, today: date) -> Found:
    """Case and ticket numbers; their digits are masked from every later extractor."""
    out: dict[str, Any] = {}
    return out, _cases(s, out)
