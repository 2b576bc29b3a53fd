"""Finding a row of a small staff-kept catalogue (the 代办事项清单) by a member's description,
with the knowledge base's own retrieval (``bot.kb.index`` over ``bot.nlu.segment`` terms).

"老家的户口迁移" and "社保转移" find 户籍迁移 and 社会保险关系转移 the way a policy question
finds its entry: each row is indexed as its name and keywords (question documents), its
keywords, and its name, department and materials (content). The index is built once per
process and catalogue version (the rows' count and latest change), so an import is seen on
the next search. The words members wrap around the item ("帮我代办", "老家的", "能不能") are
left out first: they name no item, and would only dilute the match.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from bot.kb.index import Index, build_index, search
from bot.nlu.segment import Analyzer, shared_analyzer
from bot.paths import KNOWLEDGE_DIR

# A match at least this good is offered; one this good and this far ahead is taken alone.
OFFER_SCORE = 0.18
SURE_SCORE = 0.45
SURE_MARGIN = 0.12

_WRAPPING = re.compile(
    r"商会|代办|帮忙|帮我|帮|麻烦|请问|请|我想|我要|想要|需要|能不能|能否|可不可以|可以|"
    r"能|吗|呢|吧|啊|怎么|如何|老家的|老家|家乡的|家乡|回去|人在外地|在外地|外地|一下|"
    r"办理|去办|办|给我|我的|我们|的|了|事情|事项|手续"
)


@dataclass(frozen=True)
class Row:
    """One catalogue row as the index sees it."""

    key: str
    name: str
    keywords: tuple[str, ...]
    department: str
    text: str  # materials and notes


@dataclass(frozen=True)
class Match:
    key: str
    score: float


_lock = threading.Lock()
_built: dict[Hashable, Index] = {}


def analyzer() -> Analyzer:
    return shared_analyzer(KNOWLEDGE_DIR / "userdict.txt", KNOWLEDGE_DIR / "synonyms.txt")


def core(text: str) -> str:
    """The description without the words members wrap around any item."""
    return _WRAPPING.sub(" ", text).strip()


def _index(version: Hashable, rows: Sequence[Row], words: Analyzer) -> Index:
    with _lock:
        index = _built.get(version)
        if index is None:
            entries = [
                (
                    r.key,
                    [r.name, *r.keywords],
                    " ".join([r.name, *r.keywords, r.department]),
                    r.text,
                )
                for r in rows
            ]
            index = build_index(words, entries, processes=1)
            _built.clear()  # one catalogue per process: the newest version only
            _built[version] = index
        return index


def find(
    version: Hashable, rows: Sequence[Row], text: str, *, words: Analyzer | None = None, k: int = 5
) -> list[Match]:
    """The rows ``text`` may mean, best first: those scoring at least :data:`OFFER_SCORE`."""
    query = core(text)
    if not query or not rows:
        return []
    index = _index(version, rows, words or analyzer())
    found = search(index, words or analyzer(), query, k=k)
    return [Match(c.topic, c.score) for c in found if c.score >= OFFER_SCORE]


def is_sure(matches: Sequence[Match]) -> bool:
    """The first match is good enough, and far enough ahead, to be taken without asking."""
    if not matches or matches[0].score < SURE_SCORE:
        return False
    return len(matches) == 1 or matches[0].score - matches[1].score >= SURE_MARGIN
