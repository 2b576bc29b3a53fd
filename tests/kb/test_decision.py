"""The learned decision: the stored model is current, fitting learns bands, bands follow it."""

from __future__ import annotations

import json
import math
import random

import pytest

from bot.kb import calibration, fitting
from bot.kb.calibration import FEATURES, Calibration, Logistic


def test_the_stored_model_was_fitted_on_the_current_data():
    stored = calibration.load_calibration()
    assert stored is not None, "knowledge/kb_decision.json is missing: run `flask kb fit`"
    assert stored.data_hash == calibration.data_hash(), (
        "the labelled questions, entries or word lists changed since the decision was fitted: "
        "run `flask kb fit` and commit knowledge/kb_decision.json"
    )
    report = stored.report or {}
    assert report["questions"] >= 800  # fitted on the whole tuning set


def test_fit_check_says_current(runner):
    result = runner.invoke(args=["kb", "fit", "--check"])
    assert result.exit_code == 0 and "current" in result.output


def test_a_model_survives_its_json():
    model = Logistic((0.1, 0.2), (1.0, 2.0), (1.5, -0.5), 0.3)
    fitted = Calibration(model, model, 0.6, 0.3, "abc", {"questions": 2})
    assert Calibration.from_json(fitted.to_json()) == fitted
    assert Logistic.from_json(model.to_json()) == model
    assert model.probability((0.1, 0.2)) == pytest.approx(1 / (1 + math.exp(-0.3)))
    assert model.probability((3.0, 0.2)) > model.probability((0.1, 0.2)) > 0.5


def test_a_model_for_other_features_is_not_loaded(tmp_path):
    path = tmp_path / "decision.json"
    stored = calibration.load_calibration()
    assert stored is not None
    data = stored.to_json()
    data["features"] = data["features"][:-1]
    path.write_text(json.dumps(data))
    assert calibration.load_calibration(path) is None


def _samples(n: int, seed: int = 1) -> list[fitting.Sample]:
    """Questions whose features say how good the match is, with labels that agree (noisily)."""
    rng = random.Random(seed)
    samples = []
    for k in range(n):
        quality = rng.random()
        features = [rng.gauss(0, 0.05) for _ in FEATURES]
        features[FEATURES.index("top_score")] += quality
        features[FEATURES.index("cover_either")] += quality
        if k % 8 == 0:  # out of scope: a poor match
            features[FEATURES.index("top_score")] *= 0.1
            features[FEATURES.index("cover_either")] *= 0.1
            samples.append(fitting.Sample(f"q{k}", "none", ("a", "b", "c"), tuple(features)))
            continue
        right = rng.random() < quality
        ranked = ("a", "b", "c") if right else ("b", "a", "c")
        samples.append(fitting.Sample(f"q{k}", "a", ranked, tuple(features)))
    return samples


def test_fitting_learns_to_answer_good_matches_and_decline_poor_ones():
    fitted = fitting.fit(_samples(400))
    strong = [0.0] * len(FEATURES)
    weak = [0.0] * len(FEATURES)
    strong[FEATURES.index("top_score")] = strong[FEATURES.index("cover_either")] = 0.95
    weak[FEATURES.index("top_score")] = weak[FEATURES.index("cover_either")] = 0.01
    assert fitted.answer.probability(strong) > 0.8 > 0.2 > fitted.answer.probability(weak)
    assert fitted.band(fitted.answer.probability(strong), fitted.choices.probability(strong)) == (
        "answer"
    )
    assert fitted.band(fitted.answer.probability(weak), fitted.choices.probability(weak)) == "none"
    assert 0.05 <= fitted.answer_cut <= 0.95 and 0.05 <= fitted.choices_cut <= 0.95
    cross = fitted.report["cross_validated"]
    assert cross["answered_wrong"] <= cross["answered_right"]


def test_the_band_is_the_models(app):
    kb = app.extensions["kb"]
    fitted = kb.calibration
    assert fitted is not None
    for question in ("法治体检是免费的吗", "商会管理", "今天天气怎么样", "劳动仲裁多久出结果"):
        decision = kb.decide(question)
        assert decision.band == fitted.band(decision.p_answer, decision.p_choices), question
        assert len(decision.features) == len(FEATURES)


def test_without_a_fitted_model_the_hand_set_bands_still_answer(app):
    kb = app.extensions["kb"]
    kb.use_calibration(None)
    try:
        sure = kb.decide("法治体检是免费的吗")
        assert (sure.band, sure.topic) == ("answer", "legal.checkup")
        assert kb.decide("今天天气怎么样").band == "none"
    finally:
        kb.use_calibration(calibration.load_calibration())
