"""Backbones: weights from a file, the logged small_cnn fallback and the feature cache."""

import keras
import numpy as np
import pytest

from core.errors import UserError
from core.labels import DOG_BREED
from core.ml.backbones import load_backbone
from core.ml.data import ArrayImageSource
from core.ml.feature_cache import InMemoryFeatureStore, compute_missing_features, feature_key
from core.ml.model_builder import model_from_bytes, model_to_bytes
from core.ml.training import HyperParameters, TrainingCallbacks, train

SIZE = 96  # the input size of the `weights_file` fixture (tests/unit/conftest.py)


@pytest.fixture
def no_download(monkeypatch):
    """Keras' weight download fails the way it does offline, whatever this machine can reach."""
    from keras.src.utils import file_utils

    def fail(fname=None, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name unknown")

    monkeypatch.setattr(file_utils, "get_file", fail)


class CountingImages(ArrayImageSource):
    """Counts how many images were loaded."""

    loaded = 0

    def load(self, indices):
        self.loaded += len(indices)
        return super().load(indices)


def dog_images(count: int) -> tuple[CountingImages, list[dict]]:
    rng = np.random.default_rng(2)
    breeds = ("beagle", "pug", "collie")
    base = np.array([(200, 150, 90), (60, 50, 40), (230, 230, 230)])
    labels = [{"breed": breeds[i % 3]} for i in range(count)]
    pixels = base[[i % 3 for i in range(count)]][:, None, None, :]
    noise = rng.integers(-20, 21, (count, SIZE, SIZE, 3))
    array = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    return CountingImages([f"dog-{i}" for i in range(count)], array), labels


def test_load_backbone_falls_back_to_small_cnn_in_one_sentence(no_download):
    messages = []
    backbone = load_backbone("mobilenet_v2", SIZE, log=messages.append)
    assert backbone.name == "small_cnn"
    assert backbone.is_pretrained is False
    assert len(messages) == 1
    [message] = messages
    assert "small_cnn fallback" in message
    assert "mobilenet_v2" in message
    assert message.endswith(".")
    assert ". " not in message


def test_load_backbone_with_a_missing_file_names_it_and_falls_back(tmp_path):
    messages = []
    missing = str(tmp_path / "nowhere.weights.h5")
    backbone = load_backbone("efficientnet_b0", SIZE, weights_path=missing, log=messages.append)
    assert backbone.name == "small_cnn"
    assert len(messages) == 1
    assert "nowhere.weights.h5" in messages[0]


def test_load_backbone_without_fallback_raises_a_user_error(no_download):
    with pytest.raises(UserError, match="Could not load the xception weights"):
        load_backbone("xception", SIZE, fallback=None, log=print)


def test_load_backbone_refuses_unknown_names():
    with pytest.raises(UserError, match=r"'resnet'.*mobilenet_v2, efficientnet_b0, xception"):
        load_backbone("resnet", SIZE)


def test_load_backbone_reads_a_weights_file(weights_file):
    messages = []
    backbone = load_backbone("mobilenet_v2", SIZE, weights_path=weights_file, log=messages.append)
    assert messages == []
    assert backbone.name == "mobilenet_v2"
    assert backbone.is_pretrained is True
    assert backbone.model.trainable is False
    assert backbone.weights_id.startswith("sha256-")
    assert backbone.feature_dim == 1280
    saved = keras.applications.MobileNetV2(
        include_top=False, weights=weights_file, input_shape=(SIZE, SIZE, 3)
    )
    np.testing.assert_array_equal(
        backbone.model.get_layer("Conv1").get_weights()[0],
        saved.get_layer("Conv1").get_weights()[0],
    )


def test_feature_cache_computes_only_missing_embeddings(weights_file):
    backbone = load_backbone("mobilenet_v2", SIZE, weights_path=weights_file)
    images, _ = dog_images(7)
    store = InMemoryFeatureStore()
    key = feature_key(backbone, SIZE, "pad")
    assert key.startswith(f"mobilenet_v2:{backbone.weights_id}:96px:pad")
    store.put_many(key, {"dog-3": np.ones(1280, dtype=np.float32)})

    messages = []
    first = compute_missing_features(
        backbone, images, store, key, batch_size=4, log=messages.append
    )
    assert first.shape == (7, 1280)
    assert images.loaded == 6
    np.testing.assert_array_equal(first[3], np.ones(1280))
    assert "1 of 7 images cached, computing 6" in messages[0]

    second = compute_missing_features(backbone, images, store, key, log=messages.append)
    assert images.loaded == 6
    np.testing.assert_array_equal(first, second)
    assert store.get_many(["dog-0"], "other-key") == {}


@pytest.mark.slow
def test_train_on_frozen_backbone_trains_heads_on_cached_embeddings(weights_file):
    images, labels = dog_images(24)
    store = InMemoryFeatureStore()
    params = HyperParameters(backbone="mobilenet_v2", image_size=SIZE, epochs=4, batch_size=8)
    messages = []
    callbacks = TrainingCallbacks(on_log=messages.append)
    result = train(
        DOG_BREED, images, labels, params, callbacks, features=store, weights_path=weights_file
    )
    assert result.backbone_name == "mobilenet_v2"
    assert result.schema.trait("breed").values == ("beagle", "collie", "pug")
    assert result.confusion["breed"]["labels"] == ["beagle", "collie", "pug"]
    assert result.epochs_run == 4
    assert images.loaded == 24
    assert any("0 of 24 images cached" in message for message in messages)

    train(DOG_BREED, images, labels, params, features=store, weights_path=weights_file)
    assert images.loaded == 24  # the second run reads no image: every embedding is cached

    batch = images.load([0, 1, 2]).astype(np.float32)
    loaded = model_from_bytes(model_to_bytes(result.model))
    before, after = result.model(batch, training=False), loaded(batch, training=False)
    np.testing.assert_allclose(np.asarray(before["breed"]), np.asarray(after["breed"]), rtol=1e-5)
