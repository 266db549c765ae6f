"""Fixtures for the unit tests."""

from __future__ import annotations

import pytest

WEIGHTS_SIZE = 96  # the input size the `weights_file` weights are built for


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """MobileNetV2 weights for 96-pixel inputs, saved the way an operator would provide them
    (random, but real)."""
    import keras  # only the tests that ask for weights pay for importing Keras

    model = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(WEIGHTS_SIZE, WEIGHTS_SIZE, 3)
    )
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_96.weights.h5"
    model.save_weights(path)
    return str(path)
