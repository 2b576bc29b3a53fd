"""Retrieval for Chinese policy questions: an inverted index over entries, and its scoring.

Text is cut into terms by the shared segmenter (``bot.nlu.segment``). Each entry is indexed
as several documents: every standard question, paraphrase and the title ("question
documents"), one "keyword document" (the words of its keywords and title) and one "content
document" (keywords, title and answer). Terms are jieba words in search mode (with the
domain dictionary) and character bigrams, with synonyms folded to one canonical word.
Weights are sublinear TF-IDF, vectors are unit length, so a score is a cosine in [0, 1]. An
entry scores ``QUESTION_WEIGHT × best question cosine + KEYWORD_WEIGHT × keyword cosine +
the rest × content cosine``: questions rank above answer text, and a member's bare term
("社责报告" folded to 社会责任报告) finds the entry that names it, which a long answer
would dilute. Postings are numpy arrays; a query touches only its terms' postings.
"""

from __future__ import annotations

import bisect
import functools
import math
import multiprocessing as mp
import os
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.nlu.segment import Analyzer

QUESTION_WEIGHT = 0.7
KEYWORD_WEIGHT = 0.15
# From this many entries, index builds segment text in parallel processes.
PARALLEL_FROM = 2000
# From this many entries, the commonest terms are left out of scoring (see search()).
LARGE_BASE = 1000


@dataclass
class Candidate:
    topic: str
    score: float


@dataclass
class Postings:
    """Compressed postings: for term ``t`` (by position in ``terms``), documents
    ``docs[offsets[t]:offsets[t + 1]]`` with weights ``weights[...]``."""

    offsets: np.ndarray
    docs: np.ndarray
    weights: np.ndarray

    @classmethod
    def build(
        cls, term_ids: np.ndarray, docs: np.ndarray, weights: np.ndarray, n_terms: int
    ) -> Postings:
        order = np.argsort(term_ids, kind="stable")
        counts = np.bincount(term_ids, minlength=n_terms)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, docs[order].astype(np.int32), weights[order].astype(np.float32))

    @functools.cached_property
    def views(self) -> tuple[memoryview, memoryview, memoryview]:
        """The arrays as memoryviews: reading one item gives a plain Python number, several
        times cheaper than a numpy scalar when a query reads a few hundred of them."""
        return self.offsets.data, self.docs.data, self.weights.data

    def add_into(self, scores: np.ndarray, term: int, weight: float) -> None:
        start, end = self.offsets[term], self.offsets[term + 1]
        if end > start:
            scores[self.docs[start:end]] += self.weights[start:end] * weight


@dataclass
class Index:
    """The searchable form of a knowledge base.

    Terms are kept as 64-bit hashes in a sorted array (``np.searchsorted`` finds them), not
    as a dict of strings: a 10,000-entry base has about a million distinct terms, and the
    strings alone would cost more memory than the whole index.
    """

    topics: list[str]
    entry_starts: np.ndarray  # first question-document row of each entry
    has_docs: np.ndarray  # entries with at least one question document
    terms: np.ndarray  # sorted term hashes
    idf: np.ndarray
    questions: Postings
    contents: Postings
    keywords: Postings
    n_question_docs: int
    unseen_idf: float = 0.0
    common_idf: float = 0.0  # the IDF of a term in a quarter of the entries

    @property
    def size(self) -> int:
        return len(self.topics)

    def lookup(self, keys: list[int]) -> np.ndarray:
        """Positions of the given term hashes in ``terms`` (-1 where absent)."""
        wanted = np.array(keys, dtype=np.int64)
        pos = np.searchsorted(self.terms, wanted)
        pos[pos >= len(self.terms)] = 0
        found = self.terms[pos] == wanted if len(self.terms) else np.zeros(len(keys), bool)
        return np.where(found, pos, -1)


def _analyse(
    analyzer: Analyzer, entries: Sequence[tuple[str, Sequence[str], str, str]], first: int
) -> tuple[array[Any], ...]:
    """Flat (document, term hash, count) triples for question, content and keyword documents,
    and the entry of each question document."""
    q_doc, q_term, q_count = array("q"), array("q"), array("d")
    c_doc, c_term, c_count = array("q"), array("q"), array("d")
    k_doc, k_term, k_count = array("q"), array("q"), array("d")
    q_entry = array("q")
    row = 0
    for offset, (_, questions, head, body) in enumerate(entries):
        entry = first + offset
        for question in questions:
            counts = analyzer.terms(question)
            if not counts:
                continue
            q_doc.extend([row] * len(counts))
            q_term.extend(map(hash, counts))
            q_count.extend(counts.values())
            q_entry.append(entry)
            row += 1
        counts = analyzer.terms(head)
        # Presence, not frequency: an entry whose keywords repeat a word in variants
        # (四好商会申报, 四好商会认定) does not own that word more than its neighbour.
        head_words = {t: 1.0 for t in counts if t.startswith("w:")}
        k_doc.extend([entry] * len(head_words))
        k_term.extend(map(hash, head_words))
        k_count.extend(head_words.values())
        for term, weight in analyzer.terms(body, words=False).items():
            counts[term] = counts.get(term, 0.0) + weight
        c_doc.extend([entry] * len(counts))
        c_term.extend(map(hash, counts))
        c_count.extend(counts.values())
    return q_doc, q_term, q_count, c_doc, c_term, c_count, q_entry, k_doc, k_term, k_count


_worker_analyzer: Analyzer | None = None


def _analyse_chunk(args: tuple[Sequence[tuple[str, Sequence[str], str, str]], int]) -> Any:
    assert _worker_analyzer is not None
    return _analyse(_worker_analyzer, *args)


def build_index(
    analyzer: Analyzer,
    entries: Sequence[tuple[str, Sequence[str], str, str]],
    *,
    processes: int | None = None,
) -> Index:
    """Index ``(topic, questions, head, body)``: questions include the title and paraphrases;
    the content document is ``head`` (keywords, title) in words and bigrams plus ``body``
    (the answer) in bigrams.

    Segmenting is the slow part; a large base (``PARALLEL_FROM`` entries and up) is segmented
    in forked processes, one per core. Everything after that is numpy on flat arrays.
    """
    topics = [entry[0] for entry in entries]
    n = len(entries)
    workers = processes if processes is not None else (os.cpu_count() or 1)
    if n >= PARALLEL_FROM and workers > 1 and "fork" in mp.get_all_start_methods():
        global _worker_analyzer
        _worker_analyzer = analyzer
        size = -(-n // workers)
        chunks = [(entries[k : k + size], k) for k in range(0, n, size)]
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_analyse_chunk, chunks)
        _worker_analyzer = None
    else:
        parts = [_analyse(analyzer, entries, 0)]
    # Stitch the chunks: question rows are numbered per chunk, so shift them.
    q_doc_parts, shift = [], 0
    for part in parts:
        q_doc_parts.append(np.frombuffer(part[0], dtype=np.int64) + shift)
        shift += len(part[6])

    def cat(k: int, dtype: Any) -> np.ndarray:
        arrays = [np.frombuffer(part[k], dtype=dtype) for part in parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

    q_doc = np.concatenate(q_doc_parts) if q_doc_parts else np.zeros(0, np.int64)
    q_hash, q_count = cat(1, np.int64), cat(2, np.float64)
    c_doc, c_hash, c_count = cat(3, np.int64), cat(4, np.int64), cat(5, np.float64)
    q_entry = cat(6, np.int64)
    k_doc, k_hash, k_count = cat(7, np.int64), cat(8, np.int64), cat(9, np.float64)
    del q_doc_parts

    terms, inverse = np.unique(np.concatenate([q_hash, c_hash]), return_inverse=True)
    q_tid, c_tid = inverse[: len(q_hash)], inverse[len(q_hash) :]
    k_tid = np.searchsorted(terms, k_hash)  # every keyword word is in its content document
    n_terms = len(terms)
    # Document frequency over entries (not documents), so many paraphrases are no bias.
    pairs = np.sort(np.concatenate([q_tid * max(1, n) + q_entry[q_doc], c_tid * max(1, n) + c_doc]))
    # Distinct (term, entry) pairs by sort-and-compare: numpy's hash-based unique is
    # several times slower on millions of 64-bit keys.
    if len(pairs):
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    df = np.bincount(pairs // max(1, n), minlength=n_terms).astype(np.float64)
    idf = np.log1p((max(1, n) - df + 0.5) / (df + 0.5))

    def postings(docs: np.ndarray, tids: np.ndarray, counts: np.ndarray, n_docs: int) -> Postings:
        weights = (1.0 + np.log(counts)) * idf[tids]
        norms = np.sqrt(np.bincount(docs, weights=weights * weights, minlength=n_docs))
        weights = weights / np.where(norms > 0, norms, 1.0)[docs]
        keep = weights > 0
        return Postings.build(tids[keep], docs[keep], weights[keep], n_terms)

    n_question_docs = len(q_entry)
    starts = np.searchsorted(q_entry, np.arange(n)).astype(np.int64)
    ends = np.append(starts[1:], n_question_docs)
    index = Index(
        topics=topics,
        entry_starts=starts,
        has_docs=ends > starts,
        terms=terms.astype(np.int64),
        idf=idf.astype(np.float32),
        questions=postings(q_doc, q_tid, q_count, n_question_docs),
        contents=postings(c_doc, c_tid, c_count, n),
        keywords=postings(k_doc, k_tid, k_count, n),
        n_question_docs=n_question_docs,
        unseen_idf=math.log(1.0 + (max(1, n) + 0.5) / 0.5),
        common_idf=math.log(1.0 + (0.75 * max(1, n) + 0.5) / (0.25 * max(1, n) + 0.5)),
    )
    _release_freed_memory()
    return index


def cap_mmap_threshold(limit: int = 1 << 20) -> None:
    """Have glibc serve every allocation of ``limit`` bytes or more with its own mapping,
    returned to the OS when freed.

    By default glibc raises that threshold each time such a block is freed, up to 32 MB:
    after an index build has freed its tens of megabytes of numpy scratch arrays, blocks of
    up to that size come from the heap, where they stay mapped after use. Fixed at 1 MB, a
    10,000-entry worker holds 240 MB instead of 300 MB; arrays a query allocates (a few
    hundred kB) still come from the reused heap. A no-op where there is no glibc.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, limit)


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def _glibc() -> Any:
    """glibc's handle, or None on a C library without ``mallopt``/``malloc_trim``."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def _release_freed_memory() -> None:
    """Hand the build's freed scratch memory back to the OS (glibc keeps it otherwise).

    A 10,000-entry build frees ~100 MB of small objects that malloc would keep mapped in
    every gunicorn worker; ``malloc_trim`` returns it. A no-op where there is no glibc.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def search(index: Index, analyzer: Analyzer, text: str, k: int = 5) -> list[Candidate]:
    """The ``k`` best entries for ``text``, best first."""
    if index.size == 0:
        return []
    return search_terms(index, analyzer.query_terms(text), k).candidates


@dataclass
class Ranked:
    """The best entries for a query, with what the decision reads about the match.

    ``weights`` is the query's unit vector over ``terms`` (unseen terms included, so a
    message of unknown words scores low); ``positions`` are the terms' rows in the index
    (-1 when unseen). Per candidate: its entry row, best question cosine, content cosine and
    best question document (and keyword cosine).
    """

    candidates: list[Candidate]
    terms: list[str]
    positions: np.ndarray
    weights: np.ndarray
    entries: list[int]
    best_question: list[float]
    content: list[float]
    keyword: list[float]
    best_doc: list[int]

    @property
    def known_share(self) -> float:
        """The share of the query's weight (squared) in terms the index knows."""
        known = self.positions >= 0
        return float((self.weights[known] ** 2).sum()) if len(self.weights) else 0.0


EMPTY = Ranked([], [], np.zeros(0, np.int64), np.zeros(0), [], [], [], [], [])


def search_terms(index: Index, counts: dict[str, float], k: int = 5) -> Ranked:
    """The ``k`` best entries for weighted query terms (``Analyzer.terms`` or a blend)."""
    if index.size == 0 or not counts:
        return EMPTY
    terms = list(counts)
    positions = index.lookup([hash(t) for t in terms])
    # Words the index has never seen still weigh in the query's length (as the rarest
    # terms): otherwise "明星官宣恋情" would be judged by its one known word, 哪个, alone.
    # Sublinear term frequency; a blended-in weight under 1/e (none is) would count as zero.
    weights = np.array(
        [max(0.0, 1.0 + math.log(c)) for c in counts.values()], dtype=np.float64
    ) * np.where(positions >= 0, index.idf[np.maximum(positions, 0)], index.unseen_idf)
    norm = float(np.sqrt((weights * weights).sum())) or 1.0
    weights = weights / norm
    q_scores = np.zeros(index.n_question_docs, dtype=np.float32)
    c_scores = np.zeros(index.size, dtype=np.float32)
    k_scores = np.zeros(index.size, dtype=np.float32)
    # In a large base the commonest terms (in over a quarter of the entries) have the longest
    # postings and the smallest weights: skip them when scoring; they still count in the
    # query's length above, so scores stay comparable.
    floor = index.common_idf if index.size >= LARGE_BASE else -1.0
    for pos, weight in zip(positions.tolist(), weights.tolist(), strict=True):
        if pos < 0 or weight <= 0 or index.idf[pos] < floor:
            continue
        index.questions.add_into(q_scores, pos, weight)
        index.contents.add_into(c_scores, pos, weight)
        index.keywords.add_into(k_scores, pos, weight)
    best_q = np.zeros(index.size, dtype=np.float32)
    if index.n_question_docs:
        best_q[index.has_docs] = np.maximum.reduceat(q_scores, index.entry_starts[index.has_docs])
    scores = (
        QUESTION_WEIGHT * best_q
        + KEYWORD_WEIGHT * k_scores
        + (1.0 - QUESTION_WEIGHT - KEYWORD_WEIGHT) * c_scores
    )
    k = min(k, index.size)
    best = np.argpartition(-scores, k - 1)[:k]
    top = [int(i) for i in best[np.argsort(-scores[best], kind="stable")] if scores[i] > 0]
    best_doc = []
    for i in top:
        if not index.has_docs[i]:
            best_doc.append(-1)
            continue
        start = int(index.entry_starts[i])
        end = int(index.entry_starts[i + 1]) if i + 1 < index.size else index.n_question_docs
        best_doc.append(start + int(np.argmax(q_scores[start:end])))
    return Ranked(
        candidates=[Candidate(index.topics[i], float(scores[i])) for i in top],
        terms=terms,
        positions=positions,
        weights=weights,
        entries=top,
        best_question=[float(best_q[i]) for i in top],
        content=[float(c_scores[i]) for i in top],
        keyword=[float(k_scores[i]) for i in top],
        best_doc=best_doc,
    )


@dataclass
class Coverage:
    """How much of a query one candidate matches, as shares of the query's weight."""

    question: float  # in its best question document
    content: float  # in its content document
    either: float
    words: float  # share of the query's words (not bigrams) found in either
    document: float  # share of the best question document's own weight the query has
    rarest: float  # IDF of the rarest query word it has, over the IDF of an unseen word


NO_COVERAGE = Coverage(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def coverage(index: Index, ranked: Ranked, j: int) -> Coverage:
    """What candidate ``j`` of ``ranked`` has of the query's terms.

    Each term's postings list its documents in ascending order, so whether the candidate's
    best question and its content document hold a term is a binary search per term, only
    for the candidates asked about.
    """
    if j >= len(ranked.entries):
        return NO_COVERAGE
    entry, doc = ranked.entries[j], ranked.best_doc[j]
    known = ranked.positions >= 0
    terms = ranked.positions[known]
    mass = ranked.weights[known] ** 2
    is_word = np.array([t.startswith("w:") for t in ranked.terms], dtype=bool)
    words = int(is_word.sum())
    if not len(terms):
        return NO_COVERAGE
    in_doc = _weights_at(index.questions, terms, doc) if doc >= 0 else np.zeros(len(terms))
    hit_q = in_doc > 0
    hit_c = _weights_at(index.contents, terms, entry) > 0
    hit = hit_q | hit_c
    found = hit & is_word[known]
    rarest = float(index.idf[terms[found]].max()) if found.any() else 0.0
    return Coverage(
        question=float(mass[hit_q].sum()),
        content=float(mass[hit_c].sum()),
        either=float(mass[hit].sum()),
        words=int(found.sum()) / words if words else 0.0,
        document=float((in_doc * in_doc).sum()),
        rarest=rarest / (index.unseen_idf or 1.0),
    )


def _weights_at(postings: Postings, terms: np.ndarray, doc: int) -> np.ndarray:
    """The weight of each of ``terms`` in document ``doc`` (0 where absent).

    A binary search per term (``bisect`` on memoryviews: for a few dozen terms it is cheaper
    than numpy's vectorised calls, each of which costs microseconds of overhead).
    """
    offsets, docs, weights = postings.views
    out = np.zeros(len(terms), dtype=np.float64)
    for k, term in enumerate(terms.tolist()):
        start, end = offsets[term], offsets[term + 1]
        at = bisect.bisect_left(docs, doc, start, end)
        if at < end and docs[at] == doc:
            out[k] = weights[at]
    return out


def unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)
