"""Fine-tuning the top backbone layers after the heads, and ranking images by uncertainty."""

import keras
import numpy as np
import pytest

from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.ml.backbones import load_backbone
from core.ml.prediction import Predictor
from core.ml.training import HyperParameters, TrainingCallbacks, train, unfreeze_top_layers
from core.ml.uncertainty import rank_by_uncertainty
from tests.unit.test_ml_backbones import SIZE, dog_images
from tests.unit.test_ml_training import SIZE as CAT_SIZE
from tests.unit.test_ml_training import small_params, solid_colour_set


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> str:
    """MobileNetV2 weights written by the test (random, but a real weights file)."""
    model = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(SIZE, SIZE, 3)
    )
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_96.weights.h5"
    model.save_weights(path)
    return str(path)


def test_unfreeze_top_layers_leaves_batch_norm_and_lower_layers_frozen(weights_file):
    backbone = load_backbone("mobilenet_v2", SIZE, weights_path=weights_file)
    names = unfreeze_top_layers(backbone, 3)
    assert len(names) == 3
    trainable = [layer.name for layer in backbone.model.layers if layer.trainable]
    assert trainable == names
    assert not any("bn" in name.lower() for name in names)


@pytest.mark.slow
def test_fine_tuning_changes_only_the_top_backbone_layers(weights_file):
    images, labels = dog_images(24)
    params = HyperParameters(
        backbone="mobilenet_v2",
        image_size=SIZE,
        epochs=2,
        batch_size=8,
        fine_tune_layers=2,
        fine_tune_epochs=1,
    )
    messages: list[str] = []
    result = train(
        DOG_BREED,
        images,
        labels,
        params,
        TrainingCallbacks(on_log=messages.append),
        weights_path=weights_file,
    )
    assert any(m.startswith("Fine-tuning the top 2 layers of mobilenet_v2") for m in messages)
    original = load_backbone("mobilenet_v2", SIZE, weights_path=weights_file).model
    tuned = next(layer for layer in result.model.layers if layer.name == original.name)
    weighted = [
        layer.name
        for layer in original.layers
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)
    ]
    changed = [
        name
        for name in weighted
        if any(
            not np.array_equal(a, b)
            for a, b in zip(
                original.get_layer(name).get_weights(),
                tuned.get_layer(name).get_weights(),
                strict=True,
            )
        )
    ]
    assert changed == weighted[-2:]
    assert result.fine_tuned_layers == weighted[-2:]
    assert set(result.calibration) == {"breed"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"fine_tune_layers": -1},
            "Fine-tune layers -1 is not allowed; use a whole number from 0 to 500.",
        ),
        (
            {"fine_tune_epochs": 0},
            "Fine-tune epoch limit 0 is not allowed; use a whole number from 1 to 1000.",
        ),
        (
            {"backbone": "small_cnn", "fine_tune_layers": 3},
            "Fine-tune layers 3 needs a pretrained backbone and small_cnn has no pretrained "
            "weights; set fine-tune layers to 0 or choose mobilenet_v2, efficientnet_b0, xception.",
        ),
    ],
)
def test_bad_fine_tuning_settings_are_refused_in_one_sentence(changes, message):
    with pytest.raises(UserError) as caught:
        HyperParameters(**changes).validate()
    assert str(caught.value) == message


def test_fine_tuning_is_off_by_default_and_read_from_form_values():
    assert (HyperParameters().fine_tune_layers, HyperParameters().fine_tune_epochs) == (0, 5)
    params = HyperParameters.from_mapping({"fine_tune_layers": "4", "fine_tune_epochs": 2.0})
    assert (params.fine_tune_layers, params.fine_tune_epochs) == (4, 2)


def test_a_run_that_falls_back_to_small_cnn_says_it_skips_fine_tuning():
    images, labels = solid_colour_set(24)
    params = small_params(epochs=1, backbone="mobilenet_v2", fine_tune_layers=2)
    messages: list[str] = []
    result = train(
        CAT_PHENOTYPE,
        images,
        labels,
        params,
        TrainingCallbacks(on_log=messages.append),
        weights_path="/nowhere/mobilenet_v2.weights.h5",
    )
    assert result.backbone_name == "small_cnn" and result.fine_tuned_layers == []
    assert "Fine-tuning 2 layers is skipped: small_cnn has no pretrained weights" in "\n".join(
        messages
    )


def test_label_next_ranks_the_least_confident_images_first():
    images, labels = solid_colour_set(40)
    result = train(CAT_PHENOTYPE, images, labels, small_params(epochs=2))
    predictor = Predictor(result.model, CAT_PHENOTYPE, image_size=CAT_SIZE, thresholds={})
    answers = predictor.predict_arrays(images.load(list(range(10))))
    ranked = rank_by_uncertainty([f"image-{i}" for i in range(10)], answers)
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert {image_id for image_id, _ in ranked} == {f"image-{i}" for i in range(10)}
    least = min(answers, key=lambda a: min(p.probability for p in a.traits.values()))
    first = answers[int(ranked[0][0].split("-")[1])]
    assert min(p.probability for p in first.traits.values()) == pytest.approx(
        min(p.probability for p in least.traits.values())
    )
    with pytest.raises(ValueError, match="1 ids for 10 predictions"):
        rank_by_uncertainty(["x"], answers)
