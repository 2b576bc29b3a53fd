"""Entity extraction from a member's Chinese message, by patterns and word lists.

This is deliberately *not* a classifier: the entities the bot needs (phone numbers, dates, amounts,
case numbers, company names ...) have regular surface forms, and a pattern that fails is easy to
read, test and fix, whereas a model's mistake is not.  The intent classifier
(``bot.nlu.classifier``) decides *what* the member wants; this module only pulls the *slots* out.

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

Choices worth knowing about (all pinned by ``tests/test_entities.py``):

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
import re
import string
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

__all__ = ["MAX_CHARS", "extract", "parse_number"]

log = logging.getLogger(__name__)

#: Longer input is cut: members' messages are short, and the cap bounds the worst case.
MAX_CHARS = 4000

# Spans already claimed by one entity are overwritten with this character so that later, looser
# patterns (money, bare "5号") cannot re-read their digits.  It is neither a digit, a CJK
# character nor whitespace, so it also acts as a boundary for names.
_MASK = "\x00"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_T = TypeVar("_T")


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # ASCII: \d must mean 0-9 only, or Arabic-Indic and other Unicode digits would come out of a
    # "phone number".  Chinese characters in the patterns are literals and are unaffected.
    return re.compile(pattern, flags | re.ASCII)


_CN_DIGIT_CHARS = "零〇一二两三四五六七八九"
_CN_NUM_CHARS = _CN_DIGIT_CHARS + "十百千万亿"


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------


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


def _normalise(text: str) -> str:
    return text[:MAX_CHARS].translate(_NORMALISE)


def _any_of(chars: str) -> re.Pattern[str]:
    """A pre-check for a regex scan: a character class is searched for in C, without the per
    character allocations of ``set.isdisjoint(text)``, and most messages contain none of them."""
    return _re(f"[{re.escape(chars)}]")


def _has_any(text: str, chars: re.Pattern[str]) -> bool:
    return chars.search(text) is not None


# Patterns are written to *start* with a literal or a character class, so the regex engine can
# skip quickly to candidate positions; what a lookbehind or a leading optional group would have
# checked is done by these two helpers instead.  That halves the cost of a scan.


def _before(s: str, index: int) -> str:
    """The character before ``index`` ("" at the start)."""
    return s[index - 1] if index > 0 else ""


def _word_before(s: str, index: int, words: tuple[str, ...]) -> tuple[str, int]:
    """The word of ``words`` (longest first) ending just before ``index``, spaces skipped."""
    end = index
    while end > 0 and s[end - 1] == " ":
        end -= 1
    for word in words:
        if end >= len(word) and s.startswith(word, end - len(word)):
            return word, end - len(word)
    return "", index


# Characters that any match of the corresponding pattern must contain.
_CASE_TRIGGERS = _any_of("JjQq")
_TIME_TRIGGERS = _any_of("点时:")
_PERIOD_TRIGGERS = _any_of("午晚早晨夜凌")
_MONEY_TRIGGERS = _any_of("万亿千元块圆¥币RMBrmb")
_COMPANY_TRIGGERS = _any_of("司团厂店室社所行")
_TRAINING_TRIGGERS = _any_of("代家子讲非")
_NAME_TRIGGERS = _any_of("叫名姓联是")


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with every span overwritten by ``_MASK``."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = _MASK * (end - start)
    return "".join(chars)


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = {"万": 10**4, "亿": 10**8}
_NUM_TOKEN_RE = _re(rf"\d+(?:\.\d+)?|[{_CN_NUM_CHARS}]")


def parse_number(text: str) -> Decimal | None:
    """Parse Chinese, Arabic or mixed numerals: ``五十万``, ``3.5万``, ``两万五``, ``二〇二六``.

    Returns ``None`` for anything that is not a well-formed number.  A trailing bare digit after
    a unit is the spoken abbreviation of the next lower unit (``两万五`` = 25000, ``3千5`` = 3500),
    but not after 零 (``一万零五`` = 10005).
    """
    s = text.replace(",", "")
    tokens = _NUM_TOKEN_RE.findall(s)
    if not tokens or sum(map(len, tokens)) != len(s):
        return None
    if len(tokens) > 1 and all(t in _CN_DIGITS for t in tokens):
        # Digit by digit, as years are read: 二〇二六.
        return Decimal("".join(str(_CN_DIGITS[t]) for t in tokens))
    total = big = section = Decimal(0)
    pending: Decimal | None = None
    prev = ""  # kind of the previous token: "digit", "zero" or "unit"
    abbreviated = False
    last_unit = 1
    try:
        for tok in tokens:
            if tok in _CN_DIGITS or tok[0].isdigit():
                value = Decimal(_CN_DIGITS[tok]) if tok in _CN_DIGITS else Decimal(tok)
                if prev == "digit":
                    return None  # "一二万", "5五": not a number we can read
                abbreviated = prev == "unit" and len(tok) == 1
                pending = value
                prev = "zero" if value == 0 and tok in _CN_DIGITS else "digit"
            elif tok in _CN_SMALL_UNITS:
                unit = _CN_SMALL_UNITS[tok]
                if pending is None:
                    if tok != "十":
                        return None  # a bare 百/千 at the start reads as a word (百度, 千万)
                    pending = Decimal(1)
                section += pending * unit
                pending, prev, last_unit = None, "unit", unit
            else:
                unit = _CN_BIG_UNITS[tok]
                part = section + (pending or 0)
                if tok == "万":
                    if part == 0:
                        return None
                    big += part * unit
                else:
                    if part + big == 0:
                        return None
                    total += (big + part) * unit
                    big = Decimal(0)
                section, pending, prev, last_unit = Decimal(0), None, "unit", unit
    except InvalidOperation:
        return None
    if pending is not None and abbreviated and last_unit >= 100 and pending == int(pending):
        pending *= last_unit // 10
    return total + big + section + (pending or 0)


def _small_int(text: str) -> int | None:
    value = parse_number(text)
    if value is None or value != int(value):
        return None
    return int(value)


def _json_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# ---------------------------------------------------------------------------------------------
# Case and ticket numbers
# ---------------------------------------------------------------------------------------------

# TJ/SQ + an 8-digit date + a 3-8 digit serial.  The date part is not validated: a member who
# mistypes it still means that case, and the lookup will say whether it exists.
_CASE_RE = _re(r"(?<![A-Za-z0-9])(TJ|SQ)(\d{8}\d{3,8})(?!\d)", re.IGNORECASE)


_Spans = list[tuple[int, int]]


def _cases(s: str, out: dict[str, Any]) -> _Spans:
    spans: _Spans = []
    if not _has_any(s, _CASE_TRIGGERS):
        return spans
    for m in _CASE_RE.finditer(s):
        key = "case_no" if m.group(1).upper() == "TJ" else "ticket_no"
        out.setdefault(key, m.group(0).upper())
        spans.append(m.span())
    return spans


# ---------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------

# (?!\d) after and _MOBILE_BAD_BEFORE before reject 10/12-digit runs and numbers inside ID cards
# or other long runs; 初/终/执/字 before the digits is a court case number's serial
# ((2026)桂0103民初123号).
_MOBILE_RE = _re(r"(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_MOBILE_PREFIX_RE = _re(r"(?:\+|00)?86[\s-]*$")  # +86 / 0086 / 86, looked for just before
_MOBILE_BAD_BEFORE = set("0123456789+初终执字")
_DIGITS_AND_DASH = set("0123456789-")
# Area codes: 010 and 02x are three digits, all others four.  Local numbers 7-8 digits, possibly
# split 3/4+4.  An extension follows "-", "转" or "分机".
_LANDLINE_RE = _re(
    r"(?:\((0(?:10|2\d|[3-9]\d\d))\)|(0(?:10|2\d|[3-9]\d\d)))\s*-?\s*"
    r"(\d{7,8}|\d{3,4}[\s-]\d{4})(?!\d)"
    r"(?:\s*(?:-|转|分机)\s*(\d{1,6})(?!\d))?"
)


def _phones(s: str, out: dict[str, Any]) -> _Spans:
    spans: _Spans = []
    if "1" not in s:
        return spans
    phones: list[str] = []
    for m in _MOBILE_RE.finditer(s):
        start = m.start()
        prefix = _MOBILE_PREFIX_RE.search(s, max(0, start - 8), start)
        if prefix is not None and _before(s, prefix.start()) not in _MOBILE_BAD_BEFORE:
            start = prefix.start()
        elif _before(s, start) in _MOBILE_BAD_BEFORE:
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


def _landlines(s: str, out: dict[str, Any]) -> _Spans:
    spans: _Spans = []
    if "0" not in s:
        return spans
    for m in _LANDLINE_RE.finditer(s):
        if _before(s, m.start()) in _DIGITS_AND_DASH:
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


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_MD = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"  # a month or a day, validated after parsing
_YEAR = rf"(?:\d{{4}}|[{_CN_DIGIT_CHARS}]{{4}})"
# After a day without 日/号 a digit or unit means the number was not a day: 12月5万.
_NOT_AFTER_BARE_DAY = set("0123456789.%万千百亿元块个")
_DIGITS_AND_DOT = set("0123456789.")
_DIGITS_DOT_SLASH = set("0123456789./")

_FULL_NUMERIC_DATE_RE = _re(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.])\s*[日号]?")
_YEAR_MONTH_DAY_RE = _re(
    rf"(?:({_YEAR})\s*年|(今年|明年|去年|后年))\s*({_MD})\s*月\s*({_MD})\s*([日号])?"
)
_REL_MONTH_DAY_RE = _re(
    rf"(下下个?月|下个?月|这个?月|本月|当月|上个?月|每个?月)\s*({_MD})\s*([日号])?"
)
_MONTH_DAY_RE = _re(rf"(?<![\d.])({_MD})\s*月\s*({_MD})\s*([日号])?")
_DOTTED_DATE_RE = _re(r"(\d{1,2})[./](\d{1,2})(?![\d./%])")
_REL_DAY_RE = _re(
    r"大后天|大前天|后天|前天|"
    r"今天|今日|今儿|明天|明日|明儿|昨天|昨日|今晚|明晚|昨晚|今早|明早|今晨|明晨"
)
# 以后天天, 提前天数, 后天气温: 后天/前天 read across a word boundary.
_REL_DAY_BAD_BEFORE = set("以之然最此往向先落提")
_REL_DAY_BAD_AFTER = set("气然")
_WEEKDAY_RE = _re(r"(?:周|星期|礼拜)([一二三四五六日天七1-7]|末)(?![次回趟遍])")
_OFFSET_RE = _re(
    r"(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(天|周|个?星期|个?礼拜)(?:之|以)?([后前])"
)
_BARE_DAY_RE = _re(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*([号日])")

_REL_DAYS = {
    "今天": 0, "今日": 0, "今儿": 0, "今晚": 0, "今早": 0, "今晨": 0,
    "明天": 1, "明日": 1, "明儿": 1, "明晚": 1, "明早": 1, "明晨": 1,
    "后天": 2, "大后天": 3,
    "昨天": -1, "昨日": -1, "昨晚": -1, "前天": -2, "大前天": -3,
}  # fmt: skip
_REL_YEARS = {"今年": 0, "明年": 1, "去年": -1, "后年": 2}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_WEEK_SHIFT = {
    "下下个": 2,
    "下下": 2,
    "下个": 1,
    "下": 1,
    "这个": 0,
    "这": 0,
    "本": 0,
    "上个": -1,
    "上": -1,
}
_WEEK_PREFIXES = tuple(_WEEK_SHIFT)  # longest first, as _word_before wants

# Context that makes "12.5" a date rather than a decimal.
_DOTTED_BEFORE = (
    "日期", "时间", "定于", "将于", "拟于", "定在", "改到", "改为", "改成", "改在", "推迟到",
    "延期到", "延到", "提前到", "推到", "截止", "截至", "期限", "约在", "安排在", "日子",
)  # fmt: skip
_DOTTED_AFTER = (
    "号", "日", "周", "星期", "礼拜", "凌晨", "早上", "上午", "中午", "下午", "傍晚", "晚上",
    "之前", "以前", "前", "当天", "那天",
)  # fmt: skip

# "5号" that is not a day: addresses (人民路5号), rooms, lines, windows, documents, choices.
_BARE_DAY_BAD_BEFORE = set(
    "0123456789.月路街道巷弄里村楼栋号第区室座幢门选#" + string.ascii_letters
)
_BARE_DAY_BAD_AFTER = (
    "楼", "栋", "房", "室", "线", "门", "口", "位", "机", "车", "窗", "桌", "台", "床", "厅",
    "馆", "仓", "库", "码", "单元", "院", "选手", "嘉宾", "文件", "令", "字", "样", "座", "柜",
    "包厢", "展位", "摊位", "店", "场", "地块", "件", "元", "块", "万",
)  # fmt: skip
# "5日内", "3日后": 日 after a number is then a count of days.
_BARE_DAY_BAD_AFTER_RI = (
    "内", "之内", "以内", "后", "以后", "之后", "前", "以前", "之前", "左右", "游",
)  # fmt: skip


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming_month_day(today: date, month: int, day: int) -> date | None:
    # 2月29日 may need a few years to come round again; anything else is found within two.
    for year in range(today.year, today.year + 9):
        found = _valid_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _upcoming_day(today: date, day: int) -> date | None:
    if not 1 <= day <= 31:
        return None
    for delta in range(13):
        year, month = _add_months(today.year, today.month, delta)
        found = _valid_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _day_suffix_ok(s: str, end: int, day_text: str, suffix: str | None) -> bool:
    """Without 日/号 only an Arabic day counts, and not when a digit or unit follows."""
    if suffix:
        return True
    return day_text.isdigit() and (end >= len(s) or s[end] not in _NOT_AFTER_BARE_DAY)


_DateHandler = Callable[[re.Match[str], str, date], date | None]


def _date_full_numeric(m: re.Match[str], s: str, today: date) -> date | None:
    if _before(s, m.start()) in _DIGITS_AND_DOT:
        return None
    return _valid_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))


def _date_year_month_day(m: re.Match[str], s: str, today: date) -> date | None:
    if not _day_suffix_ok(s, m.end(), m.group(4), m.group(5)):
        return None
    year = _small_int(m.group(1)) if m.group(1) else today.year + _REL_YEARS[m.group(2)]
    month, day = _small_int(m.group(3)), _small_int(m.group(4))
    if year is None or month is None or day is None:
        return None
    return _valid_date(year, month, day)


def _date_rel_month_day(m: re.Match[str], s: str, today: date) -> date | None:
    if not _day_suffix_ok(s, m.end(), m.group(2), m.group(3)):
        return None
    day = _small_int(m.group(2))
    if day is None:
        return None
    word = m.group(1)
    if word.startswith("每"):
        return _upcoming_day(today, day)
    # 这个月/本月 are taken literally, even for a day already past.
    delta = 2 if word.startswith("下下") else 1 if word[0] == "下" else -1 if word[0] == "上" else 0
    year, month = _add_months(today.year, today.month, delta)
    return _valid_date(year, month, day)


def _date_month_day(m: re.Match[str], s: str, today: date) -> date | None:
    if not _day_suffix_ok(s, m.end(), m.group(2), m.group(3)):
        return None
    month, day = _small_int(m.group(1)), _small_int(m.group(2))
    if month is None or day is None or not 1 <= month <= 12:
        return None
    return _upcoming_month_day(today, month, day)


def _date_dotted(m: re.Match[str], s: str, today: date) -> date | None:
    if _before(s, m.start()) in _DIGITS_DOT_SLASH:
        return None
    before = s[max(0, m.start() - 5) : m.start()].rstrip(" :")
    after = s[m.end() : m.end() + 3].lstrip()
    if not (before.endswith(_DOTTED_BEFORE) or after.startswith(_DOTTED_AFTER)):
        return None
    return _upcoming_month_day(today, int(m.group(1)), int(m.group(2)))


def _date_relative_day(m: re.Match[str], s: str, today: date) -> date | None:
    if m.group(0) in ("后天", "前天") and (
        _before(s, m.start()) in _REL_DAY_BAD_BEFORE
        or s[m.end() : m.end() + 1] in _REL_DAY_BAD_AFTER
    ):
        return None
    return today + timedelta(days=_REL_DAYS[m.group(0)])


def _date_weekday(m: re.Match[str], s: str, today: date) -> date | None:
    prefix = _word_before(s, m.start(), _WEEK_PREFIXES)[0]
    day_word = m.group(1)
    # 周末 is taken as its Saturday; a bare 周末 said at the weekend is today.
    weekday = 5 if day_word == "末" else _WEEKDAYS.get(day_word, -1)
    if day_word.isdigit():
        weekday = int(day_word) - 1
    if not 0 <= weekday <= 6:
        return None
    if not prefix:
        if day_word == "末" and today.weekday() >= 5:
            return today
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    shift = _WEEK_SHIFT[prefix]
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(days=7 * shift + weekday)


def _date_offset(m: re.Match[str], s: str, today: date) -> date | None:
    count = _small_int(m.group(1))
    if count is None:
        return None
    days = count if m.group(2) == "天" else 7 * count
    return today + timedelta(days=days if m.group(3) == "后" else -days)


def _date_bare_day(m: re.Match[str], s: str, today: date) -> date | None:
    day_text, suffix = m.group(1), m.group(2)
    if not day_text.isdigit() and suffix != "号":
        return None  # 一日三餐, 五日游: a Chinese numeral with 日 is a count of days
    if m.start() > 0 and s[m.start() - 1] in _BARE_DAY_BAD_BEFORE:
        return None
    after = s[m.end() : m.end() + 3].lstrip()
    if after.startswith(_BARE_DAY_BAD_AFTER):
        return None
    if suffix == "日" and after.startswith(_BARE_DAY_BAD_AFTER_RI):
        return None
    day = _small_int(day_text)
    return None if day is None else _upcoming_day(today, day)


# Most specific first: a span taken by an earlier pattern is masked for the later ones.  The
# middle item lists characters every match must contain; most messages contain none of them, and
# a substring test is far cheaper than a regex scan.
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], re.Pattern[str], _DateHandler], ...] = (
    (_FULL_NUMERIC_DATE_RE, _any_of("-/."), _date_full_numeric),
    (_YEAR_MONTH_DAY_RE, _any_of("年"), _date_year_month_day),
    (_REL_MONTH_DAY_RE, _any_of("月"), _date_rel_month_day),
    (_MONTH_DAY_RE, _any_of("月"), _date_month_day),
    (_DOTTED_DATE_RE, _any_of("./"), _date_dotted),
    (_REL_DAY_RE, _any_of("天日儿晚早晨"), _date_relative_day),
    (_WEEKDAY_RE, _any_of("周期拜"), _date_weekday),
    (_OFFSET_RE, _any_of("后前"), _date_offset),
    (_BARE_DAY_RE, _any_of("号日"), _date_bare_day),
)


def _dates(s: str, today: date) -> tuple[date | None, _Spans]:
    """The first date in reading order, and every span that was read as a date."""
    found: list[tuple[int, date]] = []
    spans: _Spans = []
    work = s
    for pattern, triggers, handler in _DATE_PATTERNS:
        if not _has_any(work, triggers):
            continue
        new: _Spans = []
        for m in pattern.finditer(work):
            value = handler(m, work, today)
            if value is not None:
                found.append((m.start(), value))
                new.append(m.span())
        if new:
            spans.extend(new)
            work = _mask(work, new)
    if not found:
        return None, spans
    return min(found, key=lambda item: item[0])[1], spans


# ---------------------------------------------------------------------------------------------
# Times and parts of day
# ---------------------------------------------------------------------------------------------

_PERIODS = {
    "凌晨": "凌晨", "半夜": "凌晨", "深夜": "晚上",
    "早上": "上午", "早晨": "上午", "清晨": "上午", "一早": "上午", "上午": "上午",
    "今早": "上午", "明早": "上午", "今晨": "上午", "明晨": "上午", "早": "上午",
    "中午": "中午", "午后": "下午", "下午": "下午",
    "傍晚": "晚上", "晚上": "晚上", "夜里": "晚上", "夜间": "晚上",
    "今晚": "晚上", "明晚": "晚上", "昨晚": "晚上", "晚": "晚上",
}  # fmt: skip
_PERIOD_WORDS = tuple(sorted(_PERIODS, key=len, reverse=True))

# The part of day before the hour (下午三点) is found by _word_before, not by the pattern.
_TIME_RE = _re(
    r"(\d{1,2}|[零一二两三四五六七八九十]{1,3})\s*"
    r"(?:(:)(\d{2})(?![\d.])(?::\d{2})?"
    r"|(点钟|点|时)\s*"
    r"(?:(半)|(一刻)|(三刻)|(\d{1,2}|[零〇一二三四五六七八九十]{1,3})\s*(分)?|(整))?)"
)
# A part of day on its own ("明天下午"); not the greetings 早上好/晚上好 or 下午茶.
_PERIOD_ONLY_RE = _re(rf"({'|'.join(p for p in _PERIOD_WORDS if len(p) > 1)})(?![好茶])")
# "这两点", "第三点", "有两点建议": points of an argument, not o'clock.
_POINT_BAD_BEFORE = set("第这那几有哪每前后")
_POINT_BAD_AFTER = (
    "建议", "意见", "要求", "内容", "原因", "看法", "想法", "问题", "注意", "理由", "要点",
    "好处", "不足", "说明", "改进", "体会", "经验", "措施", "做法", "原则", "区别", "优势",
    "感受", "心得", "儿", "点", "几",
)  # fmt: skip
_DIGITS_DOT_COLON = set("0123456789.:")


def _resolve_hour(hour: int, period: str | None, leading_zero: bool) -> int | None:
    if not 0 <= hour <= 24:
        return None
    if hour == 24:
        return 0
    if period == "下午" and hour < 12:
        return hour + 12
    if period == "中午":
        return hour + 12 if 1 <= hour <= 6 else hour  # 中午1点 = 13:00, 中午12点 = 12:00
    if period == "晚上":
        if hour == 12:
            return 0
        return hour + 12 if 5 <= hour < 12 else hour
    if period == "凌晨" and hour == 12:
        return 0
    if period is None and not leading_zero and 1 <= hour <= 6:
        return hour + 12  # nobody meets the chamber at 3 a.m.: bare 1-6 o'clock is afternoon
    return hour


def _time_from_match(m: re.Match[str], s: str) -> str | None:
    hour_text, colon = m.group(1), m.group(2)
    if _before(s, m.start()) in _DIGITS_DOT_COLON:
        return None
    period_word = _word_before(s, m.start(), _PERIOD_WORDS)[0]
    period = _PERIODS[period_word] if period_word else None
    end = m.end()
    if end < len(s) and s[end] in "万千亿元块%":
        return None  # "3点5万" is a mistyped amount, not a time
    hour = _small_int(hour_text)
    if hour is None:
        return None
    minute = 0
    if colon:
        minute = int(m.group(3))
    else:
        sep, half, q1, q3, min_text, fen, zheng = m.group(4, 5, 6, 7, 8, 9, 10)
        chinese = not hour_text.isdigit()
        has_minutes = bool(half or q1 or q3 or zheng or fen or sep == "点钟")
        if half:
            minute = 30
        elif q1:
            minute = 15
        elif q3:
            minute = 45
        elif min_text:
            value = _small_int(min_text)
            # "3点5" is ambiguous; take minutes only with 分, two digits, or a leading zero.
            if value is not None and (fen or value >= 10 or min_text[0] in "0零〇"):
                minute, has_minutes = value, True
        if sep == "时" and chinese and not (period_word or fen):
            return None  # 一时半会儿, 一时: 时 after a Chinese numeral is rarely o'clock
        if sep == "点" and not period_word:
            if _before(s, m.start()) in _POINT_BAD_BEFORE:
                return None
            if not has_minutes and s[end : end + 2].startswith(_POINT_BAD_AFTER):
                return None
        if hour_text == "一" and not has_minutes and (period_word or "") in ("", "早", "晚"):
            return None  # 快一点, 晚一点: "a bit", not one o'clock
    if not 0 <= minute <= 59:
        return None
    resolved = _resolve_hour(hour, period, hour_text.startswith("0") and len(hour_text) == 2)
    if resolved is None:
        return None
    return f"{resolved:02d}:{minute:02d}"


def _times(s: str) -> tuple[str | None, _Spans]:
    first: str | None = None
    spans: _Spans = []
    if not _has_any(s, _TIME_TRIGGERS):
        return first, spans
    for m in _TIME_RE.finditer(s):
        value = _time_from_match(m, s)
        if value is not None:
            first = first or value
            spans.append(m.span())  # the part of day stays readable for _period_only
    return first, spans


def _period_only(s: str) -> str | None:
    if not _has_any(s, _PERIOD_TRIGGERS):
        return None
    m = _PERIOD_ONLY_RE.search(s)
    return _PERIODS[m.group(1)] if m else None


# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------

# Possessive quantifiers: the numeral run is read once and never re-split, so noise cannot
# make this backtrack.
_MONEY_RE = _re(
    rf"((?:\d{{1,3}}(?:,\d{{3}})++(?:\.\d+)?|\d++(?:\.\d++)?|[{_CN_NUM_CHARS}])++)"
    r"(\s*(?:块钱|块|元|圆|人民币))?"
)
_MONEY_PREFIXES = ("人民币", "RMB", "rmb", "¥")
# After 万/千 without 元: counts of people, area, weight ... are not money.
_NOT_MONEY_AFTER = _re(
    r"\s*(?:多|余|来)?\s*(?:人|名|个|位|家|户|次|平|米|亩|吨|件|台|套|字|斤|公斤|克|天|年|岁|期|"
    r"条|份|张|辆|里|公里|步|分|秒|小时|颗|只|头|株|棵|箱|瓶|间|座|册|本|篇|项|倍|%|号|粉丝|"
    r"阅读|点击|网友|用户|会员|企业|公司|单|票|度|火急)"
)

_NOT_YUAN_AFTER = _re(r"[地儿砖板石玉表田去走吃来玩做干住肉布屏牌糖]")


def _money(s: str) -> int | float | None:
    if not _has_any(s, _MONEY_TRIGGERS):
        return None
    for m in _MONEY_RE.finditer(s):
        num, unit = m.group(1), m.group(2)
        before = _before(s, m.start())
        if before == "." or (before.isascii() and before.isalnum()):
            continue  # part of a code such as A12万 or a version number
        prefix = _word_before(s, m.start(), _MONEY_PREFIXES)[0]
        has_scale = any(c in num for c in "万亿千")
        if not (prefix or unit or has_scale):
            continue  # a bare number is not money
        if num[0] in "百千万亿":
            continue  # 千万/万一/百万: words, not amounts
        if (
            unit
            and unit.strip() == "块"
            and (num in ("一", "两") or _NOT_YUAN_AFTER.match(s, m.end()))
        ):
            continue  # 一块去 (together), 两块地 (plots): 块 is also a measure word
        if not (prefix or unit) and _NOT_MONEY_AFTER.match(s, m.end()):
            continue
        value = parse_number(num)
        if value is None or value <= 0:
            continue
        return _json_number(value)
    return None


# ---------------------------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------------------------

_COMPANY_SUFFIX_RE = _re(
    r"(?:集团)?(?:股份)?有限(?:责任)?公司|集团(?:公司)?|工作室|合作社|事务所|商行|公司"
    r"|厂(?![长家房区商址])|店(?![铺面员主长])"
)
_COMPANY_CHAR_RE = _re(rf"[{_CJK}A-Za-z0-9()·&]")
# The name is the run just before the suffix, after the last of these.
_COMPANY_STOP_RE = _re(
    r"我们|你们|他们|她们|一家|两家|几家|哪家|每家|这家|那家|关于|对于|联系|起诉|投诉|拖欠|"
    r"代表|加入|注册|成立|开了|开的|办了|位于|属于|就职|任职|上班|入职|报名|参加|合作|承包|"
    r"[是在和跟与的我你他她给替帮为向对找被把从到去来叫请让这那该本贵了个及或欠告做买卖收付签]"
)
_GENERIC_COMPANY_BODIES = {
    "上市", "空壳", "皮包", "外包", "物流", "快递", "保险", "科技", "贸易", "装修", "中介",
    "咨询", "投资", "建筑", "劳务", "家政", "网络", "文化", "广告", "餐饮", "运输", "设计",
    "销售", "工程", "外贸", "私营", "民营", "国有", "国营", "外资", "合资", "个人", "实体",
    "直营", "连锁", "加盟", "旗舰", "专卖", "便利", "小卖", "五金", "服装", "水果", "超市",
    "某某", "某", "这种", "那种", "别的", "其他", "其它", "对方", "加工", "食品", "电子",
}  # fmt: skip


def _company(s: str) -> str | None:
    if not _has_any(s, _COMPANY_TRIGGERS):
        return None
    for m in _COMPANY_SUFFIX_RE.finditer(s):
        end = m.start()
        start = end
        while start > 0 and end - start < 30 and _COMPANY_CHAR_RE.match(s[start - 1]):
            start -= 1
        run = s[start:end]
        cut = 0
        for stop in _COMPANY_STOP_RE.finditer(run):
            cut = stop.end()
        body = run[cut:].lstrip(")·&")
        if len(body) < 2 or body in _GENERIC_COMPANY_BODIES or body.isdigit():
            continue
        return body + m.group(0)
    return None


# ---------------------------------------------------------------------------------------------
# Training kinds
# ---------------------------------------------------------------------------------------------

_TRAINING_RE = _re(
    r"(新生代|年轻一代|青年企业家)|(优秀民营企业家|民营企业家培训)|(入党积极分子|积极分子培训)"
    r"|(大讲堂|讲座|非公经济)"
)
_TRAINING_KINDS = (
    "新生代企业家培训班",
    "优秀民营企业家培训班",
    "入党积极分子培训班",
    "非公经济大讲堂",
)


def _training_kind(s: str) -> str | None:
    if not _has_any(s, _TRAINING_TRIGGERS):
        return None
    m = _TRAINING_RE.search(s)
    if m is None:
        return None
    return _TRAINING_KINDS[(m.lastindex or 1) - 1]


# ---------------------------------------------------------------------------------------------
# Choice numbers
# ---------------------------------------------------------------------------------------------


def _circled_digits() -> dict[str, int]:
    table: dict[str, int] = {}
    for first, count in ((0x2460, 20), (0x2474, 20), (0x2488, 20), (0x2776, 10), (0x2780, 10)):
        for i in range(count):
            table[chr(first + i)] = i + 1  # ①⑴⒈❶➀ ...
    for i in range(10):
        table[chr(0x278A + i)] = i + 1  # ➊ ...
    return table


_CIRCLED = _circled_digits()
_CHOICE_RE = _re(
    r"(?:我选|我要|选择|选|要|就)?\s*第?\s*"
    rf"(\d{{1,3}}|[一二两三四五六七八九十]{{1,3}}|[{''.join(_CIRCLED)}])"
    r"\s*(?:个|项|期|号|条|种|位|家|款|套)?\s*(?:吧|呢|啊|呀|哈|的|嗯)?"
)
_TRIM_CHARS = " \t\r\n。.!?~～,、;；:"


def _choice_number(s: str) -> int | None:
    if len(s) > 16:
        return None  # a choice is a few characters; spare the full match on long messages
    m = _CHOICE_RE.fullmatch(s.strip(_TRIM_CHARS))
    if m is None:
        return None
    token = m.group(1)
    if token in _CIRCLED:
        return _CIRCLED[token]
    return _small_int(token)


# ---------------------------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------------------------

_NAME_MARKER_RE = _re(
    r"(我叫|我名叫|本人叫|名字(?:是|叫)|姓名(?:是|为)?|联系人(?:是|为)?|我是)\s*:?\s*"
    rf"([{_CJK}·]{{1,10}})"
)
# Where the name ends; only looked for from the third character on so that given names with
# these characters (李和平, 王为民, 张有才) survive.
_NAME_STOP_RE = _re(
    r"电话|手机|号码|联系|今年|报名|咨询|申请|参加|预约|投诉|调解|反映|需要|打算|准备|负责|这边|"
    r"那边|公司|老板|经理|会员|现在|已经|今天|明天|[想要来去在是的了呢啊吧呀哦嘛和跟与从住问请"
    r"我你他她也就还刚有没对给帮替为把被让叫说看做开办报一]"
)
_COMMON_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤蒙农常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒲鲍"
)
_COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容",
    "令狐", "长孙", "宇文", "司徒", "夏侯", "端木", "独孤", "南宫", "西门",
)  # fmt: skip
_NOT_NAMES = {
    "会员", "新会员", "老会员", "会长", "副会长", "秘书长", "秘书", "老板", "老板娘", "企业",
    "企业家", "商户", "个体", "个体户", "店主", "厂长", "经理", "负责人", "法人", "本人", "新人",
    "学员", "家长", "客户", "用户", "朋友", "老师", "同学", "党员", "群众", "股东", "董事长",
    "总经理", "财务", "会计", "员工", "职工", "工人", "什么", "哪位", "谁啊", "管理员", "机器人",
    "马上", "高兴", "方便", "周末", "黄金", "金牌", "向来", "于是", "何时", "余下", "史上",
    "常常", "白天", "许多", "任何", "付款", "付钱", "毛利", "夏天", "严重", "成功", "安全",
    "温州", "万一", "程序", "龙头", "江湖", "文员", "关于", "路过", "单身", "包工头", "齐全",
}  # fmt: skip
# After 我是 these also end a candidate that merely starts with them (我是马上到, 我是会员啊);
# after the explicit markers they would cost real names such as 高兴华.
_NOT_NAME_PREFIXES = tuple(_NOT_NAMES)
# A leading place name or a trailing place/title word: "我是江西的", "我是高新区的", "张总".
_NAME_PLACE_PREFIXES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川",
    "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "宁夏", "新疆", "香港", "澳门", "南宁",
    "柳州", "桂林", "梧州", "北海", "钦州", "玉林", "百色", "贺州", "河池", "来宾", "崇左",
    "防城", "贵港", "广州", "深圳", "武汉", "长沙", "成都", "杭州", "南京", "苏州", "东莞",
)  # fmt: skip
_NAME_BAD_ENDINGS = (
    "区", "市", "县", "省", "镇", "村", "乡", "街道", "路", "街", "人", "籍", "族", "总", "董",
    "老板", "经理", "先生", "女士", "小姐", "老师", "会长", "主任", "书记", "师傅", "姐", "哥",
    "叔", "姨", "工", "厂", "店", "行", "室", "社", "所", "团",
)  # fmt: skip
_NAME_BAD_FIRST = set(
    "了过着的地得是在不也都还就要想来去会能可把被让给跟和与你我他她它们这那什怎啊吧呢吗做"
)


def _person_name(s: str) -> str | None:
    if not _has_any(s, _NAME_TRIGGERS):
        return None
    for m in _NAME_MARKER_RE.finditer(s):
        marker, run = m.group(1), m.group(2)
        stop = _NAME_STOP_RE.search(run, 2)
        name = run[: stop.start()] if stop else run
        rest = run[len(name) :]
        if not 2 <= len(name) <= 4 or name[0] in _NAME_BAD_FIRST:
            continue
        if name in _NOT_NAMES or name.startswith(_NAME_PLACE_PREFIXES):
            continue
        if marker == "我是" and name.startswith(_NOT_NAME_PREFIXES):
            continue
        if name.endswith(_NAME_BAD_ENDINGS) or rest.startswith("人"):
            continue
        if _COMPANY_SUFFIX_RE.search(name + rest[:4]):
            continue  # 我是华兴五金厂的: a company, not a person
        if marker == "我是" and not (
            name[0] in _COMMON_SURNAMES or name.startswith(_COMPOUND_SURNAMES)
        ):
            continue
        return name
    return None


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _safe(label: str, default: _T, func: Callable[..., _T], *args: Any) -> _T:
    """``func(*args)``, or ``default`` if it raises: one misbehaving extractor must not cost the
    member the others, nor the reply."""
    try:
        return func(*args)
    except Exception:  # pragma: no cover - defensive; every path is tested not to raise
        log.exception("entity extractor %s failed", label)
        return default


def _when(s: str, today: date) -> tuple[dict[str, str], _Spans]:
    """Date, time, datetime and part of day.  Dates and times are read from the same text, not
    one after the other: 今晚 is both the date and the part of day of "今晚8点"."""
    found: dict[str, str] = {}
    found_date, date_spans = _dates(s, today)
    found_time, time_spans = _times(s)
    if found_date is not None:
        found["date"] = found_date.isoformat()
    if found_time is not None:
        found["time"] = found_time
        if found_date is not None:
            found["datetime"] = f"{found_date.isoformat()}T{found_time}"
    else:
        period = _period_only(s)
        if period is not None:
            found["period"] = period
    return found, date_spans + time_spans


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
    s = _normalise(text)

    # Codes and phone numbers first, each masked before the next, looser pattern runs: their
    # digits must not be read as landlines, dates or amounts.
    no_codes = _mask(s, _safe("cases", [], _cases, s, out))
    no_phones = _mask(no_codes, _safe("phones", [], _phones, no_codes, out))
    base = _mask(no_phones, _safe("landlines", [], _landlines, no_phones, out))

    nothing: tuple[dict[str, str], _Spans] = ({}, [])
    when, when_spans = _safe("dates", nothing, _when, base, today)
    out.update(when)
    rest = _mask(base, when_spans)

    for key, func, source in (
        ("money", _money, rest),
        ("company", _company, rest),
        ("training_kind", _training_kind, s),
        ("number", _choice_number, s),
        ("person_name", _person_name, rest),
    ):
        value = _safe(key, None, func, source)
        if value is not None:
            out[key] = value
    return out
