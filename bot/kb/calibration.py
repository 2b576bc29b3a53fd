"""The decision, learned: how likely the first candidate is right, and the band that follows.

Two small logistic models read the same features of a search (:data:`FEATURES`): one gives
P(the first candidate is the right entry), the other P(the right entry is among the three
offered as choices). A member is answered directly when the first is likely enough, offered
numbered choices when the second is, and told "没有找到" only when neither is — nothing close.

The coefficients and both cut-offs are fitted, not set by hand: ``flask kb fit`` measures the
features of every question of ``knowledge/eval/tune.tsv`` (our own labelled questions, never
the development set), fits by cross-validation (``bot.kb.fitting``, scikit-learn, run from
the command line only) and writes ``knowledge/kb_decision.json`` with a hash of the data it
was fitted on. At run time scoring is a dot product in plain Python: web workers never import
scikit-learn or even numpy for it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.kb.index import Coverage, Ranked
from bot.kb.query import Query
from bot.paths import KNOWLEDGE_DIR

DECISION_FILE = KNOWLEDGE_DIR / "kb_decision.json"
TUNE_FILE = KNOWLEDGE_DIR / "eval" / "tune.tsv"
# Length tells a bare term (2-6 characters, often ambiguous) from a question and a question
# from a story; past a story's length it would only extrapolate (a long message is reduced to
# its question anyway), so it saturates here.
SHORT = 60
# Bump when a feature's meaning changes: the stored model then no longer matches.
FEATURES_VERSION = 7
FEATURES = (
    "top_score",  # the first candidate's score (a cosine)
    "margin",  # first minus second
    "closeness",  # -log(1 - second/first): grows sharply as the two tie
    "keyword",  # the first's keyword cosine (the words of its keywords and title)
    "keyword_margin",  # first's keyword cosine minus the second's
    "cover_either",  # share of the query's weight found in the first (questions or content)
    "cover_document",  # share of the first's best question matched by the query
    "second_cover",  # cover_either of the second candidate
    "rarest_match",  # how rare the rarest word the first has of the query is (IDF share)
    "known_share",  # share of the query's weight in terms the index knows (1 - OOV share)
    "log_length",  # log(1 + characters), capped at SHORT
    "policy_vote",  # the intent model's P(policy_question)
    "oos_vote",  # the intent model's P(out_of_scope)
    "corrected",  # a typo was corrected
)


def feature_vector(
    query: Query,
    ranked: Ranked,
    first: Coverage,
    second: Coverage,
    votes: Mapping[str, float] | None,
) -> tuple[float, ...]:
    """The features of one search, in :data:`FEATURES` order.

    Fewer, less collinear features fit better than many: the cosines of the first candidate
    (best question, content, keywords) move together, and the model then weighs their
    differences instead of the match.
    """
    scores = [c.score for c in ranked.candidates]
    top = scores[0] if scores else 0.0
    runner_up = scores[1] if len(scores) > 1 else 0.0
    ratio = runner_up / top if top > 0 else 0.0
    keyword = ranked.keyword[0] if ranked.keyword else 0.0
    keyword_2 = ranked.keyword[1] if len(ranked.keyword) > 1 else 0.0
    return (
        top,
        top - runner_up,
        -math.log(1.001 - min(1.0, ratio)),
        keyword,
        keyword - keyword_2,
        first.either,
        first.document,
        second.either,
        first.rarest,
        ranked.known_share,
        math.log1p(min(query.length, SHORT)),
        float(votes.get("policy_question", 0.0)) if votes is not None else 0.5,
        float(votes.get("out_of_scope", 0.0)) if votes is not None else 0.25,
        float(query.corrected),
    )


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic model over standardised features."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept
        for value, mean, scale, coef in zip(x, self.mean, self.scale, self.coef, strict=True):
            z += coef * (value - mean) / scale
        if z < -30:  # exp overflows far before a probability stops being 0 or 1
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Logistic:
        return cls(
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["scale"]),
            tuple(float(v) for v in data["coef"]),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class Calibration:
    """Both models and their cut-offs, as fitted by ``flask kb fit``."""

    answer: Logistic
    choices: Logistic
    answer_cut: float
    choices_cut: float
    data_hash: str = ""
    report: Mapping[str, Any] | None = None

    def band(self, p_answer: float, p_choices: float, answer_cut: float | None = None) -> str:
        """answer | choices | none for these probabilities (``answer_cut`` to try another)."""
        if p_answer >= (self.answer_cut if answer_cut is None else answer_cut):
            return "answer"
        return "choices" if p_choices >= self.choices_cut else "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "features_version": FEATURES_VERSION,
            "features": list(FEATURES),
            "data_hash": self.data_hash,
            "answer": self.answer.to_json(),
            "choices": self.choices.to_json(),
            "answer_cut": self.answer_cut,
            "choices_cut": self.choices_cut,
            "report": dict(self.report or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        if data.get("features_version") != FEATURES_VERSION or tuple(data["features"]) != FEATURES:
            raise ValueError("fitted for other features; run `flask kb fit`")
        return cls(
            Logistic.from_json(data["answer"]),
            Logistic.from_json(data["choices"]),
            float(data["answer_cut"]),
            float(data["choices_cut"]),
            str(data.get("data_hash", "")),
            data.get("report"),
        )

    def save(self, path: Path = DECISION_FILE) -> None:
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1)
        path.write_text(text + "\n", encoding="utf-8")


def load_calibration(path: Path = DECISION_FILE) -> Calibration | None:
    """The stored decision model, or None when there is none (or it is for other features)."""
    try:
        return Calibration.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def data_hash(tune: Path = TUNE_FILE, knowledge: Path = KNOWLEDGE_DIR) -> str:
    """A hash of everything a fit depends on: the labelled questions, the entries, the word
    lists and the feature definitions. A stored model with another hash is stale."""
    digest = hashlib.sha256(f"features-{FEATURES_VERSION}".encode())
    paths = [tune, knowledge / "synonyms.txt", knowledge / "userdict.txt"]
    paths += sorted((knowledge / "entries").glob("*.md"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]
