"""Training kinds: the canonical name of the kind of session a member means."""

from __future__ import annotations

from datetime import date

from bot.nlu.entities.scan import Found, any_of, ascii_re, has_any

# Characters that any match of the pattern must contain: most messages contain none, and a
# character-class search is far cheaper than the scan itself.
_TRAINING_TRIGGERS = any_of("代家子讲非")

_TRAINING_RE = ascii_re(
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
    if not has_any(s, _TRAINING_TRIGGERS):
        return None
    m = _TRAINING_RE.search(s)
    if m is None:
        return None
    return _TRAINING_KINDS[(m.lastindex or 1) - 1]


def find(s: str, today: date) -> Found:
    """The canonical training kind a message names (``training_kind``)."""
    value = _training_kind(s)
    return ({"training_kind": value} if value is not None else {}), []
