"""The segmenter: normalise, cut into jieba words, fold synonyms, add character bigrams.

The intent classifier and the knowledge base read a message through the same analyzer, so
the two agree on what a word is (``knowledge/userdict.txt``) and which words mean the same
(``knowledge/synonyms.txt``). It lives in understanding because the classifier needs it and
understanding must not depend on the knowledge base; the index (``bot.kb.index``) imports it.
:func:`split_question` finds the question in a long account, for the same reason: both the
knowledge base and the intent model should read a 1,200-character story by its question.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.nlu.normalise import normalise

BIGRAM_WEIGHT = 0.6
# Function words that carry no topic; question words (怎么, 哪些) are left to IDF.
STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 呀 嘛 哦 么 是 在 和 与 及 或 我 我们 你 你们 您 他 她 它 这 那 "
    "个 一下 请问 请 想 想要 要 能 能不能 可以 可不可以 会 有没有 有 没有 就 都 也 还 "
    "给 把 被 让 对 从 到 为 去 来 上 下 里 中 啥 吗 一个 一些 这个 那个 知道 问 问问".split()
)


# Messages longer than this (normalised characters) are reduced to their question.
LONG_MESSAGE = 150
# The question part kept from a long message, at most (characters).
QUESTION_CHARS = 160
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


class Analyzer:
    """Normalise, segment, fold synonyms, add character bigrams."""

    def __init__(self, userdict: Path | None = None, synonyms: Path | None = None) -> None:
        self._jieba = _tokenizer()
        self.canonical: dict[str, str] = {}
        if synonyms and synonyms.is_file():
            for line in synonyms.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                words = [normalise(w) for w in re.split(r"[,，]", line) if w.strip()]
                for word in words[1:]:
                    self.canonical.setdefault(word, words[0])
        if userdict and userdict.is_file():
            self._jieba.load_userdict(str(userdict))
        # Every synonym must come out of jieba as one token, or folding cannot see it.
        for word in [*self.canonical, *self.canonical.values()]:
            if len(word) > 1:
                self._jieba.add_word(word, 2000)
        # Whether a string is a dictionary word (for search-mode sub-words).
        self._is_word: Callable[[str], Any] = (
            self._jieba.get_freq if hasattr(self._jieba, "get_freq") else self._jieba.FREQ.get
        )
        self._lock = threading.Lock()
        # A message is analysed by the intent model, the knowledge base and the chit-chat
        # check; segment it once. Index builds call terms() directly and bypass this.
        self._cached = functools.lru_cache(maxsize=4096)(self._frozen_terms)

    def is_word(self, text: str) -> bool:
        """Whether ``text`` is a dictionary word (jieba's, ours or a synonym)."""
        return bool(self._is_word(text))

    def _frozen_terms(
        self, text: str, normalised: bool
    ) -> tuple[str, tuple[tuple[str, float], ...]]:
        folded, weights = self._analysis(text, normalised, True)
        return folded, tuple(weights.items())

    def query_terms(self, text: str, *, normalised: bool = False) -> dict[str, float]:
        """``terms`` for a member's message, memoised (the result is a fresh dict)."""
        return dict(self._cached(text[:1000], normalised)[1])

    def query_analysis(
        self, text: str, *, normalised: bool = False
    ) -> tuple[str, dict[str, float]]:
        """The folded text (synonyms replaced, Han characters, letters and digits only) and
        ``terms`` of a member's message, from one segmentation, memoised."""
        folded, items = self._cached(text[:1000], normalised)
        return folded, dict(items)

    def fold(self, text: str) -> str:
        """Segment, then replace whole-token synonyms by their canonical word.

        Folding tokens, not substrings, keeps 电话 in 电话诈骗 and 扶贫 in 扶贫济困 intact.
        """
        return "".join(self._tokens(text))

    def words(self, text: str) -> list[str]:
        """The folded jieba words of normalised ``text`` (stopwords and symbols left out)."""
        return [
            t
            for t in self._tokens(text)
            if t not in STOPWORDS and ("\u4e00" <= t[0] <= "\u9fff" or t.isalnum())
        ]

    def _tokens(self, text: str) -> list[str]:
        with self._lock:  # jieba's tokenizer is not documented as thread-safe
            # No HMM guessing of unknown words: the character bigrams cover those, and
            # segmentation is twice as fast without it.
            tokens = self._jieba.lcut(text, HMM=False)
        return [self.canonical.get(t, t) for t in tokens]

    def terms(self, text: str, *, normalised: bool = False, words: bool = True) -> dict[str, float]:
        """Weighted terms: words (with search-mode sub-words) and character bigrams.

        ``words=False`` gives the bigrams alone: for long answer text, where segmenting
        costs most of an index build and adds little to what the bigrams already match.
        """
        return self._analysis(text, normalised, words)[1]

    def _analysis(self, text: str, normalised: bool, words: bool) -> tuple[str, dict[str, float]]:
        norm = text if normalised else normalise(text)
        weights: dict[str, float] = defaultdict(float)
        if words:
            tokens = self._tokens(norm[:1000])
            is_word = self._is_word
            canonical = self.canonical
            for token in tokens:
                # Word-ish tokens only: Han characters, letters or digits, not stopwords.
                if token in STOPWORDS or not ("\u4e00" <= token[0] <= "\u9fff" or token.isalnum()):
                    continue
                weights["w:" + token] += 1.0
                # jieba's search mode: the dictionary words inside a long word count too.
                n = len(token)
                if n > 2:
                    for size in (2, 3):
                        for k in range(n - size + 1):
                            part = token[k : k + size]
                            if part != token and is_word(part):
                                weights["w:" + canonical.get(part, part)] += 1.0
            norm = "".join(tokens)  # folded synonyms fold the bigrams too
        chars = "".join(c for c in norm if "\u4e00" <= c <= "\u9fff" or c.isalnum())
        for k in range(len(chars) - 1):
            weights["b:" + chars[k : k + 2]] += BIGRAM_WEIGHT
        return chars, weights


def _tokenizer() -> Any:
    """jieba's segmenter: the C++ implementation (jieba_fast_dat, same dictionary and
    algorithm, about ten times faster and 60 MB lighter per process) when installed, else
    the pure-Python jieba."""
    try:
        import jieba_fast_dat as jieba_impl
    except ImportError:  # pragma: no cover - the pinned requirements include it
        import jieba as jieba_impl

        jieba_impl.setLogLevel(logging.WARNING)  # it logs its cache loading at DEBUG
    tokenizer = jieba_impl.Tokenizer()
    tokenizer.initialize()
    return tokenizer


_shared: dict[tuple[str, str, float, float], Analyzer] = {}
_shared_lock = threading.Lock()


def shared_analyzer(userdict: Path, synonyms: Path) -> Analyzer:
    """One analyzer per process and word-list version: jieba takes ~1.5 s to start."""

    def mtime(path: Path) -> float:
        return path.stat().st_mtime if path.exists() else 0.0

    key = (str(userdict), str(synonyms), mtime(userdict), mtime(synonyms))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Analyzer(userdict, synonyms)
        return _shared[key]
