"""Slot validators shared by the forms: each returns the clean value or raises Invalid.

A validator runs after the slot's kind has read the answer (``bot.dialogue.forms.kinds``):
a text slot's validator gets the text as typed, already checked for length and for being a
bare number or a phone number; prefer a slot kind (``phone``, ``yes_no`` …) to a validator
that only re-does what the kind does.
"""

from __future__ import annotations

import re
import unicodedata

from bot.dialogue.forms import kinds
from bot.dialogue.forms.spec import NO, YES
from bot.dialogue.turn import Turn
from bot.errors import Invalid

# Chinese names are 2–4 characters (a few more with the · of minority names).
_NAME = re.compile(
    r"[\u4e00-\u9fa5]{2,5}|[\u4e00-\u9fa5]{1,6}·[\u4e00-\u9fa5]{1,6}|[A-Za-z][A-Za-z .'-]{1,40}"
)
_NOT_NAME_PARTS = re.compile(r"[吗呢吧啊]|什么|怎么|公司|商会|培训|报名|不知道")
_NOT_NAMES = frozenset(
    {"不知道", "不告诉你", "你好", "谢谢", "报名", "培训", "会员", "拜拜", "再见", "好的"}
)


def cn_mobile(turn: Turn, text: str) -> str:
    """An 11-digit mainland mobile (what the ``phone`` kind reads)."""
    return kinds.mobile(text)


# A landline with its area code (0591-87654321, 059187654321, (0591) 8765 4321), an
# extension allowed; or a 400/800 service number.
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:(?:-|转|ext)\d{1,6})?|[48]00-?\d{3}-?\d{4}")


def contact_phone(turn: Turn, text: str) -> str:
    """A mobile, or a landline with its area code: how an enterprise is reached."""
    compact = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", text))
    compact = re.sub(r"^(电话|座机|手机|号码)[:：]?", "", compact)
    try:
        return kinds.mobile(compact)
    except Invalid:
        pass
    found = _LANDLINE.search(compact)
    if found is None or len(found.group(0).replace("-", "")) > 18:
        raise Invalid("replies/common/invalid_contact_phone.txt")
    return found.group(0)


def person_name(turn: Turn, text: str) -> str:
    name = re.sub(r"^(我叫|我是|姓名[:：]?|名字[:：]?|叫)", "", text.strip())
    if not _NAME.fullmatch(name) or name in _NOT_NAMES or _NOT_NAME_PARTS.search(name):
        raise Invalid("replies/common/invalid_name.txt")
    return name


def free_text(min_len: int, max_len: int):  # type: ignore[no-untyped-def]
    """A validator for free text between ``min_len`` and ``max_len`` characters."""

    def validate(turn: Turn, text: str) -> str:
        value = text.strip()
        if len(value) < min_len:
            raise Invalid("replies/common/too_short.txt", min_len=min_len)
        if len(value) > max_len:
            raise Invalid("replies/common/too_long.txt", max_len=max_len)
        return value

    return validate


def yes_no(turn: Turn, text: str) -> str:
    if text in YES:
        return "yes"
    if text in NO or text in ("不用", "不要", "算了"):
        return "no"
    raise Invalid("replies/common/invalid_yes_no.txt")


# 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character.
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CODE_IN_TEXT = re.compile(rf"(?<![0-9A-Z])[{_CODE_CHARS}]{{18}}(?![0-9A-Z])")


def credit_code(turn: Turn, text: str) -> str:
    """A 统一社会信用代码 whose check character is right (as typed, upper-cased)."""
    compact = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    # "信用代码是91350100M000100Y43": the code inside a sentence.
    found = _CODE_IN_TEXT.search(compact)
    code = found.group(0) if found else compact
    if len(code) != 18 or any(c not in _CODE_CHARS for c in code):
        raise Invalid("replies/common/invalid_credit_code.txt")
    total = sum(_CODE_CHARS.index(c) * w for c, w in zip(code[:17], _WEIGHTS, strict=True))
    if _CODE_CHARS[(31 - total % 31) % 31] != code[17]:
        raise Invalid("replies/common/invalid_credit_code.txt")
    return code
