"""The unanswered queue in groups: what members asked that the bot declined, by likeness.

Curators read the queue to find what the knowledge base lacks. Forty ways of asking whether
social insurance can be deferred are one gap, not forty: :func:`group_unanswered` puts
questions that share most of their terms in one group, with the times asked summed, the
words they share (the group's label) and the entry most of them came closest to — where a
curator would add them as paraphrases (:func:`bot.kb.entries.add_paraphrases`) or start a
new entry. No embeddings: terms are the analyzer's words (synonyms folded, so 贷款 and 融资
meet) and character bigrams, compared by overlap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.nlu.normalise import normalise
from bot.nlu.segment import Analyzer

# Two questions are alike when their term sets overlap this much (Jaccard).
SIMILARITY = 0.3
# The words a group's label shows, at most.
LABEL_WORDS = 4


class Unanswered(Protocol):
    """What grouping reads of a queued question (``bot.models.UnansweredQuestion``)."""

    @property
    def text(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def best_topic(self) -> str | None: ...


@dataclass
class UnansweredGroup:
    """Alike questions, the most asked first."""

    questions: list[Unanswered] = field(default_factory=list)
    count: int = 0  # times asked, all questions together
    words: list[str] = field(default_factory=list)  # the words most of them share
    topic: str | None = None  # the entry most of them came closest to

    @property
    def representative(self) -> str:
        return self.questions[0].text if self.questions else ""


def terms_of(text: str, analyzer: Analyzer | None = None) -> frozenset[str]:
    """Words (when an analyzer is given) and character bigrams of a question."""
    norm = normalise(text)
    terms = {"b:" + norm[k : k + 2] for k in range(len(norm) - 1)}
    if analyzer is not None:
        terms |= {"w:" + w for w in analyzer.words(norm)}
    elif len(norm) == 1:
        terms.add("b:" + norm)
    return frozenset(terms)


def group_unanswered(
    rows: Iterable[Unanswered],
    analyzer: Analyzer | None = None,
    *,
    similarity: float = SIMILARITY,
) -> list[UnansweredGroup]:
    """Groups of alike questions, the most asked group first.

    Greedy and single-pass, most asked question first: each question joins the group holding
    the member it is most alike to (if alike enough), else starts one. Candidate groups are
    found through the terms they contain, so a long queue is not compared pairwise.
    """
    ordered = sorted(rows, key=lambda r: (-int(r.count or 0), r.text))
    groups: list[UnansweredGroup] = []
    members: list[list[frozenset[str]]] = []
    holders: dict[str, set[int]] = {}  # term -> groups with a member that has it
    for row in ordered:
        terms = terms_of(row.text, analyzer)
        best, best_score = -1, similarity
        candidates = set().union(*(holders.get(t, set()) for t in terms)) if terms else set()
        for g in sorted(candidates):
            score = max(_jaccard(terms, other) for other in members[g])
            if score >= best_score:
                best, best_score = g, score
        if best < 0:
            best = len(groups)
            groups.append(UnansweredGroup())
            members.append([])
        groups[best].questions.append(row)
        groups[best].count += int(row.count or 0)
        members[best].append(terms)
        for term in terms:
            holders.setdefault(term, set()).add(best)
    for group, term_sets in zip(groups, members, strict=True):
        group.words = _shared_words(term_sets)
        group.topic = _most_common(r.best_topic for r in group.questions)
    groups.sort(key=lambda g: (-g.count, -len(g.questions), g.representative))
    return groups


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _shared_words(term_sets: Sequence[frozenset[str]]) -> list[str]:
    """The words in at least half of the questions, most common first (bigrams when the
    group was built without an analyzer)."""
    counts: Counter[str] = Counter(t for terms in term_sets for t in terms)
    words = [t for t in counts if t.startswith("w:")] or list(counts)
    half = max(1, (len(term_sets) + 1) // 2)
    shared = [t for t in words if counts[t] >= half]
    shared.sort(key=lambda t: (-counts[t], -len(t), t))
    return [t[2:] for t in shared[:LABEL_WORDS]]


def _most_common(topics: Iterable[str | None]) -> str | None:
    counts = Counter(t for t in topics if t)
    return counts.most_common(1)[0][0] if counts else None
