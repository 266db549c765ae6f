"""The "unlike the training images" score: distances, energy, threshold, predictor answers."""

import numpy as np
import pytest

from core.labels import CAT_PHENOTYPE
from core.ml.ood import (
    FeatureDistance,
    auroc,
    choose_threshold,
    energy_scores,
    fit_unfamiliarity,
)
from core.ml.prediction import Predictor
from core.ml.training import train
from core.ml.unfamiliar_images import KINDS, unfamiliar_images
from tests.unit.test_ml_training import SIZE, small_params, solid_colour_set


def gaussian_features(count: int, dimensions: int = 12, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(int(shift * 10) + count)
    return rng.normal(shift, 1.0, (count, dimensions))


@pytest.mark.parametrize("method", ["mahalanobis", "knn"])
def test_feature_distance_scores_far_embeddings_higher_and_survives_storing(method):
    distance = FeatureDistance.fit(gaussian_features(400), method)
    near, far = gaussian_features(50), gaussian_features(50, shift=4.0)
    assert auroc(distance.scores(near), distance.scores(far)) > 0.99
    for as_lists in (False, True):
        doc = distance.with_threshold(3.0).to_document(as_lists=as_lists)
        stored = FeatureDistance.from_document(doc)
        assert stored.threshold == 3.0
        np.testing.assert_allclose(stored.scores(far), distance.scores(far), rtol=1e-2)


def test_wide_embeddings_are_projected_so_the_stored_scorer_stays_small():
    distance = FeatureDistance.fit(gaussian_features(300, dimensions=300))
    assert distance.scale.shape == (128, 128)
    assert distance.projection is not None and distance.projection.shape == (300, 128)


def test_auroc_and_threshold_allow_at_most_five_percent_false_alarms():
    assert auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert auroc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5
    familiar = np.arange(100, dtype=float)
    unfamiliar = np.arange(90, 200, dtype=float)
    threshold = choose_threshold(familiar, unfamiliar)
    assert np.mean(familiar > threshold) <= 0.05
    assert np.mean(unfamiliar > threshold) > 0.9


def test_energy_is_higher_where_no_head_has_a_strong_logit():
    heads = {"colour": (np.eye(3), np.zeros(3)), "is_cat": (np.ones((3, 1)), np.zeros(1))}
    confident, flat = np.array([[8.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 0.0]])
    assert energy_scores(flat, heads)[0] > energy_scores(confident, heads)[0]


def test_made_up_images_cover_every_kind_and_fit_the_size():
    images = unfamiliar_images(10, 48, seed=3)
    assert images.shape == (10, 48, 48, 3) and images.dtype == np.uint8
    assert len(KINDS) == 5
    assert len({images[i].tobytes() for i in range(10)}) == 10


def test_fit_unfamiliarity_measures_every_method_and_keeps_the_best():
    heads = {"colour": (np.eye(12)[:, :3], np.zeros(3))}
    familiar, unfamiliar = gaussian_features(60), gaussian_features(60, shift=3.0)
    ood = fit_unfamiliarity(
        (gaussian_features(300), familiar, unfamiliar), (familiar, unfamiliar), heads
    )
    assert set(ood["measured"]) == {"mahalanobis", "knn", "energy"}
    best = max(ood["measured"].values(), key=lambda m: m["detection_rate"] - m["false_alarm_rate"])
    assert ood["measured"][ood["method"]]["detection_rate"] == best["detection_rate"]
    assert best["false_alarm_rate"] <= 0.05


@pytest.fixture(scope="module")
def trained():
    images, labels = solid_colour_set(80)
    return images, train(CAT_PHENOTYPE, images, labels, small_params(epochs=4))


def test_trained_model_flags_noise_as_unfamiliar_and_answers_it_with_no_sure_trait(trained):
    images, result = trained
    assert result.ood["method"] in ("mahalanobis", "knn", "energy")
    assert result.ood["threshold"] == pytest.approx(float(result.ood["threshold"]))
    predictor = Predictor(
        result.model, CAT_PHENOTYPE, image_size=SIZE, thresholds=result.thresholds, ood=result.ood
    )
    familiar = predictor.predict_arrays(images.load(list(range(40))))
    assert sum(r.is_unfamiliar for r in familiar) <= 4
    made_up = predictor.predict_arrays(unfamiliar_images(20, SIZE, seed=7))
    flagged = [r for r in made_up if r.is_unfamiliar]
    assert len(flagged) >= 10
    for answer in flagged:
        assert answer.unfamiliarity > 1.0
        assert answer.unsure == list(answer.label)  # nothing is said with confidence
    plain = Predictor(result.model, CAT_PHENOTYPE, image_size=SIZE, thresholds={})
    [answer] = plain.predict_arrays(images.load([0]))
    assert answer.is_unfamiliar is False and answer.unfamiliarity is None


def test_energy_scorer_from_a_stored_document_runs_in_the_predictor(trained):
    images, result = trained
    energy = {"method": "energy", "threshold": 0.0}
    predictor = Predictor(result.model, CAT_PHENOTYPE, image_size=SIZE, thresholds={}, ood=energy)
    [answer] = predictor.predict_arrays(images.load([1]))
    assert isinstance(answer.unfamiliarity, float)


def test_a_non_cat_never_gets_a_coat_colour_whatever_the_colour_head_says(trained):
    images, result = trained
    predictor = Predictor(
        result.model, CAT_PHENOTYPE, image_size=SIZE, thresholds={}, ood=result.ood
    )
    answers = predictor.predict_arrays(
        np.concatenate([images.load(list(range(80))), unfamiliar_images(20, SIZE)])
    )
    non_cats = [a for a in answers if a.passes_gate is False]
    assert non_cats
    for answer in non_cats:
        assert set(answer.label) == {"is_cat"} and set(answer.traits) == {"is_cat"}
        assert "colour" not in answer.unsure
