"""Phone numbers: mainland mobiles and landlines (area code, extension)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.nlu.entities.scan import Found, Spans, ascii_re, char_before

# (?!\d) after and _MOBILE_BAD_BEFORE before reject 10/12-digit runs and numbers inside ID cards
# or other long runs; 初/终/执/字 before the digits is a court case number's serial
# ((2026)桂0103民初123号).
_MOBILE_RE = ascii_re(r"(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_MOBILE_PREFIX_RE = ascii_re(r"(?:\+|00)?86[\s-]*$")  # +86 / 0086 / 86, looked for just before
_MOBILE_BAD_BEFORE = set("0123456789+初终执字")
_DIGITS_AND_DASH = set("0123456789-")
# Area codes: 010 and 02x are three digits, all others four.  Local numbers 7-8 digits, possibly
# split 3/4+4.  An extension follows "-", "转" or "分机".
_LANDLINE_RE = ascii_re(
    r"(?:\((0(?:10|2\d|[3-9]\d\d))\)|(0(?:10|2\d|[3-9]\d\d)))\s*-?\s*"
    r"(\d{7,8}|\d{3,4}[\s-]\d{4})(?!\d)"
    r"(?:\s*(?:-|转|分机)\s*(\d{1,6})(?!\d))?"
)


def _phones(s: str, out: dict[str, Any]) -> Spans:
    spans: Spans = []
    if "1" not in s:
        return spans
    phones: list[str] = []
    for m in _MOBILE_RE.finditer(s):
        start = m.start()
        prefix = _MOBILE_PREFIX_RE.search(s, max(0, start - 8), start)
        if prefix is not None and char_before(s, prefix.start()) not in _MOBILE_BAD_BEFORE:
            start = prefix.start()
        elif char_before(s, start) in _MOBILE_BAD_BEFORE:
            continue
        number = "".join(m.groups())
        if number not in phones:
            phones.append(number)
        spans.append((start, m.end()))
    if phones:
        out["phone"] = phones[0]
        if len(phones) > 1:
            out["phones"] = phones
    return spans


def _landlines(s: str, out: dict[str, Any]) -> Spans:
    spans: Spans = []
    if "0" not in s:
        return spans
    for m in _LANDLINE_RE.finditer(s):
        if char_before(s, m.start()) in _DIGITS_AND_DASH:
            continue
        area = m.group(1) or m.group(2)
        local = m.group(3).replace(" ", "").replace("-", "")
        if len(local) not in (7, 8):
            continue
        value = f"{area}-{local}"
        if m.group(4):
            value += f"-{m.group(4)}"
        out.setdefault("landline", value)
        spans.append(m.span())
    return spans


def find_mobiles(s: str, today: date) -> Found:
    """Mainland mobiles (``phone``, and ``phones`` when several)."""
    out: dict[str, Any] = {}
    return out, _phones(s, out)


def find_landlines(s: str, today: date) -> Found:
    """Landlines with area code and extension (``landline``)."""
    out: dict[str, Any] = {}
    return out, _landlines(s, out)
