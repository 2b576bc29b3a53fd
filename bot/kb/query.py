"""From a member's message to the weighted terms the index is searched with.

Three things happen before the search:

* A long account (a business in trouble told over a thousand characters) is reduced to its
  question (``bot.nlu.segment.split_question``: the last sentences that ask something),
  plus the domain words of the story at half weight. Matched whole, the story's many words
  drown the question, and the segmenter reads only the first thousand characters anyway.
* Synonyms are folded by the analyzer (``knowledge/synonyms.txt``), as for the entries.
* One-character typos and homophones on domain words are corrected (``bot.kb.speller``),
  only where a bigram of the message is unknown to the index.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.kb.index import Index
from bot.kb.speller import Speller
from bot.nlu.normalise import normalise
from bot.nlu.segment import LONG_MESSAGE, Analyzer, split_question

# Domain words of the story around the question weigh this much (a question's word: 1).
STORY_WEIGHT = 0.5


@dataclass(frozen=True)
class Query:
    """A message made ready for the index.

    ``text`` is what the intent model reads (the question part, normalised and corrected);
    ``terms`` what the index is searched with.
    """

    text: str
    terms: dict[str, float]
    length: int  # normalised characters of the whole message
    corrected: bool = False
    reduced: bool = False


def prepare(analyzer: Analyzer, speller: Speller | None, index: Index, message: str) -> Query:
    """The question, corrected and weighted, that ``message`` asks."""
    whole = normalise(message)
    question, story = message, ""
    if len(whole) > LONG_MESSAGE:
        question, story = split_question(message)
    text = normalise(question)
    folded, terms = analyzer.query_analysis(text, normalised=True)
    corrected = False
    if speller is not None and len(folded) > 1:
        unseen = unseen_bigrams(index, terms)
        fixed = speller.correct(folded, unseen.__contains__) if unseen else None
        if fixed is not None:
            text, corrected = fixed, True
            terms = analyzer.query_terms(text, normalised=True)
    if story:
        vocabulary = speller.vocabulary if speller is not None else frozenset()
        for word in analyzer.words(normalise(story)):
            if word in vocabulary:
                key = "w:" + word
                terms[key] = max(terms.get(key, 0.0), STORY_WEIGHT)
    return Query(text, terms, len(whole), corrected, bool(story))


def unseen_bigrams(index: Index, terms: dict[str, float]) -> set[str]:
    """The character bigrams among ``terms`` the index has never seen (one lookup)."""
    bigrams = [t for t in terms if t.startswith("b:")]
    if not bigrams or not len(index.terms):
        return set()
    found = index.lookup([hash(b) for b in bigrams])
    return {b[2:] for b, pos in zip(bigrams, found.tolist(), strict=True) if pos < 0}
