"""The intent classifier: TF-IDF over character n-grams and jieba words, a linear SVM.

Trained on the examples we write (``knowledge/intents/<intent>.txt``), never on the
evaluation sets. Which intents it learns is not listed here: the factory hands it the
registry's labels (every intent declared ``classified``), and a test checks that each
label has an examples file and each examples file an intent.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.nlu.normalise import Parse, normalise
from bot.nlu.segment import Analyzer, shared_analyzer
from bot.paths import KNOWLEDGE_DIR, ROOT

log = logging.getLogger(__name__)

EXAMPLES_DIR = KNOWLEDGE_DIR / "intents"


def example_labels(directory: Path = EXAMPLES_DIR) -> list[str]:
    """The labels that have an examples file, ``knowledge/intents/<label>.txt``."""
    return sorted(path.stem for path in directory.glob("*.txt"))


def read_examples(
    directory: Path = EXAMPLES_DIR, labels: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """``(text, label)`` for every example, by file and line; only ``labels`` when given."""
    wanted = None if labels is None else set(labels)
    rows = []
    for path in sorted(directory.glob("*.txt")):
        label = path.stem
        if wanted is not None and label not in wanted:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append((line, label))
    return rows


# Loaded weights by cache file, so apps created in one process (tests, CLI) share them.
_fitted: dict[str, dict[str, Any]] = {}


_WHITESPACE = re.compile(r"\s\s+")
# Bump when the features change, so cached fits from older code are not loaded.
FEATURES_VERSION = 3


def char_grams(text: str) -> list[str]:
    """Character 1–3-grams, exactly as scikit-learn's ``analyzer="char"`` makes them."""
    text = _WHITESPACE.sub(" ", text.lower())
    grams = list(text)
    for n in (2, 3):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


def word_grams(words: list[str]) -> list[str]:
    """Word 1–2-grams joined by a space, as scikit-learn's ``ngram_range=(1, 2)`` does."""
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class IntentModel:
    """A linear SVM over character n-grams and jieba words, scored with numpy.

    Fitting needs scikit-learn, which costs a web worker about 80 MB just to import; so the
    fit runs once in a short-lived subprocess (``python -m bot.nlu.classifier fit PATH``) and
    leaves its weights in ``instance/`` under a hash of the examples and word lists. Every
    process loads those arrays and scores a message in tens of microseconds. The SVM's
    decision values go through a softmax to give a confidence.
    """

    TEMPERATURE = 4.0

    def __init__(
        self,
        analyzer: Analyzer | Callable[[], Analyzer],
        cache_dir: str | Path | None = None,
        *,
        labels: Iterable[str] | None = None,
    ) -> None:
        # A factory is accepted so the app factory stays free of jieba's 1.5 s start-up.
        self._analyzer = analyzer
        self.cache_dir = Path(cache_dir) if cache_dir else ROOT / "instance"
        # What to learn (the registry's labels); None learns every examples file.
        self.labels: tuple[str, ...] | None = None if labels is None else tuple(labels)
        self._ready = False
        self._lock = threading.Lock()
        self.classes: list[str] = []
        self._vocab: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._idf: tuple[Any, Any] = (None, None)
        self._coef: Any = None
        self._intercept: Any = None

    @property
    def analyzer(self) -> Analyzer:
        if not isinstance(self._analyzer, Analyzer):
            self._analyzer = self._analyzer()
        return self._analyzer

    def words(self, normalised_text: str) -> list[str]:
        terms = self.analyzer.query_terms(normalised_text, normalised=True)
        return [t[2:] for t in terms if t.startswith("w:")]

    # -- fitting (in the subprocess) ----------------------------------------------------
    def fit_arrays(self, rows: list[tuple[str, str]]) -> dict[str, Any]:
        import numpy as np
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        texts = [normalise(t) for t, _ in rows]
        chars = TfidfVectorizer(analyzer=char_grams, sublinear_tf=True)
        words = TfidfVectorizer(analyzer=lambda t: word_grams(self.words(t)), sublinear_tf=True)
        features = hstack([chars.fit_transform(texts), words.fit_transform(texts)]).tocsr()
        svm = LinearSVC(C=0.5, random_state=0)  # liblinear shuffles: fix it, fits repeat
        svm.fit(features, [label for _, label in rows])
        return {
            "char_vocab": np.array(sorted(chars.vocabulary_, key=chars.vocabulary_.get)),
            "word_vocab": np.array(sorted(words.vocabulary_, key=words.vocabulary_.get)),
            "char_idf": chars.idf_,
            "word_idf": words.idf_,
            "coef": np.ascontiguousarray(svm.coef_.T),  # features × classes: gather rows
            "intercept": svm.intercept_,
            "classes": np.array([str(c) for c in svm.classes_]),
        }

    def _cache_path(self, rows: list[tuple[str, str]]) -> Path:
        digest = hashlib.sha256()
        digest.update(repr((FEATURES_VERSION, rows)).encode())
        for name in ("userdict.txt", "synonyms.txt"):
            path = ROOT / "knowledge" / name
            digest.update(path.read_bytes() if path.exists() else b"")
        return self.cache_dir / f"intent-model-{digest.hexdigest()[:16]}.npz"

    def ensure_ready(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            rows = read_examples(labels=self.labels)
            missing = set(self.labels or ()) - {label for _, label in rows}
            if missing:
                # The registry test fails on this too; at run time the intent is just
                # never predicted (reached by its commands or menu keys only).
                log.warning("classified intents without examples: %s", ", ".join(sorted(missing)))
            path = self._cache_path(rows)
            arrays = _fitted.get(str(path))
            if arrays is None:
                if not path.exists():
                    _fit_in_subprocess(path, self.labels)
                arrays = _load(path)
                _fitted[str(path)] = arrays
            self._use(arrays)
            self._ready = True

    def _use(self, arrays: dict[str, Any]) -> None:
        self._vocab = (
            {str(g): k for k, g in enumerate(arrays["char_vocab"].tolist())},
            {str(g): k for k, g in enumerate(arrays["word_vocab"].tolist())},
        )
        self._idf = (arrays["char_idf"], arrays["word_idf"])
        self._coef = arrays["coef"]
        self._intercept = arrays["intercept"]
        self.classes = [str(c) for c in arrays["classes"].tolist()]

    # -- scoring --------------------------------------------------------------------------
    def scores(self, normalised_text: str) -> Any:
        import numpy as np

        self.ensure_ready()
        total = self._intercept.copy()
        offset = 0
        grams = (char_grams(normalised_text), word_grams(self.words(normalised_text)))
        for part, vocabulary, idf in zip(grams, self._vocab, self._idf, strict=True):
            counts: dict[int, int] = {}
            for gram in part:
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if counts:
                idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                values = (1.0 + np.log(tf)) * idf[idx]
                values /= np.linalg.norm(values) or 1.0
                total += values @ self._coef[idx + offset]
            offset += len(vocabulary)
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


def _fit_in_subprocess(path: Path, labels: tuple[str, ...] | None = None) -> None:
    """Fit in a child process (one at a time per machine, via a lock file), atomically."""
    import fcntl
    import subprocess
    import sys

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several workers warming up at once fit once
        if path.exists():
            return
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.nlu.classifier", "fit", str(path), *(labels or ())],
            cwd=ROOT,
            check=True,
        )
        log.info("intent model fitted in %.1f s", time.perf_counter() - started)


def _load(path: Path) -> dict[str, Any]:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


class ClassifierNLU:
    """Understanding: the classifier plus entities (``bot.nlu.entities``)."""

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


def main(argv: list[str]) -> int:
    """``python -m bot.nlu.classifier fit PATH [LABEL ...]``: fit on knowledge/intents (only
    the given labels' files, when any are given) and save the weights."""
    import numpy as np

    if len(argv) < 2 or argv[0] != "fit":
        print("usage: python -m bot.nlu.classifier fit PATH [LABEL ...]")  # noqa: T201 - CLI
        return 2
    target = Path(argv[1])
    model = IntentModel(
        shared_analyzer(KNOWLEDGE_DIR / "userdict.txt", KNOWLEDGE_DIR / "synonyms.txt")
    )
    arrays = model.fit_arrays(read_examples(labels=argv[2:] or None))
    tmp = target.with_name(target.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(target)  # atomic: a reader never sees half a file
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
