"""Slot kinds: how an answer of each kind is read, kept in the state, and handed back.

:func:`read` turns what the member typed (never the NLU-normalised text) into the kind's
value, or raises :class:`~bot.errors.Invalid` with the reason;
:func:`from_entity` does the same for an entity found in a longer message; :func:`dump` and
:func:`load` convert between that value and the JSON the dialogue state stores. What a
value looks like in a summary is ``templates/replies/common/form_value.txt``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.dialogue.forms import choices as choosing
from bot.dialogue.forms.spec import (
    AGREE,
    DISAGREE,
    DONE,
    NO_ANSWERS,
    SKIP,
    YES_ANSWERS,
    Consent,
    MediaItem,
    Money,
    Number,
    Slot,
)
from bot.dialogue.replies import template_version
from bot.dialogue.turn import Turn
from bot.errors import FormEnded, Invalid
from bot.nlu.entities import extract
from bot.nlu.entities.numbers import money_with_text, parse_number
from bot.nlu.normalise import normalise

_MOBILE = re.compile(r"1[3-9]\d{9}")
# Separators people type inside a number: "138 0013 8000", "138-0013-8000", "(0771)".
_NUMBER_NOISE = re.compile(r"[\s\-－—()（）.+]")
_NUMERAL = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿]+")
_YEAR_GIVEN = re.compile(r"\d{4}|年")


class LooksLikePhone(Invalid):
    """A free-text answer that is a mobile number: the engine may ask whether it is theirs."""

    def __init__(self, number: str, label: str) -> None:
        super().__init__("replies/common/looks_like_phone.txt", label=label)
        self.number = number


def clean(text: str) -> str:
    """What the member typed, as kept: NFKC (full-width forms to plain ones), trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


def mobile(text: str) -> str:
    """An 11-digit mainland mobile from what was typed ("+86 138-0013-8000"), or Invalid."""
    digits = _NUMBER_NOISE.sub("", text)
    digits = digits.removeprefix("+86").removeprefix("86") if len(digits) > 11 else digits
    match = _MOBILE.fullmatch(digits) or _MOBILE.search(digits)
    if match is None or (match.group(0) != digits and len(re.sub(r"\D", "", digits)) != 11):
        raise Invalid("replies/common/invalid_mobile.txt")
    return match.group(0)


# -- reading an answer --------------------------------------------------------------------
def read(turn: Turn, slot: Slot, raw: str) -> Any:
    """The value of ``raw`` (the message as it came) as an answer to ``slot``.

    Text is kept as typed, only trimmed; every other kind reads the NFKC form (full-width
    digits and letters as plain ones). Raises Invalid, or FormEnded.
    """
    return _READERS[slot.kind](turn, slot, raw if slot.kind == "text" else clean(raw))


def _text(turn: Turn, slot: Slot, raw: str) -> str:
    value = raw.strip()
    compact = _NUMBER_NOISE.sub("", clean(value))
    if compact.isascii() and compact.isdigit() and not slot.numeric:
        # A bare number is never a name, a company or a job title; a mobile may have been
        # typed one prompt too early, so the engine can offer to keep it for the phone slot.
        number = compact.removeprefix("86") if len(compact) == 13 else compact
        if _MOBILE.fullmatch(number):
            raise LooksLikePhone(number, slot.label)
        raise Invalid("replies/common/just_a_number.txt", label=slot.label)
    if len(value) < slot.min_len:
        raise Invalid("replies/common/too_short.txt", min_len=slot.min_len)
    if len(value) > slot.max_len:
        raise Invalid("replies/common/too_long.txt", max_len=slot.max_len)
    return value


def _choice(turn: Turn, slot: Slot, raw: str) -> str | list[str]:
    options = slot.options_for(turn)
    offered = turn.state.choices if turn.state.requested_slot == slot.name else None
    if slot.multi:
        return [o.value for o in choosing.pick_many(options, raw, offered)]
    return choosing.pick(options, raw, offered).value


def _yes_no(turn: Turn, slot: Slot, raw: str) -> bool:
    norm = normalise(raw)
    if norm in YES_ANSWERS:
        return True
    if norm in NO_ANSWERS:
        return False
    raise Invalid("replies/common/invalid_yes_no.txt")


def _number(turn: Turn, slot: Slot, raw: str) -> Number:
    match = _NUMERAL.search(raw.replace(",", "").replace("，", ""))
    value = parse_number(match.group(0)) if match else None
    if value is None:
        raise Invalid("replies/common/invalid_number.txt", label=slot.label)
    return Number(value, raw.strip()[:100])


def _money(turn: Turn, slot: Slot, raw: str) -> Money:
    found = money_with_text(raw)
    if found is None:
        if _NUMERAL.search(raw):  # "20": 20 元 or 20 万? Only the member knows.
            raise Invalid("replies/common/money_needs_unit.txt", label=slot.label)
        raise Invalid("replies/common/invalid_money.txt", label=slot.label)
    yuan, text = found
    return Money(_plain_decimal(yuan), text)


def _date(turn: Turn, slot: Slot, raw: str) -> date:
    today = turn.local_now().date()
    found = extract(raw, today=today).get("date")
    if not found:
        raise Invalid("replies/common/invalid_date.txt", label=slot.label)
    return _date_in_range(slot, date.fromisoformat(found), today, raw)


def _date_in_range(slot: Slot, day: date, today: date, raw: str) -> date:
    if slot.past is True and day > today and not _YEAR_GIVEN.search(raw):
        # "3月5日" said in December of something that happened: this year's, not next
        # year's (the extractor reads an undated past month-day as the coming one).
        try:
            day = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            day = day.replace(year=day.year - 1, day=28)
    if slot.past is True and day > today:
        raise Invalid("replies/common/date_in_future.txt", label=slot.label)
    if slot.past is False and day < today:
        raise Invalid("replies/common/date_in_past.txt", label=slot.label)
    return day


def _time(turn: Turn, slot: Slot, raw: str) -> clock_time:
    found = extract(raw, today=turn.local_now().date()).get("time")
    if not found:
        raise Invalid("replies/common/invalid_time.txt", label=slot.label)
    return clock_time.fromisoformat(found)


def _datetime(turn: Turn, slot: Slot, raw: str) -> datetime:
    today = turn.local_now().date()
    entities = extract(raw, today=today)
    if entities.get("datetime"):
        moment = datetime.fromisoformat(entities["datetime"])
    elif entities.get("date") and not entities.get("time"):
        raise Invalid("replies/common/datetime_needs_time.txt", label=slot.label)
    elif entities.get("time"):
        moment = datetime.combine(today, clock_time.fromisoformat(entities["time"]))
    else:
        raise Invalid("replies/common/invalid_datetime.txt", label=slot.label)
    _date_in_range(slot, moment.date(), today, raw)
    return moment


def _phone(turn: Turn, slot: Slot, raw: str) -> str:
    return mobile(raw)


def _media(turn: Turn, slot: Slot, raw: str) -> list[MediaItem]:
    if normalise(raw) in DONE | SKIP:
        return load_media(turn.state.values.get(slot.name))
    raise Invalid("replies/common/media_expected.txt", label=slot.label)


def _consent(turn: Turn, slot: Slot, raw: str) -> Consent:
    norm = normalise(raw)
    assert slot.consent is not None  # Slot checks it
    if norm in AGREE:
        version = template_version(slot.consent)
        return Consent(version, turn.now.astimezone(UTC).replace(tzinfo=None), slot.consent)
    if norm in DISAGREE:
        raise FormEnded("replies/common/consent_declined.txt", label=slot.label)
    raise Invalid("replies/common/invalid_consent.txt")


_READERS: dict[str, Callable[[Turn, Slot, str], Any]] = {
    "text": _text,
    "choice": _choice,
    "yes_no": _yes_no,
    "number": _number,
    "money": _money,
    "date": _date,
    "time": _time,
    "datetime": _datetime,
    "phone": _phone,
    "media": _media,
    "consent": _consent,
}


def from_entity(turn: Turn, slot: Slot, entity: Any, raw: str) -> Any:
    """The value of an entity found in ``raw`` for ``slot`` (its mapping), or None."""
    if entity in (None, "", []):
        return None
    if slot.kind == "money":
        found = money_with_text(raw)
        return Money(_plain_decimal(found[0]), found[1]) if found else None
    if slot.kind in ("date", "time", "datetime"):
        readers: dict[str, Callable[[str], Any]] = {
            "date": date.fromisoformat,
            "time": clock_time.fromisoformat,
            "datetime": datetime.fromisoformat,
        }
        try:
            value = readers[slot.kind](str(entity))
        except ValueError:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return _date_in_range(slot, value, turn.local_now().date(), raw)
        return value
    if slot.kind == "number":
        number = parse_number(str(entity))
        return Number(number, str(entity)) if number is not None else None
    if slot.kind in ("text", "phone"):
        return read(turn, slot, str(entity))
    return None


# -- the state's JSON and back ------------------------------------------------------------
def dump(slot: Slot, value: Any) -> Any:
    """``value`` as the dialogue state stores it (JSON)."""
    if isinstance(value, Money):
        return {"yuan": str(value.yuan), "text": value.text}
    if isinstance(value, Number):
        return {"value": str(value.value), "text": value.text}
    if isinstance(value, Consent):
        return {"version": value.version, "at": value.at.isoformat(), "template": value.template}
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date | clock_time):
        return value.isoformat()[:5] if isinstance(value, clock_time) else value.isoformat()
    if slot.kind == "media" and isinstance(value, list):
        return [_media_json(item) for item in value]
    return value


def load(slot: Slot, stored: Any) -> Any:
    """The kind's value of what the state stored; None when it no longer reads."""
    try:
        return _load(slot, stored)
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError):
        return None  # an older or damaged record: the slot counts as empty


def _load(slot: Slot, stored: Any) -> Any:
    kind = slot.kind
    if stored is None or (stored == "" and kind != "text"):
        return None
    if kind == "money":
        return Money(Decimal(stored["yuan"]), str(stored["text"]))
    if kind == "number":
        return Number(Decimal(stored["value"]), str(stored["text"]))
    if kind == "consent":
        at = datetime.fromisoformat(stored["at"])
        return Consent(str(stored["version"]), at, str(stored["template"]))
    if kind == "date":
        return date.fromisoformat(stored)
    if kind == "time":
        return clock_time.fromisoformat(stored)
    if kind == "datetime":
        return datetime.fromisoformat(stored)
    if kind == "media":
        return load_media(stored)
    if kind == "yes_no":
        return bool(stored)
    return stored


def load_media(stored: Any) -> list[MediaItem]:
    items = []
    for item in stored or []:
        at = datetime.fromtimestamp(float(item.get("at") or time.time()), UTC)
        items.append(
            MediaItem(
                type=str(item.get("type", "")),
                media_id=str(item.get("media_id", "")),
                title=str(item.get("title", "")),
                received_at=at.replace(tzinfo=None),
            )
        )
    return items


def _media_json(item: Any) -> dict[str, Any]:
    if isinstance(item, MediaItem):
        at = item.received_at.replace(tzinfo=UTC).timestamp()
        return {"type": item.type, "media_id": item.media_id, "title": item.title, "at": at}
    return dict(item)


def _plain_decimal(value: Decimal) -> Decimal:
    """200000, not 2E+5; 12.50 stays 12.50."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def mask(text: str) -> str:
    """The ends of a value, its middle hidden: 138****5678 (summaries land in logs too)."""
    if len(text) >= 10:
        return text[:3] + "****" + text[-4:]
    if len(text) >= 3:
        return text[0] + "*" * (len(text) - 2) + text[-1]
    return "*" * len(text)
