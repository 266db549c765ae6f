"""Models built from a schema, saved as bytes and used by the Predictor (real TensorFlow)."""

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.ml.backbones import build_small_cnn
from core.ml.model_builder import build_model, model_from_bytes, model_to_bytes
from core.ml.prediction import Predictor

SIZE = 32


@pytest.fixture(scope="module")
def cat_model():
    return build_model(CAT_PHENOTYPE, build_small_cnn(SIZE), image_size=SIZE)


def set_head(model, name: str, bias: list[float]) -> None:
    """Make a head ignore the image and output softmax/sigmoid of this bias."""
    kernel, _ = model.get_layer(name).get_weights()
    model.get_layer(name).set_weights([np.zeros_like(kernel), np.array(bias, dtype=np.float32)])


def test_build_model_has_one_head_per_cat_trait(cat_model):
    outputs = cat_model(np.zeros((2, SIZE, SIZE, 3), dtype=np.float32))
    assert list(outputs) == ["is_cat", "colour", "is_tabby", "pattern", "is_pointed"]
    shapes = {name: tuple(value.shape) for name, value in outputs.items()}
    assert shapes == {
        "is_cat": (2, 1),
        "colour": (2, 9),
        "is_tabby": (2, 1),
        "pattern": (2, 3),
        "is_pointed": (2, 1),
    }
    activations = {name: cat_model.get_layer(name).activation.__name__ for name in outputs}
    assert activations["colour"] == activations["pattern"] == "softmax"
    assert activations["is_cat"] == activations["is_tabby"] == "sigmoid"
    assert cat_model.input_shape == (None, SIZE, SIZE, 3)


def test_build_model_for_dog_breeds_has_one_softmax_head():
    schema = DOG_BREED.with_values("breed", ["pug", "beagle", "collie"])
    model = build_model(schema, build_small_cnn(SIZE), image_size=SIZE)
    outputs = model(np.zeros((1, SIZE, SIZE, 3), dtype=np.float32))
    assert list(outputs) == ["breed"]
    assert tuple(outputs["breed"].shape) == (1, 3)
    assert model.get_layer("breed").activation.__name__ == "softmax"


def test_model_bytes_round_trip_predicts_the_same(cat_model):
    batch = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3)).astype(np.float32)
    loaded = model_from_bytes(model_to_bytes(cat_model))
    before, after = cat_model(batch, training=False), loaded(batch, training=False)
    for name in before:
        np.testing.assert_allclose(np.asarray(before[name]), np.asarray(after[name]), rtol=1e-5)


def test_model_from_bytes_refuses_garbage():
    with pytest.raises(UserError, match=r"The stored model \(7 bytes\) could not be read"):
        model_from_bytes(b"garbage")


def test_predictor_can_say_fawn_van_and_marks_unsure_traits():
    model = build_model(CAT_PHENOTYPE, build_small_cnn(SIZE), image_size=SIZE)
    set_head(model, "is_cat", [5.0])
    set_head(model, "colour", [0, 0, 0, 0, 0, 6, 0, 0, 0])  # fawn
    set_head(model, "pattern", [0, 0, 6])  # van
    set_head(model, "is_tabby", [0.2])  # barely yes: unsure
    set_head(model, "is_pointed", [-5.0])
    thresholds = {"is_cat": 0.5, "colour": 0.5, "pattern": 0.5, "is_tabby": 0.8, "is_pointed": 0.5}
    predictor = Predictor(model, CAT_PHENOTYPE, image_size=SIZE, thresholds=thresholds)
    [result] = predictor.predict_arrays(np.zeros((1, SIZE, SIZE, 3), dtype=np.uint8))
    assert result.label == {
        "is_cat": True,
        "colour": "fawn",
        "is_tabby": True,
        "pattern": "van",
        "is_pointed": False,
    }
    assert result.passes_gate is True
    assert result.unsure == ["is_tabby"]
    colour = result.traits["colour"]
    assert colour.probability == pytest.approx(colour.probabilities["fawn"])
    assert len(colour.alternatives) == 3
    assert colour.alternatives[0][1] <= colour.probability
    assert set(result.probabilities["is_tabby"]) == {"no", "yes"}
    assert result.traits["is_pointed"].alternatives == [
        ("yes", pytest.approx(result.probabilities["is_pointed"]["yes"]))
    ]


def test_predictor_leaves_gated_traits_out_for_a_non_cat():
    model = build_model(CAT_PHENOTYPE, build_small_cnn(SIZE), image_size=SIZE)
    set_head(model, "is_cat", [-0.1])  # not a cat, but unsure
    set_head(model, "colour", [0, 0, 0, 0, 0, 0, 0, 0, 0])  # every colour unsure
    predictor = Predictor(model, CAT_PHENOTYPE, image_size=SIZE, thresholds={"is_cat": 0.9})
    results = predictor.predict_arrays(np.full((40, SIZE, SIZE, 3), 200, dtype=np.uint8))
    assert len(results) == 40
    result = results[0]
    assert result.label == {"is_cat": False}
    assert result.passes_gate is False
    assert list(result.traits) == ["is_cat"]
    assert result.unsure == ["is_cat"]
    assert set(result.probabilities) == set(CAT_PHENOTYPE.trait_names)
    assert sum(result.probabilities["colour"].values()) == pytest.approx(1.0, abs=1e-5)


def test_predictor_takes_pil_images_of_any_shape():
    schema = DOG_BREED.with_values("breed", ["beagle", "pug"])
    model = build_model(schema, build_small_cnn(SIZE), image_size=SIZE)
    predictor = Predictor(model, schema, image_size=SIZE, thresholds={}, resize_mode="crop")
    images = [Image.new("RGB", (80, 40), "red"), Image.new("L", (33, 90), 128)]
    results = predictor.predict_images(images)
    assert [r.passes_gate for r in results] == [None, None]
    assert {r.label["breed"] for r in results} <= {"beagle", "pug"}
    assert predictor.predict_images([]) == []
    with pytest.raises(ValueError, match="Images must be"):
        predictor.predict_arrays(np.zeros((1, 20, 20, 3)))
