"""Retrieval for Chinese policy questions: analysis, an inverted index, scoring, bands.

Each entry is indexed as several documents: every standard question, paraphrase and the
title ("question documents"), plus one "content document" (keywords, title and answer).
Terms are jieba words in search mode (with the domain dictionary) and character bigrams,
with synonyms folded to one canonical word. Weights are sublinear TF-IDF, vectors are unit
length, so a score is a cosine in [0, 1]. An entry scores
``QUESTION_WEIGHT × best question cosine + (1 − QUESTION_WEIGHT) × content cosine``: questions
rank above answer text. Postings are numpy arrays; a query touches only its terms' postings.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.nlu import normalise

QUESTION_WEIGHT = 0.8
BIGRAM_WEIGHT = 0.6
# Function words that carry no topic; question words (怎么, 哪些) are left to IDF.
STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 呀 嘛 哦 么 是 在 和 与 及 或 我 我们 你 你们 您 他 她 它 这 那 "
    "个 一下 请问 请 想 想要 要 能 能不能 可以 可不可以 会 有没有 有 没有 就 都 也 还 "
    "给 把 被 让 对 从 到 为 去 来 上 下 里 中 啥 吗 一个 一些 这个 那个 知道 问 问问".split()
)
_HAN_OR_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+")


@dataclass(frozen=True)
class Doc:
    topic: str
    text: str


@dataclass
class Candidate:
    topic: str
    score: float


class Analyzer:
    """Normalise, segment, fold synonyms, add character bigrams."""

    def __init__(self, userdict: Path | None = None, synonyms: Path | None = None) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # it logs its cache loading at DEBUG to stderr
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
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
        # Longest first, so 纳税信用贷款 folds before 纳税信用贷.
        self._phrases = sorted((w for w in self.canonical if len(w) > 1), key=len, reverse=True)
        self._lock = threading.Lock()

    def fold(self, text: str) -> str:
        """Segment, then replace whole-token synonyms by their canonical word.

        Folding tokens, not substrings, keeps 电话 in 电话诈骗 and 扶贫 in 扶贫济困 intact.
        """
        with self._lock:  # jieba's tokenizer is not documented as thread-safe
            tokens = self._jieba.lcut(text)
        return "".join(self.canonical.get(t, t) for t in tokens)

    def terms(self, text: str, *, normalised: bool = False) -> dict[str, float]:
        norm = text if normalised else normalise(text)
        norm = self.fold(norm[:1000])
        weights: dict[str, float] = defaultdict(float)
        with self._lock:
            words = list(self._jieba.cut_for_search(norm))
        for word in words:
            word = word.strip()
            if not word or word in STOPWORDS or not _HAN_OR_WORD.search(word):
                continue
            weights["w:" + self.canonical.get(word, word)] += 1.0
        chars = [c for c in norm if "\u4e00" <= c <= "\u9fff" or c.isalnum()]
        for a, b in zip(chars, chars[1:], strict=False):
            weights["b:" + a + b] += BIGRAM_WEIGHT
        return weights


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


@dataclass
class Index:
    topics: list[str]
    doc_entry: np.ndarray  # entry index of each question document, sorted by entry
    entry_starts: np.ndarray  # first question-document row of each entry
    idf: dict[str, float]
    q_postings: dict[str, tuple[np.ndarray, np.ndarray]]
    c_postings: dict[str, tuple[np.ndarray, np.ndarray]]
    n_question_docs: int
    unseen_idf: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.topics)


def _vector(
    counts: dict[str, float], idf: dict[str, float], unseen: float = 0.0
) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf.get(t, unseen) for t, c in counts.items() if c > 0}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items() if v > 0}


def build_index(
    analyzer: Analyzer,
    entries: Sequence[tuple[str, Sequence[str], str]],
) -> Index:
    """Index ``(topic, questions, content)`` triples; questions include title and paraphrases."""
    topics = [topic for topic, _, _ in entries]
    q_terms: list[tuple[int, dict[str, float]]] = []
    c_terms: list[dict[str, float]] = []
    df: Counter[str] = Counter()
    for i, (_, questions, content) in enumerate(entries):
        seen: set[str] = set()
        for q in questions:
            counts = analyzer.terms(q)
            if counts:
                q_terms.append((i, counts))
                seen.update(counts)
        counts = analyzer.terms(content)
        c_terms.append(counts)
        seen.update(counts)
        df.update(seen)  # document frequency over entries, so paraphrase count is no bias
    n = max(1, len(entries))
    idf = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    q_post: dict[str, tuple[list[int], list[float]]] = {}
    for row, (_, counts) in enumerate(q_terms):
        for term, w in _vector(counts, idf).items():
            ids, ws = q_post.setdefault(term, ([], []))
            ids.append(row)
            ws.append(w)
    c_post: dict[str, tuple[list[int], list[float]]] = {}
    for i, counts in enumerate(c_terms):
        for term, w in _vector(counts, idf).items():
            ids, ws = c_post.setdefault(term, ([], []))
            ids.append(i)
            ws.append(w)
    doc_entry = np.array([i for i, _ in q_terms], dtype=np.int32)
    starts = np.searchsorted(doc_entry, np.arange(len(entries)))
    return Index(
        topics=topics,
        doc_entry=doc_entry,
        entry_starts=starts.astype(np.int64),
        idf=idf,
        q_postings={
            t: (np.array(a, np.int32), np.array(b, np.float32)) for t, (a, b) in q_post.items()
        },
        c_postings={
            t: (np.array(a, np.int32), np.array(b, np.float32)) for t, (a, b) in c_post.items()
        },
        n_question_docs=len(q_terms),
        unseen_idf=math.log(1.0 + (n + 0.5) / 0.5),
    )


def search(index: Index, analyzer: Analyzer, text: str, k: int = 5) -> list[Candidate]:
    """The ``k`` best entries for ``text``, best first."""
    if index.size == 0:
        return []
    # Words the index has never seen still weigh in the query's length (as the rarest
    # terms): otherwise "明星官宣恋情" would be judged by its one known word, 哪个, alone.
    query = _vector(analyzer.terms(text), index.idf, index.unseen_idf)
    if not query:
        return []
    q_scores = np.zeros(index.n_question_docs, dtype=np.float32)
    c_scores = np.zeros(index.size, dtype=np.float32)
    for term, weight in query.items():
        posting = index.q_postings.get(term)
        if posting is not None:
            q_scores[posting[0]] += posting[1] * weight
        posting = index.c_postings.get(term)
        if posting is not None:
            c_scores[posting[0]] += posting[1] * weight
    best_q = np.zeros(index.size, dtype=np.float32)
    if index.n_question_docs:
        has_docs = np.diff(np.append(index.entry_starts, index.n_question_docs)) > 0
        reduced = np.maximum.reduceat(q_scores, index.entry_starts[has_docs])
        best_q[has_docs] = reduced
    scores = QUESTION_WEIGHT * best_q + (1.0 - QUESTION_WEIGHT) * c_scores
    k = min(k, index.size)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [Candidate(index.topics[i], float(scores[i])) for i in top if scores[i] > 0]


def unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)
