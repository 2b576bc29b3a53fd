"""Fitting the decision (``flask kb fit``): logistic models and cut-offs, by cross-validation.

Run from the command line only — it imports scikit-learn, which a web worker never loads.
Every question of the tuning set is searched as a member's would be; its features
(``bot.kb.calibration.FEATURES``) and two labels — the first candidate is the right entry;
the right entry is among the first three — train two logistic regressions. The
regularisation strength is chosen by five-fold cross-validated log-loss. The cut-offs are
chosen on the out-of-fold probabilities, so they are judged on questions the models did not
see, by the value of each outcome to a member (:data:`UTILITY`): a wrong answer costs as
much as a right one gains, a needless list of choices is nearly a miss, and being told
nothing was found is worse than a list that holds the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.kb.base import KnowledgeBase
from bot.kb.calibration import FEATURES, Calibration, Logistic

FOLDS = 5
STRENGTHS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # inverse regularisation (scikit-learn's C)
# What each outcome is worth to the member. A right answer is the point (1). A wrong one
# costs as much (-1): the member sees the entry's title and asks again, but may act on it.
# A list of choices when the first was right is nearly a miss (0.2): the issue counts "did
# you mean" for a question the bot knew as a failure. Being told nothing was found costs
# half an answer; for an out-of-scope question that is the right outcome (0), and a list costs
# as much as a wrong answer (the issue counts it as not declined), a direct answer more.
UTILITY = {
    "answer_right": 1.0,
    "answer_wrong": -1.0,
    "choices_right": 0.2,
    "choices_wrong": -0.3,
    "declined": -0.5,
    "oos_answer": -1.5,
    "oos_choices": -1.0,
    "oos_none": 0.0,
}
CUTS = tuple(round(0.05 + 0.01 * k, 2) for k in range(91))
BANDS = ("answer", "choices", "none")


@dataclass(frozen=True)
class Sample:
    question: str
    gold: str
    ranked: tuple[str, ...]
    features: tuple[float, ...]

    @property
    def right(self) -> bool:
        return self.gold != "none" and self.ranked[:1] == (self.gold,)

    @property
    def in_three(self) -> bool:
        return self.gold != "none" and self.gold in self.ranked[:3]


def measure(kb: KnowledgeBase, rows: Sequence[tuple[str, str]]) -> list[Sample]:
    """The features of every question, as the live decision computes them."""
    samples = []
    for question, gold in rows:
        decision = kb.decide(question)
        ranked = tuple(c.topic for c in decision.candidates)
        features = decision.features or tuple(0.0 for _ in FEATURES)
        samples.append(Sample(question, gold, ranked, features))
    return samples


def fit(samples: Sequence[Sample], data_hash: str = "") -> Calibration:
    """Both models on all samples, with cut-offs from cross-validation."""
    import numpy as np

    x = np.array([s.features for s in samples], dtype=np.float64)
    right = np.array([s.right for s in samples], dtype=int)
    in_three = np.array([s.in_three for s in samples], dtype=int)
    answer_c, answer_oof = _choose_strength(x, right)
    choices_c, choices_oof = _choose_strength(x, in_three)
    answer_cut, choices_cut, value = _choose_cuts(samples, answer_oof, choices_oof)
    report: dict[str, Any] = {
        "questions": len(samples),
        "strengths": {"answer": answer_c, "choices": choices_c},
        "utility_per_question": round(value / max(1, len(samples)), 4),
        "cross_validated": _rates(samples, answer_oof, choices_oof, answer_cut, choices_cut),
    }
    return Calibration(
        _fit_one(x, right, answer_c),
        _fit_one(x, in_three, choices_c),
        answer_cut,
        choices_cut,
        data_hash,
        report,
    )


def _fit_one(x: Any, y: Any, strength: float) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=strength, max_iter=2000)
    model.fit((x - mean) / scale, y)
    return Logistic(
        tuple(round(float(v), 6) for v in mean),
        tuple(round(float(v), 6) for v in scale),
        tuple(round(float(v), 6) for v in model.coef_[0]),
        round(float(model.intercept_[0]), 6),
    )


def _choose_strength(x: Any, y: Any) -> tuple[float, Any]:
    """The strength with the best out-of-fold log-loss, and its out-of-fold probabilities."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    best: tuple[float, float, Any] | None = None
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(x, y))
    for strength in STRENGTHS:
        oof = np.zeros(len(y))
        for train, test in folds:
            model = _fit_one(x[train], y[train], strength)
            oof[test] = [model.probability(row) for row in x[test].tolist()]
        clipped = np.clip(oof, 1e-6, 1 - 1e-6)
        loss = float(-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean())
        if best is None or loss < best[0] - 1e-9:
            best = (loss, strength, oof)
    assert best is not None
    return best[1], best[2]


def _outcome(sample: Sample, band: str) -> str:
    if sample.gold == "none":
        return f"oos_{band}"
    if band == "answer":
        return "answer_right" if sample.right else "answer_wrong"
    if band == "choices":
        return "choices_right" if sample.in_three else "choices_wrong"
    return "declined"


def _band(p_answer: float, p_choices: float, answer_cut: float, choices_cut: float) -> str:
    if p_answer >= answer_cut:
        return "answer"
    return "choices" if p_choices >= choices_cut else "none"


def _choose_cuts(
    samples: Sequence[Sample], answer_p: Any, choices_p: Any
) -> tuple[float, float, float]:
    """The cut-offs, by utility on out-of-fold probabilities, made stable.

    The utility is flat over a wide range of answer cut-offs, so its exact maximum is noise.
    As in the one-standard-error rule of cross-validation, every answer cut-off whose best
    utility is within one standard error of the overall best counts as good; the middle one
    of those is taken, with its best choices cut-off.
    """
    import numpy as np

    value_of = {band: np.array([UTILITY[_outcome(s, band)] for s in samples]) for band in BANDS}
    cuts = np.array(CUTS)
    best_by_answer: list[tuple[float, float, Any]] = []  # (value, choices cut, per question)
    for a_cut in CUTS:
        answered = answer_p >= a_cut
        # Every choices cut-off at once: rows are cut-offs, columns questions.
        offered = choices_p[None, :] >= cuts[:, None]
        per_question = np.where(
            answered[None, :],
            value_of["answer"][None, :],
            np.where(offered, value_of["choices"][None, :], value_of["none"][None, :]),
        )
        totals = per_question.sum(axis=1)
        k = int(np.argmax(totals))
        best_by_answer.append((float(totals[k]), CUTS[k], per_question[k]))
    top = max(range(len(CUTS)), key=lambda k: best_by_answer[k][0])
    error = float(best_by_answer[top][2].std() * math.sqrt(len(samples)))
    good = [
        k
        for k, (value, _, _) in enumerate(best_by_answer)
        if value >= best_by_answer[top][0] - error
    ]
    middle = good[len(good) // 2]
    value, c_cut, _ = best_by_answer[middle]
    return CUTS[middle], c_cut, value


def _rates(
    samples: Sequence[Sample], answer_p: Any, choices_p: Any, a_cut: float, c_cut: float
) -> dict[str, float]:
    counts: dict[str, int] = dict.fromkeys(UTILITY, 0)
    for s, pa, pc in zip(samples, answer_p.tolist(), choices_p.tolist(), strict=True):
        counts[_outcome(s, _band(pa, pc, a_cut, c_cut))] += 1
    inside = max(1, sum(s.gold != "none" for s in samples))
    outside = max(1, sum(s.gold == "none" for s in samples))
    return {
        "top1": round(sum(s.right for s in samples) / inside, 4),
        "top3": round(sum(s.in_three for s in samples) / inside, 4),
        "answered_right": round(counts["answer_right"] / inside, 4),
        "answered_wrong": round(counts["answer_wrong"] / inside, 4),
        "choices": round((counts["choices_right"] + counts["choices_wrong"]) / inside, 4),
        "false_rejection": round(counts["declined"] / inside, 4),
        "oos_rejection": round(counts["oos_none"] / outside, 4),
    }
