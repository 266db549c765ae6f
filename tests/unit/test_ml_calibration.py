"""Temperature scaling per head: fitted on validation outputs, stored, applied by the predictor."""

import altair as alt
import numpy as np
import pytest

from core.labels import CAT_PHENOTYPE
from core.ml.calibration import (
    apply_temperature,
    calibrate,
    calibration_errors,
    expected_calibration_error,
    fit_temperature,
    temperatures,
)
from core.ml.prediction import Predictor
from core.ml.reliability import calibration_table, reliability_chart
from core.ml.training import train
from tests.unit.test_ml_training import SIZE, small_params, solid_colour_set


def overconfident_set(
    count: int = 4000, classes: int = 4, true_temperature: float = 2.5
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities softmax(z) for labels drawn from softmax(z / T): too sure by a factor T."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (count, classes))
    honest = np.exp(logits / true_temperature)
    honest /= honest.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(classes, p=row) for row in honest])
    shown = np.exp(logits)
    return shown / shown.sum(axis=1, keepdims=True), y


def test_fit_temperature_finds_how_overconfident_a_head_is_and_lowers_its_ece():
    probabilities, y = overconfident_set()
    temperature = fit_temperature(probabilities, y)
    assert temperature == pytest.approx(2.5, rel=0.15)
    before = expected_calibration_error(probabilities, y)
    after = expected_calibration_error(apply_temperature(probabilities, temperature), y)
    assert before > 0.1
    assert after < before / 3


def test_temperature_keeps_the_top_answer_and_softens_a_yes_no_head_like_a_sigmoid():
    yes = np.array([0.9, 0.2, 0.6])
    scaled = apply_temperature(np.stack([1 - yes, yes], axis=1), 2.0)
    logit = np.log(yes / (1 - yes))
    np.testing.assert_allclose(scaled[:, 1], 1 / (1 + np.exp(-logit / 2.0)), rtol=1e-6)
    assert (scaled.argmax(axis=1) == np.array([1, 0, 1])).all()
    assert fit_temperature(np.zeros((0, 2)), np.zeros(0, dtype=int)) == 1.0


def test_calibrate_reports_every_trait_and_leaves_gated_traits_of_non_cats_out():
    outputs = {
        "is_cat": np.array([[0.99], [0.98], [0.02]]),
        "colour": np.eye(9)[[0, 1, 2]] * 0.9 + 0.1 / 9,
        "is_tabby": np.array([[0.9], [0.2], [0.5]]),
        "pattern": np.eye(3)[[0, 1, 0]] * 0.8 + 0.2 / 3,
        "is_pointed": np.array([[0.1], [0.1], [0.1]]),
    }
    targets = (
        {"is_cat": np.array([1, 1, 0]), "colour": np.array([0, 2, 0])}
        | {name: np.array([1, 0, 0]) for name in ("is_tabby", "pattern", "is_pointed")},
        {"is_cat": np.array([True, True, True])}
        | {name: np.array([True, True, False]) for name in CAT_PHENOTYPE.trait_names[1:]},
    )
    calibration = calibrate(CAT_PHENOTYPE, outputs, targets)
    assert list(calibration) == CAT_PHENOTYPE.trait_names
    colour = calibration["colour"]
    assert colour["temperature"] > 1.0  # one of two sure answers is wrong: soften
    assert sum(item["count"] for item in colour["reliability_before"]) == 2
    assert set(temperatures(calibration)) == set(CAT_PHENOTYPE.trait_names)
    assert temperatures(None) == {}
    assert list(calibration_table(calibration)["trait"]) == CAT_PHENOTYPE.trait_names
    chart = reliability_chart(calibration, "colour")
    assert isinstance(chart, alt.LayerChart)
    assert "Expected calibration error" in chart.to_dict()["title"]["subtitle"]


def test_training_stores_temperatures_that_the_predictor_applies():
    images, labels = solid_colour_set()
    result = train(CAT_PHENOTYPE, images, labels, small_params(epochs=2))
    assert set(result.calibration) == set(CAT_PHENOTYPE.trait_names)
    for values in result.calibration.values():
        assert values["temperature"] > 0
        if values["ece_before"] is not None:
            assert values["nll_after"] <= values["nll_before"] + 1e-9
    raw = Predictor(result.model, CAT_PHENOTYPE, image_size=SIZE, thresholds={})
    scaled = temperatures(result.calibration)
    calibrated = Predictor(
        result.model, CAT_PHENOTYPE, image_size=SIZE, thresholds={}, temperatures=scaled
    )
    batch = images.load([1, 2])
    for before, after in zip(
        raw.predict_arrays(batch), calibrated.predict_arrays(batch), strict=True
    ):
        colour = np.array(list(before.probabilities["colour"].values()))[None, :]
        expected = apply_temperature(colour, scaled["colour"])[0]
        assert list(after.probabilities["colour"].values()) == pytest.approx(expected, rel=1e-5)
        assert after.label == before.label  # temperatures never change the top answer


def test_calibration_errors_leave_out_traits_without_validation_images():
    stored = {
        "colour": {"temperature": 1.4, "ece_before": 0.083, "ece_after": 0.016},
        "is_tabby": {"temperature": 1.0, "ece_before": None, "ece_after": None},
    }
    assert calibration_errors(stored) == {"colour": (0.083, 0.016)}
    assert calibration_errors(None) == {}
