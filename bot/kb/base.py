"""The live knowledge base: the index of the active entries, and the band of an answer.

Every process keeps an index built from the database and rebuilds it in a background thread
when the version number in Redis (``bot:kb:version``, bumped by whoever edits entries) moves,
so an edit is answered everywhere within about a second. :meth:`KnowledgeBase.decide` turns
a question into a :class:`Decision`; ``bot.kb.answers`` turns that into what a member reads.

A decision is: prepare the message (``bot.kb.query``: the question of a long account,
synonyms, typos), search, measure the match (``bot.kb.calibration``: score, margin,
coverage, the intent model's vote …) and read the band off the fitted model
(``knowledge/kb_decision.json``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask
from jinja2.sandbox import SandboxedEnvironment

from bot.kb.calibration import Calibration, feature_vector, load_calibration
from bot.kb.entries import VERSION_KEY, EntryData, load_active
from bot.kb.index import Candidate, Index, Ranked, build_index, coverage, search_terms
from bot.kb.query import Query, prepare
from bot.kb.speller import Speller, vocabulary_file_words
from bot.nlu.normalise import normalise
from bot.nlu.segment import Analyzer, shared_analyzer
from bot.paths import KNOWLEDGE_DIR

log = logging.getLogger(__name__)

# Only without a fitted model (knowledge/kb_decision.json missing or for other features):
# the former hand-set bands on the score, so a fresh checkout still answers.
ANSWER_SCORE = 0.32
SURE_SCORE = 0.55
ANSWER_MARGIN = 0.05
CHOICE_SCORE = 0.20
OUT_OF_SCOPE_PROBABILITY = 0.5
# Staff-written answers are templates for org.* only; the sandbox blocks attribute tricks.
_SANDBOX = SandboxedEnvironment(autoescape=False)

# The last index built in this process, by content: apps created one after another in one
# process (tests, CLI) with the same entries share it instead of re-segmenting everything.
_built: dict[tuple[int, int], tuple[Index, Speller]] = {}


@dataclass
class Decision:
    band: str  # answer | choices | none
    topic: str | None
    score: float  # the first candidate's score (a cosine)
    candidates: list[Candidate] = field(default_factory=list)
    p_answer: float = 0.0  # P(the first candidate is right), by the fitted model
    p_choices: float = 0.0  # P(the right entry is among the first three)
    features: tuple[float, ...] = ()  # what the model read (bot.kb.calibration.FEATURES)


class KnowledgeBase:
    """The index of the live entries, rebuilt in the background when the version moves."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._analyzer: Analyzer | None = None
        self._index: Index | None = None
        self._speller: Speller | None = None
        self.calibration: Calibration | None = load_calibration()
        self._entries: dict[str, EntryData] = {}
        self._compiled: dict[str, Any] = {}
        self._rendered: dict[str, str] = {}
        # Rendered answers by (topic, with a detail link), for bot.kb.answers; reset with the index.
        self.reply_cache: dict[tuple[str, bool], str] = {}
        self.version = -1
        self._lock = threading.RLock()
        self._watcher: threading.Thread | None = None
        self.intent_model: Any = None  # set by the factory; used to spot chit-chat
        # Popular questions are asked again and again; keyed by the index they came from.
        self._decisions: dict[tuple[int, str, int], Decision] = {}
        self._stop = threading.Event()

    # loading
    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    self._analyzer = shared_analyzer(
                        KNOWLEDGE_DIR / "userdict.txt", KNOWLEDGE_DIR / "synonyms.txt"
                    )
        return self._analyzer

    def ensure_loaded(self) -> None:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._reload(self._remote_version())
            self._start_watcher()

    def _remote_version(self) -> int:
        try:
            return int(self.app.extensions["redis"].get(VERSION_KEY) or 0)
        except Exception:
            return self.version if self.version >= 0 else 0

    def _reload(self, version: int) -> None:
        from bot.extensions import db

        started = time.perf_counter()
        with self.app.app_context():
            entries = load_active(db.session)
            db.session.remove()
        self.rebuild(entries)
        self.version = version
        log.info(
            "knowledge base v%s: %d entries indexed in %.0f ms",
            version,
            len(entries),
            (time.perf_counter() - started) * 1000,
        )

    def rebuild(self, entries: list[EntryData]) -> None:
        """Index ``entries`` and swap them in (readers keep the old index until then)."""
        today = date.today()
        live = [e for e in entries if e.is_valid(today)]
        docs = [(e.topic, e.questions, " ".join([*e.keywords, e.title]), e.answer) for e in live]
        key = (id(self.analyzer), hash(tuple((t, tuple(q), h, b) for t, q, h, b in docs)))
        built = _built.get(key)
        if built is None:
            built = build_index(self.analyzer, docs), self._build_speller(live)
            _built.clear()  # keep one: a process serves one knowledge base at a time
            _built[key] = built
        index, speller = built
        self._entries, self._index, self._compiled = {e.topic: e for e in live}, index, {}
        self._speller = speller
        self._decisions = {}
        self._rendered = {}
        self.reply_cache = {}

    def forget_decisions(self) -> None:
        """Empty the cache of recent decisions (benchmarks measure the uncached path)."""
        self._decisions = {}

    def use_calibration(self, calibration: Calibration | None) -> None:
        """Decide with another fitted model (None: the hand-set fallback)."""
        with self._lock:
            self.calibration = calibration
            self._decisions = {}

    def _build_speller(self, entries: list[EntryData]) -> Speller:
        """The domain words a typo is corrected to: the dictionary and synonyms first, then
        the entries' keywords and the words of their titles."""
        analyzer = self.analyzer
        words = vocabulary_file_words(KNOWLEDGE_DIR / "userdict.txt")
        words += [*analyzer.canonical.values(), *analyzer.canonical]
        for entry in entries:
            words += [normalise(k) for k in entry.keywords]
        for entry in entries:
            words += analyzer.words(normalise(entry.title))
        return Speller(words, analyzer.is_word)

    def _start_watcher(self) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="kb-watch")
        self._watcher.start()

    def _watch(self) -> None:
        interval = float(self.app.config.get("KB_RELOAD_SECONDS", 0.5))
        while not self._stop.wait(interval):
            remote = self._remote_version()
            if remote != self.version:
                try:
                    self._reload(remote)
                except Exception:
                    log.exception("knowledge base reload failed; keeping the old index")

    def stop(self) -> None:
        self._stop.set()

    @property
    def index(self) -> Index | None:
        """The index in use (None before the first load)."""
        return self._index

    @property
    def size(self) -> int:
        return self._index.size if self._index else 0

    # answering
    def entry(self, topic: str) -> EntryData | None:
        self.ensure_loaded()
        return self._entries.get(topic)

    def decide(self, text: str, k: int = 5) -> Decision:
        self.ensure_loaded()
        index = self._index
        assert index is not None
        key = (id(index), text, k)
        hit = self._decisions.get(key)
        if hit is not None:
            return hit
        decision = self._decide(index, text, k)
        if len(self._decisions) > 4096:
            self._decisions.clear()
        self._decisions[key] = decision
        return decision

    def _decide(self, index: Index, text: str, k: int) -> Decision:
        query, ranked = self.search(index, text, k)
        candidates = ranked.candidates
        if not candidates:
            return Decision("none", None, 0.0, [])
        top = candidates[0].score
        features = feature_vector(
            query,
            ranked,
            coverage(index, ranked, 0),
            coverage(index, ranked, 1),
            self._votes(query.text),
        )
        calibration = self.calibration
        if calibration is None:
            return self._hand_set(query, candidates, features)
        p_answer = calibration.answer.probability(features)
        p_choices = calibration.choices.probability(features)
        band = calibration.band(p_answer, p_choices)
        topic = candidates[0].topic if band == "answer" else None
        return Decision(band, topic, top, candidates, p_answer, p_choices, features)

    def search(self, index: Index, text: str, k: int = 5) -> tuple[Query, Ranked]:
        """The prepared query and its ranked entries (no decision)."""
        query = prepare(self.analyzer, self._speller, index, text)
        return query, search_terms(index, query.terms, k)

    def _hand_set(
        self, query: Query, candidates: list[Candidate], features: tuple[float, ...]
    ) -> Decision:
        top = candidates[0].score
        second = candidates[1].score if len(candidates) > 1 else 0.0
        votes = self._votes(query.text) or {}
        if top < SURE_SCORE and votes.get("out_of_scope", 0.0) >= OUT_OF_SCOPE_PROBABILITY:
            band = "none"
        elif top >= SURE_SCORE or (top >= ANSWER_SCORE and top - second >= ANSWER_MARGIN):
            band = "answer"
        else:
            band = "choices" if top >= CHOICE_SCORE else "none"
        topic = candidates[0].topic if band == "answer" else None
        return Decision(band, topic, top, candidates, features=features)

    @staticmethod
    def render_text(text: str, org: Mapping[str, str]) -> str:
        return str(_SANDBOX.from_string(text).render(org=org))

    def _votes(self, normalised_text: str) -> dict[str, float] | None:
        """The intent model's probabilities for the question (None without a model).

        Word overlap alone cannot tell "汇率是多少" from "会费是多少"; the classifier, trained
        on what members ask and on everyday chit-chat, can: its vote is one of the features.
        """
        if self.intent_model is None or not normalised_text:
            return None
        probabilities: dict[str, float] = self.intent_model.probabilities(normalised_text)
        return probabilities

    def render_answer(self, topic: str, org: Mapping[str, str]) -> str:
        # The organisation's settings are fixed for an app, so one rendering per topic and
        # index (the cache is replaced with the index) serves every member.
        rendered = self._rendered.get(topic)
        if rendered is not None:
            return rendered
        entry = self.entry(topic)
        if entry is None:
            return ""
        template = self._compiled.get(topic)
        if template is None:
            template = _SANDBOX.from_string(entry.answer)
            self._compiled[topic] = template
        text = str(template.render(org=org))
        self._rendered[topic] = text
        return text
