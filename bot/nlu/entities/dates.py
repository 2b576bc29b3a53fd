"""Dates, clock times and parts of day (``date``, ``time``, ``datetime``, ``period``).

The resolution rules (weeks start on Monday, a past month-day means next year, bare
1-6 o'clock is the afternoon ...) are listed in ``bot.nlu.entities``' docstring.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from bot.nlu.entities.numbers import small_int
from bot.nlu.entities.scan import (
    CN_DIGIT_CHARS,
    Found,
    Spans,
    any_of,
    ascii_re,
    char_before,
    has_any,
    mask,
    word_before,
)

_MD = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"  # a month or a day, validated after parsing
_YEAR = rf"(?:\d{{4}}|[{CN_DIGIT_CHARS}]{{4}})"
# After a day without 日/号 a digit or unit means the number was not a day: 12月5万.
_NOT_AFTER_BARE_DAY = set("0123456789.%万千百亿元块个")
_DIGITS_AND_DOT = set("0123456789.")
_DIGITS_DOT_SLASH = set("0123456789./")

_FULL_NUMERIC_DATE_RE = ascii_re(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.])\s*[日号]?")
_YEAR_MONTH_DAY_RE = ascii_re(
    rf"(?:({_YEAR})\s*年|(今年|明年|去年|后年))\s*({_MD})\s*月\s*({_MD})\s*([日号])?"
)
_REL_MONTH_DAY_RE = ascii_re(
    rf"(下下个?月|下个?月|这个?月|本月|当月|上个?月|每个?月)\s*({_MD})\s*([日号])?"
)
_MONTH_DAY_RE = ascii_re(rf"(?<![\d.])({_MD})\s*月\s*({_MD})\s*([日号])?")
_DOTTED_DATE_RE = ascii_re(r"(\d{1,2})[./](\d{1,2})(?![\d./%])")
_REL_DAY_RE = ascii_re(
    r"大后天|大前天|后天|前天|"
    r"今天|今日|今儿|明天|明日|明儿|昨天|昨日|今晚|明晚|昨晚|今早|明早|今晨|明晨"
)
# 以后天天, 提前天数, 后天气温: 后天/前天 read across a word boundary.
_REL_DAY_BAD_BEFORE = set("以之然最此往向先落提")
_REL_DAY_BAD_AFTER = set("气然")
_WEEKDAY_RE = ascii_re(r"(?:周|星期|礼拜)([一二三四五六日天七1-7]|末)(?![次回趟遍])")
_OFFSET_RE = ascii_re(
    r"(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(天|周|个?星期|个?礼拜)(?:之|以)?([后前])"
)
_BARE_DAY_RE = ascii_re(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*([号日])")

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
_WEEK_PREFIXES = tuple(_WEEK_SHIFT)  # longest first, as word_before wants

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
    if char_before(s, m.start()) in _DIGITS_AND_DOT:
        return None
    return _valid_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))


def _date_year_month_day(m: re.Match[str], s: str, today: date) -> date | None:
    if not _day_suffix_ok(s, m.end(), m.group(4), m.group(5)):
        return None
    year = small_int(m.group(1)) if m.group(1) else today.year + _REL_YEARS[m.group(2)]
    month, day = small_int(m.group(3)), small_int(m.group(4))
    if year is None or month is None or day is None:
        return None
    return _valid_date(year, month, day)


def _date_rel_month_day(m: re.Match[str], s: str, today: date) -> date | None:
    if not _day_suffix_ok(s, m.end(), m.group(2), m.group(3)):
        return None
    day = small_int(m.group(2))
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
    month, day = small_int(m.group(1)), small_int(m.group(2))
    if month is None or day is None or not 1 <= month <= 12:
        return None
    return _upcoming_month_day(today, month, day)


def _date_dotted(m: re.Match[str], s: str, today: date) -> date | None:
    if char_before(s, m.start()) in _DIGITS_DOT_SLASH:
        return None
    before = s[max(0, m.start() - 5) : m.start()].rstrip(" :")
    after = s[m.end() : m.end() + 3].lstrip()
    if not (before.endswith(_DOTTED_BEFORE) or after.startswith(_DOTTED_AFTER)):
        return None
    return _upcoming_month_day(today, int(m.group(1)), int(m.group(2)))


def _date_relative_day(m: re.Match[str], s: str, today: date) -> date | None:
    if m.group(0) in ("后天", "前天") and (
        char_before(s, m.start()) in _REL_DAY_BAD_BEFORE
        or s[m.end() : m.end() + 1] in _REL_DAY_BAD_AFTER
    ):
        return None
    return today + timedelta(days=_REL_DAYS[m.group(0)])


def _date_weekday(m: re.Match[str], s: str, today: date) -> date | None:
    prefix = word_before(s, m.start(), _WEEK_PREFIXES)[0]
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
    count = small_int(m.group(1))
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
    day = small_int(day_text)
    return None if day is None else _upcoming_day(today, day)


# Most specific first: a span taken by an earlier pattern is masked for the later ones.  The
# middle item lists characters every match must contain; most messages contain none of them, and
# a substring test is far cheaper than a regex scan.
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], re.Pattern[str], _DateHandler], ...] = (
    (_FULL_NUMERIC_DATE_RE, any_of("-/."), _date_full_numeric),
    (_YEAR_MONTH_DAY_RE, any_of("年"), _date_year_month_day),
    (_REL_MONTH_DAY_RE, any_of("月"), _date_rel_month_day),
    (_MONTH_DAY_RE, any_of("月"), _date_month_day),
    (_DOTTED_DATE_RE, any_of("./"), _date_dotted),
    (_REL_DAY_RE, any_of("天日儿晚早晨"), _date_relative_day),
    (_WEEKDAY_RE, any_of("周期拜"), _date_weekday),
    (_OFFSET_RE, any_of("后前"), _date_offset),
    (_BARE_DAY_RE, any_of("号日"), _date_bare_day),
)


def _dates(s: str, today: date) -> tuple[date | None, Spans]:
    """The first date in reading order, and every span that was read as a date."""
    found: list[tuple[int, date]] = []
    spans: Spans = []
    work = s
    for pattern, triggers, handler in _DATE_PATTERNS:
        if not has_any(work, triggers):
            continue
        new: Spans = []
        for m in pattern.finditer(work):
            value = handler(m, work, today)
            if value is not None:
                found.append((m.start(), value))
                new.append(m.span())
        if new:
            spans.extend(new)
            work = mask(work, new)
    if not found:
        return None, spans
    return min(found, key=lambda item: item[0])[1], spans


# Characters that any match of the pattern must contain: most messages contain none, and a
# character-class search is far cheaper than the scan itself.
_TIME_TRIGGERS = any_of("点时:")
_PERIOD_TRIGGERS = any_of("午晚早晨夜凌")

_PERIODS = {
    "凌晨": "凌晨", "半夜": "凌晨", "深夜": "晚上",
    "早上": "上午", "早晨": "上午", "清晨": "上午", "一早": "上午", "上午": "上午",
    "今早": "上午", "明早": "上午", "今晨": "上午", "明晨": "上午", "早": "上午",
    "中午": "中午", "午后": "下午", "下午": "下午",
    "傍晚": "晚上", "晚上": "晚上", "夜里": "晚上", "夜间": "晚上",
    "今晚": "晚上", "明晚": "晚上", "昨晚": "晚上", "晚": "晚上",
}  # fmt: skip
_PERIOD_WORDS = tuple(sorted(_PERIODS, key=len, reverse=True))

# The part of day before the hour (下午三点) is found by word_before, not by the pattern.
_TIME_RE = ascii_re(
    r"(\d{1,2}|[零一二两三四五六七八九十]{1,3})\s*"
    r"(?:(:)(\d{2})(?![\d.])(?::\d{2})?"
    r"|(点钟|点|时)\s*"
    r"(?:(半)|(一刻)|(三刻)|(\d{1,2}|[零〇一二三四五六七八九十]{1,3})\s*(分)?|(整))?)"
)
# A part of day on its own ("明天下午"); not the greetings 早上好/晚上好 or 下午茶.
_PERIOD_ONLY_RE = ascii_re(rf"({'|'.join(p for p in _PERIOD_WORDS if len(p) > 1)})(?![好茶])")
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
    if char_before(s, m.start()) in _DIGITS_DOT_COLON:
        return None
    period_word = word_before(s, m.start(), _PERIOD_WORDS)[0]
    period = _PERIODS[period_word] if period_word else None
    end = m.end()
    if end < len(s) and s[end] in "万千亿元块%":
        return None  # "3点5万" is a mistyped amount, not a time
    hour = small_int(hour_text)
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
            value = small_int(min_text)
            # "3点5" is ambiguous; take minutes only with 分, two digits, or a leading zero.
            if value is not None and (fen or value >= 10 or min_text[0] in "0零〇"):
                minute, has_minutes = value, True
        if sep == "时" and chinese and not (period_word or fen):
            return None  # 一时半会儿, 一时: 时 after a Chinese numeral is rarely o'clock
        if sep == "点" and not period_word:
            if char_before(s, m.start()) in _POINT_BAD_BEFORE:
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


def _times(s: str) -> tuple[str | None, Spans]:
    first: str | None = None
    spans: Spans = []
    if not has_any(s, _TIME_TRIGGERS):
        return first, spans
    for m in _TIME_RE.finditer(s):
        value = _time_from_match(m, s)
        if value is not None:
            first = first or value
            spans.append(m.span())  # the part of day stays readable for _period_only
    return first, spans


def _period_only(s: str) -> str | None:
    if not has_any(s, _PERIOD_TRIGGERS):
        return None
    m = _PERIOD_ONLY_RE.search(s)
    return _PERIODS[m.group(1)] if m else None


def find(s: str, today: date) -> Found:
    """Date, time, datetime and part of day.  Dates and times are read from the same text, not
    one after the other: 今晚 is both the date and the part of day of "今晚8点"."""
    found: dict[str, Any] = {}
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
