"""Chinese and Arabic numerals, and amounts of money (``money``, in yuan)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from bot.nlu.entities.scan import (
    CN_NUM_CHARS,
    Found,
    any_of,
    ascii_re,
    char_before,
    has_any,
    word_before,
)

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
_NUM_TOKEN_RE = ascii_re(rf"\d+(?:\.\d+)?|[{CN_NUM_CHARS}]")


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


def small_int(text: str) -> int | None:
    value = parse_number(text)
    if value is None or value != int(value):
        return None
    return int(value)


def _json_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# Characters that any match of the pattern must contain: most messages contain none, and a
# character-class search is far cheaper than the scan itself.
_MONEY_TRIGGERS = any_of("万亿千元块圆¥币RMBrmb")
# "300w", "1.5W": w is how members type 万 when answering an amount question (one character
# for one, so spans stay valid). Not in free text, where "5w" may be anything (``find_money``).
_W_FOR_WAN = ascii_re(r"(?<=\d)[wW](?![A-Za-z])")

# Possessive quantifiers: the numeral run is read once and never re-split, so noise cannot
# make this backtrack.
# 个 between a numeral and 万/亿 is how amounts are said ("两个亿", "3个亿"): part of the run.
_MONEY_RE = ascii_re(
    rf"((?:\d{{1,3}}(?:,\d{{3}})++(?:\.\d+)?|\d++(?:\.\d++)?|[{CN_NUM_CHARS}]|个(?=[万亿]))++)"
    r"(\s*(?:块钱|块|元|圆|人民币))?"
)
_MONEY_PREFIXES = ("人民币", "RMB", "rmb", "¥")
# After 万/千 without 元: counts of people, area, weight ... are not money.
_NOT_MONEY_AFTER = ascii_re(
    r"\s*(?:多|余|来)?\s*(?:人|名|个|位|家|户|次|平|米|亩|吨|件|台|套|字|斤|公斤|克|天|年|岁|期|"
    r"条|份|张|辆|里|公里|步|分|秒|小时|颗|只|头|株|棵|箱|瓶|间|座|册|本|篇|项|倍|%|号|粉丝|"
    r"阅读|点击|网友|用户|会员|企业|公司|单|票|度|火急)"
)

_NOT_YUAN_AFTER = ascii_re(r"[地儿砖板石玉表田去走吃来玩做干住肉布屏牌糖]")


def _money(s: str) -> int | float | None:
    found = _money_match(s)
    return found[0] if found is not None else None


def _money_match(s: str) -> tuple[int | float, int, int] | None:
    """The first amount in ``s``: its value in yuan and its span (prefix and unit included)."""
    if not has_any(s, _MONEY_TRIGGERS):
        return None
    for m in _MONEY_RE.finditer(s):
        num, unit = m.group(1), m.group(2)
        before = char_before(s, m.start())
        if before == "." or (before.isascii() and before.isalnum()):
            continue  # part of a code such as A12万 or a version number
        prefix, prefix_start = word_before(s, m.start(), _MONEY_PREFIXES)
        has_scale = any(c in num for c in "万亿千")
        if not (prefix or unit or has_scale):
            continue  # a bare number is not money
        if num[0] in "百千万亿个":
            continue  # 千万/万一/百万: words, not amounts (几个亿: no number said)
        if (
            unit
            and unit.strip() == "块"
            and (num in ("一", "两") or _NOT_YUAN_AFTER.match(s, m.end()))
        ):
            continue  # 一块去 (together), 两块地 (plots): 块 is also a measure word
        if not (prefix or unit) and _NOT_MONEY_AFTER.match(s, m.end()):
            continue
        value = parse_number(num.replace("个", ""))
        if value is None or value <= 0:
            continue
        return _json_number(value), (prefix_start if prefix else m.start()), m.end()
    return None


# Hedges members put around an amount ("大概20万", "20万左右"): part of what they said.
_HEDGE_BEFORE = tuple(
    sorted(
        ("大概", "大约", "大致", "约", "近", "将近", "差不多", "至少", "不到", "超过", "共"),
        key=len,
        reverse=True,  # word_before wants the longest first
    )
)
_HEDGE_AFTER = ascii_re(r"\s*(?:多|余|来|左右|上下|出头)")


def money_with_text(s: str) -> tuple[Decimal, str] | None:
    """The first amount in ``s`` in yuan, with the words the member used for it.

    ``"对方欠我大概20万左右"`` → ``(Decimal("200000"), "大概20万左右")``: a form keeps both,
    the number for arithmetic and the words for the record. Needs a unit, as ``money`` does.
    """
    found = _money_match(_W_FOR_WAN.sub("万", s))
    if found is None:
        return None
    value, start, end = found
    hedge, hedge_start = word_before(s, start, _HEDGE_BEFORE)
    if hedge:
        start = hedge_start
    after = _HEDGE_AFTER.match(s, end)
    if after is not None:
        end = after.end()
    return Decimal(str(value)), s[start:end].strip()


def find_money(s: str, today: date) -> Found:
    """The first amount of money, in yuan."""
    value = _money(s)
    return ({"money": value} if value is not None else {}), []
