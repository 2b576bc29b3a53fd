"""From a member's message to the weighted terms the index is searched with.

Three things happen before the search:

* A long account (a business in trouble told over a thousand characters) is reduced to its
  question: the last sentences that ask something, plus the domain words of the story at
  half weight. Matched whole, the story's many words drown the question, and the segmenter
  reads only the first thousand characters anyway.
* Synonyms are folded by the analyzer (``knowledge/synonyms.txt``), as for the entries.
* One-character typos and homophones on domain words are corrected (``bot.kb.speller``),
  only where a bigram of the message is unknown to the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.kb.index import Index, knows
from bot.kb.speller import Speller
from bot.nlu.normalise import normalise
from bot.nlu.segment import Analyzer

# Messages longer than this (normalised characters) are reduced to their question.
LONG_MESSAGE = 150
# The question part kept from a long message, at most (characters).
QUESTION_CHARS = 160
# Domain words of the story around the question weigh this much (a question's word: 1).
STORY_WEIGHT = 0.5
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
# What makes a sentence a question (beside a question mark).
QUESTION_CUES = (
    "怎么",
    "如何",
    "怎样",
    "咋",
    "能不能",
    "能否",
    "可不可以",
    "可以吗",
    "是否",
    "有没有",
    "吗",
    "哪",
    "什么",
    "啥",
    "多少",
    "多久",
    "多长",
    "几",
    "请问",
    "想问",
    "想知道",
    "请教",
    "?",
    "？",
)


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


def split_question(text: str) -> tuple[str, str]:
    """A long message as (its question, the story before it).

    The question is the last run of sentences that ask something, up to QUESTION_CHARS; a
    message with no question cue keeps its last sentences.
    """
    sentences = [s for s in _SENTENCE.findall(text) if s.strip()]
    if not sentences:
        return text, ""
    asking = [any(cue in s for cue in QUESTION_CUES) for s in sentences]
    last = max((k for k, a in enumerate(asking) if a), default=len(sentences) - 1)
    first = last
    size = len(sentences[last])
    while first > 0 and size + len(sentences[first - 1]) <= QUESTION_CHARS:
        if not asking[first - 1] and asking[last]:
            break
        first -= 1
        size += len(sentences[first])
    question = "".join(sentences[first : last + 1])
    if len(question) > QUESTION_CHARS:  # one long unpunctuated run: its end asks
        question = question[-QUESTION_CHARS:]
    story = "".join(sentences[:first])
    return question, story


def prepare(analyzer: Analyzer, speller: Speller | None, index: Index, message: str) -> Query:
    """The question, corrected and weighted, that ``message`` asks."""
    whole = normalise(message)
    question, story = message, ""
    if len(whole) > LONG_MESSAGE:
        question, story = split_question(message)
    text = normalise(question)
    corrected = False
    if speller is not None and text:
        folded = analyzer.fold(text)
        fixed = speller.correct(folded, lambda bigram: not knows(index, "b:" + bigram))
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
