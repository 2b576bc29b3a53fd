"""The intent classifier: TF-IDF over character n-grams and jieba words, logistic regression.

Trained on the examples we write (``knowledge/intents/<intent>.txt``), never on the
evaluation sets. Training takes a fraction of a second, so each process fits its own model
on first use instead of sharing a pickled artefact.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.nlu import Parse, normalise
from bot.retrieval import Analyzer

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "knowledge" / "intents"
LABELS = (
    "policy_question",
    "training_list",
    "training_register",
    "training_mine",
    "training_cancel",
    "mediation_apply",
    "appeal_submit",
    "case_status",
    "member_bind",
    "human_agent",
    "help",
    "greeting",
    "cancel",
    "out_of_scope",
)


def read_examples(directory: Path = EXAMPLES_DIR) -> list[tuple[str, str]]:
    rows = []
    for path in sorted(directory.glob("*.txt")):
        label = path.stem
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append((line, label))
    return rows


class _Words:
    """A picklable tokenizer callable: jieba words (search mode) after synonym folding."""

    def __init__(self) -> None:
        self.analyzer: Analyzer | None = None

    def __call__(self, text: str) -> list[str]:
        assert self.analyzer is not None
        terms = self.analyzer.query_terms(text, normalised=True)
        return [t[2:] for t in terms if t.startswith("w:")]

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.analyzer = None


# Fitted models by (analyzer, examples), so apps created in one process (tests, CLI) share.
_fitted: dict[tuple[int, int], tuple[Any, Any, Any, list[str]]] = {}


class IntentModel:
    """Fitted with scikit-learn (about 0.2 s), scored with plain numpy (tens of µs).

    A linear SVM measured best on our examples (see ``flask nlu eval``); its decision values
    go through a softmax to give a confidence. Scoring re-uses the fitted vectorizers'
    analyzers, vocabularies and IDF weights but skips scikit-learn's per-call validation,
    which alone costs about 2 ms.
    """

    TEMPERATURE = 4.0

    def __init__(self, analyzer: Analyzer | Callable[[], Analyzer]) -> None:
        # A factory is accepted so the app factory stays free of jieba's 1.5 s start-up.
        self._analyzer = analyzer
        self._ready = False
        self._lock = threading.Lock()
        self.classes: list[str] = []
        self._parts: list[tuple[Any, dict[str, int], Any, int]] = []
        self._coef: Any = None
        self._intercept: Any = None

    @property
    def analyzer(self) -> Analyzer:
        if not isinstance(self._analyzer, Analyzer):
            self._analyzer = self._analyzer()
        return self._analyzer

    def fit(self, rows: list[tuple[str, str]]) -> None:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion
        from sklearn.svm import LinearSVC

        words = _Words()
        words.analyzer = self.analyzer
        union = FeatureUnion(
            [
                ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
                (
                    "words",
                    TfidfVectorizer(
                        tokenizer=words,
                        lowercase=False,
                        token_pattern=None,
                        ngram_range=(1, 2),
                        sublinear_tf=True,
                    ),
                ),
            ]
        )
        texts = [normalise(t) for t, _ in rows]
        features = union.fit_transform(texts)
        svm = LinearSVC(C=0.5)
        svm.fit(features, [label for _, label in rows])
        offset = 0
        parts = []
        for _, vectorizer in union.transformer_list:
            size = len(vectorizer.vocabulary_)
            parts.append(
                (vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset)
            )
            offset += size
        self._parts = parts
        self._coef = np.ascontiguousarray(svm.coef_.T)  # features × classes: gather rows
        self._intercept = svm.intercept_
        self.classes = [str(c) for c in svm.classes_]

    def ensure_ready(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            rows = read_examples()
            key = (id(self.analyzer), hash(tuple(rows)))
            fitted = _fitted.get(key)
            if fitted is None:
                self.fit(rows)
                _fitted[key] = (self._parts, self._coef, self._intercept, self.classes)
            else:
                self._parts, self._coef, self._intercept, self.classes = fitted
            self._ready = True

    def scores(self, normalised_text: str) -> Any:
        import numpy as np

        self.ensure_ready()
        total = self._intercept.copy()
        for analyze, vocabulary, idf, offset in self._parts:
            counts: dict[int, int] = {}
            for gram in analyze(normalised_text):
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            values = (1.0 + np.log(tf)) * idf[idx]
            values /= np.linalg.norm(values) or 1.0
            total += values @ self._coef[idx + offset]
        return total

    def probabilities(self, normalised_text: str) -> dict[str, float]:
        return dict(self._probabilities(normalised_text[:1000]))

    @functools.lru_cache(maxsize=2048)  # noqa: B019 - one model per process, kept for its life
    def _probabilities(self, normalised_text: str) -> tuple[tuple[str, float], ...]:
        import numpy as np

        raw = self.scores(normalised_text) * self.TEMPERATURE
        exp = np.exp(raw - raw.max())
        probs = exp / exp.sum()
        return tuple(zip(self.classes, (float(p) for p in probs), strict=True))

    def classify(self, normalised_text: str) -> tuple[str, float]:
        probs = self.probabilities(normalised_text)
        label = max(probs, key=probs.__getitem__)
        return label, probs[label]


class ClassifierNLU:
    """Understanding: the classifier plus entities (``bot.entities``)."""

    def __init__(self, model: IntentModel, extract: Any = None) -> None:
        self.model = model
        self.extract = extract

    def parse(self, text: str) -> Parse:
        norm = normalise(text)
        if not norm:
            return Parse("out_of_scope", 1.0, {})
        label, confidence = self.model.classify(norm)
        entities = self.extract(text) if self.extract else {}
        return Parse(label, confidence, entities)
