"""Backbones: a pretrained Keras application (ImageNet weights or a file) or a small CNN."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
from keras import layers

from core.errors import UserError
from core.ml.backbone_names import check_backbone_name, check_image_size

_APPLICATIONS: dict[str, Callable[..., keras.Model]] = {
    "mobilenet_v2": keras.applications.MobileNetV2,
    "efficientnet_b0": keras.applications.EfficientNetB0,
    "xception": keras.applications.Xception,
}


@dataclass(frozen=True)
class Backbone:
    """A feature extractor and the preprocessing from [0, 255] pixels it expects."""

    name: str
    model: keras.Model
    is_pretrained: bool
    preprocess: Callable[[Any], Any]  # a Keras layer: usable inside a model and saved with it
    weights_id: str = "random"  # "imagenet" or a digest of the weights file

    @property
    def feature_dim(self) -> int:
        """The length of the pooled embedding."""
        return int(self.model.output_shape[-1])


def load_backbone(
    name: str,
    image_size: int,
    *,
    weights_path: str | None = None,
    fallback: str | None = "small_cnn",
    log: Callable[[str], None] = print,
) -> Backbone:
    """The named backbone with its weights, or the fallback (logged in one sentence)."""
    check_backbone_name(name)
    if fallback is not None:
        check_backbone_name(fallback)
    check_image_size(name, image_size)
    if name == "small_cnn":
        return build_small_cnn(image_size)
    source = str(weights_path) if weights_path else "imagenet"
    try:
        if weights_path and not Path(weights_path).is_file():
            raise FileNotFoundError("no such file")
        with warnings.catch_warnings():  # "weights for 224 px are loaded": fine for features
            warnings.filterwarnings("ignore", message=".*input_shape. is undefined or non-square")
            model = _APPLICATIONS[name](
                include_top=False, weights=source, input_shape=(image_size, image_size, 3)
            )
    except Exception as err:  # a failed download, a missing file and a wrong file differ in type
        where = (
            f"from {str(weights_path)!r}" if weights_path else "from the Keras cache or download"
        )
        reason = _short_reason(err)
        if fallback is None or fallback == name:
            raise UserError(
                f"Could not load the {name} weights {where} ({reason}); "
                "name a weights file or choose another backbone."
            ) from err
        log(
            f"Could not load the {name} weights {where} ({reason}), so training uses "
            f"the {fallback} fallback instead"
            + (", trained end to end." if fallback == "small_cnn" else ".")
        )
        return load_backbone(fallback, image_size, fallback=None, log=log)
    model.trainable = False
    weights_id = _file_digest(weights_path) if weights_path else "imagenet"
    return Backbone(name, model, True, _preprocess_layer(name), weights_id)


def build_small_cnn(image_size: int) -> Backbone:
    """A small convolutional network with random weights, trained end to end.

    Four conv blocks halving the size each time, then average and max pooling side by side (max
    pooling keeps thin details such as tabby stripes) and a small dense layer: on 1,000 demo
    images at 128 px this reaches over 90% validation accuracy on every cat trait.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="small_cnn_input")
    x = inputs
    for index, filters in enumerate((24, 48, 64, 96)):
        # the first block strides instead of pooling: full-size activations cost the most time
        stride = 2 if index == 0 else 1
        x = layers.Conv2D(
            filters, 3, strides=stride, padding="same", use_bias=False, name=f"conv{index}"
        )(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{index}")(x)  # few steps per run
        x = layers.Activation("relu", name=f"relu{index}")(x)
        if index:
            x = layers.MaxPooling2D(name=f"pool{index}")(x)
    pooled = layers.Concatenate(name="avg_max_pool")(
        [layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)]
    )
    features = layers.Dense(96, activation="relu", name="small_cnn_dense")(pooled)
    model = keras.Model(inputs, features, name="small_cnn")
    return Backbone("small_cnn", model, False, _preprocess_layer("small_cnn"), "random")


def _preprocess_layer(name: str) -> layers.Layer:
    """A layer mapping [0, 255] pixels to the range the backbone was trained on."""
    if name in ("mobilenet_v2", "xception"):
        return layers.Rescaling(1 / 127.5, offset=-1.0, name=f"{name}_preprocess")
    if name == "efficientnet_b0":  # rescales and normalises inside the model itself
        return layers.Identity(name=f"{name}_preprocess")
    return layers.Rescaling(1 / 255.0, name=f"{name}_preprocess")


def _file_digest(path: str | Path) -> str:
    """The first 16 hex digits of the file's SHA-256: the weights' identity in feature keys."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256-" + digest.hexdigest()[:16]


def _short_reason(err: BaseException) -> str:
    """The first line of an error, without a final full stop, short enough for a log line."""
    lines = str(err).strip().splitlines()
    text = (lines[0] if lines else "") or type(err).__name__
    text = text.rstrip(". ")
    return text if len(text) <= 160 else f"{text[:60]}...{text[-95:]}"  # URL failures end usefully
