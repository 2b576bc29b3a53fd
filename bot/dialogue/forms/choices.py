"""Which option a member means: by its name first, by a number only when that is all they say.

Names are compared after the same normalisation on both sides (``bot.nlu.normalise``:
full-width to half-width, no punctuation or spaces, lower case), so a title typed exactly
as listed — ``新生代企业家培训班（第九期）`` — is that option, and ordinal words inside a name
(``第九期``) are never read as the list number. The order:

1. an exact name (the label or a synonym);
2. a name contained in the reply, or the reply contained in a name; when several options
   match, the one matched by the longest name (the most specific) wins, and a tie is
   ambiguous: the member is shown the short list of what matched, with their numbers;
3. a number, only when the whole reply is a number or an ordinal phrase ("2", "第二个",
   "选3").

:func:`mentioned` reads options named anywhere in a longer message (a form's first message:
"我要申请调解，合同纠纷…").
"""

from __future__ import annotations

import re

from bot.dialogue.forms.spec import Choice
from bot.errors import Invalid
from bot.nlu.entities.picks import choice_number
from bot.nlu.normalise import normalise

# A reply shorter than this is never looked for inside names: "的" is in too many.
MIN_PART = 2
_SEPARATORS = re.compile(r"[\s,，、;；/和及与跟还有以及]+")


class Ambiguous(Invalid):
    """The reply names several options equally well: they are listed, with their numbers."""

    def __init__(self, matches: list[tuple[int, Choice]]) -> None:
        super().__init__(
            "replies/common/choice_ambiguous.txt",
            matches=[(number, option.label) for number, option in matches],
        )
        self.matches = matches


def names(option: Choice) -> list[str]:
    """The option's names as compared: its label and synonyms, normalised."""
    found = [normalise(option.label), *(normalise(a) for a in option.aliases)]
    return [n for n in dict.fromkeys(found) if n]


def pick(options: list[Choice], text: str, offered: list[str] | None = None) -> Choice:
    """The option ``text`` means; raises :class:`Invalid` (or :class:`Ambiguous`).

    :param offered: the option values in the order the member last saw them numbered; a
        number picks from that list (the list may have changed since it was shown).
    """
    norm = normalise(text)
    if not norm or not options:
        raise Invalid("replies/common/invalid_choice.txt", options=options)
    exact = [o for o in options if norm in names(o)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise Ambiguous(_numbered(options, exact, offered))
    best = _best_named(options, norm, both_ways=True)
    if best:
        if len(best) == 1:
            return best[0]
        raise Ambiguous(_numbered(options, best, offered))
    number = choice_number(norm)
    if number is not None:
        return by_number(options, number, offered)
    raise Invalid("replies/common/invalid_choice.txt", options=options)


def pick_many(options: list[Choice], text: str, offered: list[str] | None = None) -> list[Choice]:
    """Every option ``text`` names ("1、3", "合同纠纷和劳动纠纷"), in the order given."""
    norm = normalise(text)
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    numbers = [choice_number(normalise(p)) for p in parts]
    if parts and all(n is not None for n in numbers):
        return _unique([by_number(options, n, offered) for n in numbers if n is not None])
    named = mentioned_all(options, norm)
    if named:
        return named
    picked: list[Choice] = []
    for part in parts or [text]:
        picked.append(pick(options, part, offered))
    return _unique(picked)


def by_number(options: list[Choice], number: int, offered: list[str] | None = None) -> Choice:
    """The ``number``-th option as last shown (``offered``), else as listed now."""
    if offered:
        if 1 <= number <= len(offered):
            value = offered[number - 1]
            for option in options:
                if option.value == value:
                    return option
            # Shown then, gone now (a session that has just closed).
            raise Invalid("replies/common/choice_gone.txt", options=options)
    elif 1 <= number <= len(options):
        return options[number - 1]
    raise Invalid("replies/common/choice_out_of_range.txt", count=len(offered or options))


def mentioned(options: list[Choice], text: str) -> Choice | None:
    """The one option named in a longer message, or None (none, or no clear one)."""
    best = _best_named(options, normalise(text), both_ways=False)
    return best[0] if len(best) == 1 else None


# "没有抵押" does not name 抵押: an option's name right after a negation is not said.
_NEGATIONS = ("没有", "没", "无", "不", "非", "未", "别")


def said(name: str, norm: str) -> bool:
    """``name`` occurs in ``norm`` at least once not right after a negation."""
    start = norm.find(name)
    while start >= 0:
        if not norm[:start].endswith(_NEGATIONS):
            return True
        start = norm.find(name, start + 1)
    return False


def mentioned_all(options: list[Choice], norm: str) -> list[Choice]:
    """Every option whose name occurs in the normalised ``norm``, in the options' order."""
    return [o for o in options if any(len(n) >= MIN_PART and said(n, norm) for n in names(o))]


def _best_named(options: list[Choice], norm: str, *, both_ways: bool) -> list[Choice]:
    """The options matched by the longest name contained in ``norm`` (or, with
    ``both_ways``, containing ``norm``)."""
    scored: list[tuple[int, Choice]] = []
    for option in options:
        score = 0
        for name in names(option):
            if len(name) >= MIN_PART and said(name, norm):
                score = max(score, len(name))
            elif both_ways and len(norm) >= MIN_PART and norm in name:
                score = max(score, len(norm))
        if score:
            scored.append((score, option))
    if not scored:
        return []
    top = max(score for score, _ in scored)
    return [option for score, option in scored if score == top]


def _numbered(
    options: list[Choice], matched: list[Choice], offered: list[str] | None
) -> list[tuple[int, Choice]]:
    """Each match with the number that picks it (as :func:`by_number` will read it)."""
    if offered and all(o.value in offered for o in matched):
        return [(offered.index(o.value) + 1, o) for o in matched]
    return [(options.index(o) + 1, o) for o in matched]


def _unique(picked: list[Choice]) -> list[Choice]:
    seen: dict[str, Choice] = {}
    for option in picked:
        seen.setdefault(option.value, option)
    return list(seen.values())
