"""Entity extraction from a member's Chinese message, by patterns and word lists.

This is deliberately *not* a classifier: the entities the bot needs (phone numbers, dates, amounts,
case numbers, company names ...) have regular surface forms, and a pattern that fails is easy to
read, test and fix, whereas a model's mistake is not.  The intent classifier
(``bot.nlu.classifier``) decides *what* the member wants; this module only pulls the *slots* out.

One module per family (``cases``, ``phones``, ``dates``, ``numbers`` for numerals and money,
``companies`` for company and person names, ``training_kinds``, ``picks``), sharing the
scanning helpers of ``scan``; :data:`EXTRACTORS` lists them in the order they run.

Public API::

    extract(text, *, today=None, now=None) -> dict[str, Any]

The returned dict holds only the keys that were found and every value is JSON-serialisable
(``flask nlu parse --json`` prints it as is):

========================  ==========================================================
``phone`` / ``phones``    mainland mobile, 11 digits; ``phones`` only when several
``landline``              ``"0771-1234567"``, ``"021-87654321-808"`` (extension)
``date``                  ``"YYYY-MM-DD"``
``time``                  ``"HH:MM"`` (24-hour)
``datetime``              ``"YYYY-MM-DDTHH:MM"`` when both a date and a time are given
``period``                part of day when no clock time is given: 凌晨/上午/中午/下午/晚上
``money``                 yuan, ``int`` when whole else ``float``
``case_no``               mediation case number, ``"TJ20261123001"``
``ticket_no``             appeal ticket number, ``"SQ20261123002"``
``company``               company name marked by a suffix (有限公司, 厂, 商行 ...)
``training_kind``         canonical training kind (``"新生代企业家培训班"`` ...)
``number``                the whole message is a choice from a numbered list (``"第二个"`` -> 2)
``person_name``           an explicitly introduced name (``"我叫张三"``)
========================  ==========================================================

Choices worth knowing about (all pinned by ``tests/nlu/test_entities.py``):

* Dates resolve against ``today`` (default: ``now.date()`` if ``now`` is given, else
  ``date.today()``; ``now`` is otherwise unused).  Weeks start on Monday, as on Chinese
  calendars: ``这周五``/``本周日`` is that day of the current week even if it is already past,
  ``下周三`` is the Wednesday of next week.  A bare weekday (``周五``, ``星期五``) is the next
  occurrence and *today counts* (on a Monday, ``周一`` is today).
* A month-day without a year that is already past this year means next year; a bare ``5号`` is
  this month, or the next month that has that day if it is already past.
* ``12.5`` / ``12/5`` are dates only when the context says so (followed by 号/日, a weekday or a
  part of day, or preceded by 日期/时间/定于/改到 ...), so ``3.5万`` stays money.
* Clock hours without 上午/凌晨/早上... : 1-6 mean the afternoon (``两点一刻`` -> 14:15, ``3点`` ->
  15:00), 7-12 and 13-24 are taken as written.  ``03:30`` with an explicit leading zero stays
  03:30.  ``晚上12点`` -> 00:00, ``晚上`` with 1-4 o'clock stays in the small hours.
* A message that is just ``5号`` yields both ``number`` (a list choice) and ``date``: the extractor
  does not know the dialogue state, the form that asked does.
* ``money`` needs a unit (万/亿/千/元/块/¥/人民币): a bare number is not money, and 万/千
  followed by a measure word (``3万人``, ``两千平方米``) is not money either.
* ``person_name`` after ``我是`` additionally needs a common surname, because ``我是…`` is far
  more often followed by a role (会员, 老板) or a place than by a name.
* Input longer than ``MAX_CHARS`` is cut; nothing in here raises: every extractor is guarded
  and a failing one merely contributes no keys.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.nlu.entities import cases, companies, dates, numbers, phones, picks, training_kinds
from bot.nlu.entities.numbers import parse_number
from bot.nlu.entities.scan import MAX_CHARS, Found, mask, normalise_chars

__all__ = ["EXTRACTORS", "MAX_CHARS", "Extractor", "extract", "parse_number"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extractor:
    """One entity family's reader, run by :func:`extract` in the order of :data:`EXTRACTORS`.

    :param find: ``(text, today) -> (entities, spans)``; it must not raise (it is guarded).
    :param masks: its spans are hidden from every extractor after it, so that a looser pattern
        (money, a bare "5号") cannot re-read digits a stricter one has claimed.
    :param whole: it reads the whole message instead of what the masking extractors left.
    """

    name: str
    find: Callable[[str, date], Found]
    masks: bool = False
    whole: bool = False


# Codes and phone numbers first, each masked before the next, looser pattern runs: their digits
# must not be read as landlines, dates or amounts. Dates and times are read from the same text,
# not one after the other (今晚 is both the date and the part of day of "今晚8点"). A new family
# is one module and one line here.
EXTRACTORS: tuple[Extractor, ...] = (
    Extractor("cases", cases.find, masks=True),
    Extractor("phones", phones.find_mobiles, masks=True),
    Extractor("landlines", phones.find_landlines, masks=True),
    Extractor("dates", dates.find, masks=True),
    Extractor("money", numbers.find_money),
    Extractor("company", companies.find_company),
    Extractor("training_kind", training_kinds.find, whole=True),
    Extractor("number", picks.find, whole=True),
    Extractor("person_name", companies.find_person_name),
)


def _safe(label: str, func: Callable[[str, date], Found], text: str, today: date) -> Found:
    """``func(text, today)``, or nothing found if it raises: one misbehaving extractor must not
    cost the member the others, nor the reply."""
    try:
        return func(text, today)
    except Exception:  # pragma: no cover - defensive; every path is tested not to raise
        log.exception("entity extractor %s failed", label)
        return {}, []


def extract(text: str, *, today: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Extract the entities found in ``text``; see the module docstring for keys and choices."""
    if not isinstance(text, str) or not text:
        return {}
    if today is None:
        today = now.date() if now is not None else date.today()
    # The understanding step and the form engine both ask about the same message: answer
    # from a small cache (a fresh dict each time, so callers may change it).
    return dict(_extract_cached(text[:MAX_CHARS], today))


@functools.lru_cache(maxsize=2048)
def _extract_cached(text: str, today: date) -> dict[str, Any]:
    return _extract(text, today)


def _extract(text: str, today: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    whole = normalise_chars(text)
    rest = whole  # what the masking extractors so far have left
    for extractor in EXTRACTORS:
        found, spans = _safe(
            extractor.name, extractor.find, whole if extractor.whole else rest, today
        )
        out.update(found)
        if extractor.masks:
            rest = mask(rest, spans)
    return out
