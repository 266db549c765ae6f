"""Label checks, split, targets, class weights, thresholds and hyper-parameters (no training)."""

import math

import numpy as np
import pytest

from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.ml.evaluation import class_probabilities, unsure_threshold
from core.ml.hyperparameters import HyperParameters
from core.ml.targets import fill_open_values
from core.ml.training import check_training_set, class_weights, encode_targets, stratified_split


def cat(colour: str, tabby: bool = False, pattern: str = "self", pointed: bool = False) -> dict:
    return {
        "is_cat": True,
        "colour": colour,
        "is_tabby": tabby,
        "pattern": pattern,
        "is_pointed": pointed,
    }


def varied_cats(count: int) -> list[dict]:
    colours = ("black", "blue", "red")
    patterns = ("self", "bicolour", "van")
    return [
        cat(colours[i % 3], i % 2 == 0, patterns[(i // 3) % 3], i % 4 == 0) for i in range(count)
    ]


def test_encode_targets_masks_gated_traits_of_non_cats():
    labels = [cat("fawn", pattern="van"), {"is_cat": False}, cat("black", True), {"is_cat": True}]
    y, weights = encode_targets(CAT_PHENOTYPE, labels)
    assert y["colour"].tolist() == [5, 0, 0, 0]
    assert y["pattern"].tolist() == [2, 0, 0, 0]
    assert y["is_cat"].shape == (4, 1)
    assert y["is_cat"].ravel().tolist() == [1.0, 0.0, 1.0, 1.0]
    assert weights["colour"][1] == 0.0
    assert weights["is_tabby"][1] == 0.0
    assert weights["colour"][3] == 0.0  # a cat whose colour is not set yet
    assert weights["is_cat"][1] > 0.0
    assert weights["colour"][0] > 0.0


def test_class_weights_balance_the_applicable_images_only():
    labels = [cat("black")] * 6 + [cat("blue")] * 2 + [{"is_cat": False}] * 12
    y, weights = encode_targets(CAT_PHENOTYPE, labels)
    per_class = class_weights(
        CAT_PHENOTYPE,
        {k: v.ravel().astype(int) for k, v in y.items()},
        {k: v > 0 for k, v in weights.items()},
    )
    assert per_class["colour"][0] == pytest.approx(8 / (2 * 6))
    assert per_class["colour"][1] == pytest.approx(8 / (2 * 2))
    assert per_class["is_cat"][0] == pytest.approx(20 / (2 * 12))
    assert weights["colour"][:8].sum() == pytest.approx(8.0)


def test_stratified_split_puts_every_repeated_class_in_validation():
    labels = varied_cats(40) + [{"is_cat": False}] * 7 + [cat("white")]
    train, validation = stratified_split(labels, 0.2, seed=3)
    assert sorted(train + validation) == list(range(len(labels)))
    assert not set(train) & set(validation)
    keys = {}
    for index, label in enumerate(labels):
        keys.setdefault(
            (label.get("is_cat"), label.get("colour"), label.get("pattern")), []
        ).append(index)
    for members in keys.values():
        if len(members) >= 2:
            assert set(members) & set(validation)
            assert set(members) & set(train)
    assert len(labels) - 1 in train  # the one white cat cannot be validated on
    assert stratified_split(labels, 0.2, seed=3) == (train, validation)


def test_check_training_set_refuses_too_few_images():
    with pytest.raises(UserError, match=r"Only 5 labelled images.*at least 10"):
        check_training_set(CAT_PHENOTYPE, varied_cats(5))


def test_check_training_set_refuses_a_single_valued_trait():
    labels = [cat("blue", i % 2 == 0, ("self", "van")[i % 3 == 0]) for i in range(12)]
    labels += [{"is_cat": False}] * 4
    with pytest.raises(UserError, match=r"colour.*'blue' \(12 images\)"):
        check_training_set(CAT_PHENOTYPE, labels)


def test_check_training_set_refuses_without_validation_candidates():
    labels = [{"breed": f"breed {i}"} for i in range(11)] + [{"breed": "breed 0"}]
    schema = fill_open_values(DOG_BREED, labels)
    with pytest.raises(UserError, match="validation split needs at least 2"):
        check_training_set(schema, labels)


def test_check_training_set_warns_about_missing_and_rare_values():
    labels = varied_cats(60) + [{"is_cat": False}] * 20 + [cat("lilac")]
    warnings = check_training_set(CAT_PHENOTYPE, labels)
    assert any("Colour has no image of" in w and "fawn" in w for w in warnings)
    assert any("imbalanced" in w and "lilac" in w for w in warnings)
    assert all(w.endswith(".") for w in warnings)


def test_fill_open_values_takes_breeds_from_the_labels():
    labels = [{"breed": "pug"}, {"breed": "beagle"}, {"breed": "pug"}]
    schema = fill_open_values(DOG_BREED, labels)
    assert schema.trait("breed").values == ("beagle", "pug")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backbone": "resnet50"}, r"'resnet50'.*mobilenet_v2, efficientnet_b0, xception"),
        ({"epochs": 0}, r"Epochs 0 .*1 to 1000"),
        ({"epochs": 2.5}, r"Epochs 2.5 .*whole number"),
        ({"batch_size": 0}, r"Batch size 0 .*1 to 1024"),
        ({"learning_rate": 0.0}, r"Learning rate 0.0 .*1e-06 to 1"),
        ({"learning_rate": 2.0}, r"Learning rate 2.0"),
        ({"learning_rate": math.nan}, r"Learning rate nan"),
        ({"image_size": 16}, r"Image size 16 .*32 to 1024"),
        ({"backbone": "xception", "image_size": 64}, r"Image size 64 .*xception; use 71"),
        ({"validation_share": 0.9}, r"Validation share 0.9 .*0.05 to 0.5"),
        ({"patience": 0}, r"Patience 0 .*1 to 100"),
        ({"seed": -1}, r"Seed -1"),
        ({"augment": "maybe"}, r"Augment 'maybe'"),
        ({"resize_mode": "stretch"}, r"Resize mode 'stretch' .*pad, crop"),
    ],
)
def test_hyper_parameters_refuse_bad_values(changes, message):
    with pytest.raises(UserError, match=message):
        HyperParameters(**changes).validate()


def test_hyper_parameters_from_mapping_parse_form_values():
    params = HyperParameters.from_mapping(
        {"backbone": "small_cnn", "epochs": "3", "learning_rate": "0.01", "augment": "no"}
    )
    assert (params.epochs, params.learning_rate, params.augment) == (3, 0.01, False)
    assert HyperParameters.from_mapping(params.to_dict()) == params
    with pytest.raises(UserError, match=r"Epochs 'ten' is not a whole number"):
        HyperParameters.from_mapping({"epochs": "ten"})
    with pytest.raises(UserError, match=r"'epoch' is not known"):
        HyperParameters.from_mapping({"epoch": 3})


def test_unsure_threshold_is_the_smallest_confident_enough_probability():
    trait = CAT_PHENOTYPE.trait("colour")
    top = np.array([0.3, 0.45, 0.55, 0.62, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99])
    correct = np.array([False, False, False, True, True, True, True, True, True, True])
    probabilities = np.zeros((10, 9))
    probabilities[:, 0] = top
    probabilities[:, 1:] = ((1 - top) / 8)[:, None]
    y = np.where(correct, 0, 2)
    mask = np.ones(10, dtype=bool)
    assert unsure_threshold(trait, probabilities, y, mask) == 0.6
    assert unsure_threshold(trait, probabilities, np.zeros(10, int), mask) == pytest.approx(1 / 9)
    never_right = np.full(10, 2)
    assert unsure_threshold(trait, probabilities, never_right, mask) == 0.95
    yes_no = class_probabilities(CAT_PHENOTYPE.trait("is_cat"), np.array([[0.9], [0.2]]))
    np.testing.assert_allclose(yes_no, [[0.1, 0.9], [0.8, 0.2]])
