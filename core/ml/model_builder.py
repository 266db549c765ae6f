"""Keras models built from a label schema: one named output head per trait."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from core.errors import UserError
from core.labels import LabelSchema
from core.ml.backbones import Backbone
from core.ml.hyperparameters import AUGMENTATION


def build_heads(
    schema: LabelSchema, features: keras.KerasTensor, *, dropout_rate: float = 0.2
) -> dict[str, keras.KerasTensor]:
    """One output per trait: sigmoid for yes/no, softmax over the values otherwise."""
    hidden = layers.Dropout(dropout_rate, name="top_dropout")(features)
    heads = {}
    for trait in schema.traits:
        if trait.is_categorical and len(trait.values) < 2:
            raise ValueError(f"Trait {trait.name!r} needs at least two values, not {trait.values}.")
        heads[trait.name] = (
            layers.Dense(len(trait.values), activation="softmax", name=trait.name)(hidden)
            if trait.is_categorical
            else layers.Dense(1, activation="sigmoid", name=trait.name)(hidden)
        )
    return heads


_SEED_OFFSETS = {"flip": 0, "contrast": 3, "brightness": 4}  # each layer draws its own numbers


def build_augmentation(seed: int = 0) -> keras.Sequential:
    """The random changes of AUGMENTATION (flips, contrast, brightness): active only in training."""
    steps: list[layers.Layer] = []
    for kind, value in AUGMENTATION:
        layer_seed = seed + _SEED_OFFSETS[kind]
        if kind == "flip":
            steps.append(layers.RandomFlip(value, seed=layer_seed))
        else:
            make = {"contrast": layers.RandomContrast, "brightness": layers.RandomBrightness}[kind]
            steps.append(make(value, value_range=(0, 255), seed=layer_seed))
    return keras.Sequential(steps, name="augmentation")


def _pooled_features(
    backbone: Backbone, inputs: keras.KerasTensor, augment: bool, seed: int
) -> keras.KerasTensor:
    """Pixels -> (augmentation) -> preprocessing -> backbone -> global average pooling."""
    x = build_augmentation(seed)(inputs) if augment else inputs
    x = backbone.preprocess(x)
    if backbone.is_pretrained:
        backbone.model.trainable = False
        x = backbone.model(x, training=False)  # BatchNorm stays frozen even when fine-tuning
    else:
        x = backbone.model(x)
    if len(x.shape) == 2:  # the backbone pools itself (small_cnn)
        return x
    return layers.GlobalAveragePooling2D(name="avg_pool")(x)


def image_input(image_size: int) -> keras.KerasTensor:
    """The model input: float pixels in [0, 255], channels last."""
    return keras.Input(shape=(image_size, image_size, 3), name="image")


def build_model(
    schema: LabelSchema,
    backbone: Backbone,
    *,
    image_size: int,
    dropout_rate: float = 0.2,
    augment: bool = False,
    seed: int = 0,
) -> keras.Model:
    """The backbone (frozen when pretrained) with one head per trait of the schema."""
    inputs = image_input(image_size)
    features = _pooled_features(backbone, inputs, augment, seed)
    heads = build_heads(schema, features, dropout_rate=dropout_rate)
    return keras.Model(inputs, heads, name=schema.name)


def build_feature_model(backbone: Backbone, image_size: int) -> keras.Model:
    """Pixels in [0, 255] -> the pooled embedding of a frozen backbone."""
    inputs = image_input(image_size)
    return keras.Model(
        inputs, _pooled_features(backbone, inputs, False, 0), name=f"{backbone.name}_features"
    )


def build_head_model(
    schema: LabelSchema, feature_dim: int, *, dropout_rate: float = 0.2
) -> keras.Model:
    """The heads alone, trained on cached embeddings."""
    inputs = keras.Input(shape=(feature_dim,), name="features")
    heads = build_heads(schema, inputs, dropout_rate=dropout_rate)
    return keras.Model(inputs, heads, name=f"{schema.name}_heads")


def attach_heads(backbone: Backbone, head_model: keras.Model, image_size: int) -> keras.Model:
    """The full image -> outputs model: the frozen backbone followed by trained heads."""
    inputs = image_input(image_size)
    outputs = head_model(_pooled_features(backbone, inputs, False, 0))
    return keras.Model(inputs, outputs, name=head_model.name.removesuffix("_heads"))


def make_inference_function(
    model: keras.Model, image_size: int
) -> Callable[[np.ndarray], dict[str, np.ndarray] | np.ndarray]:
    """A traced call of the model in inference mode, much faster than eager or per-image predict."""
    spec = tf.TensorSpec(shape=(None, image_size, image_size, 3), dtype=tf.float32)

    @tf.function(input_signature=[spec])
    def infer(batch: tf.Tensor):
        return model(batch, training=False)

    def call(batch: np.ndarray):
        outputs = infer(tf.convert_to_tensor(batch, dtype=tf.float32))
        if isinstance(outputs, dict):
            return {name: np.asarray(value) for name, value in outputs.items()}
        return np.asarray(outputs)

    return call


def model_to_bytes(model: keras.Model) -> bytes:
    """The model in the `.keras` format, as bytes to store."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def model_from_bytes(data: bytes) -> keras.Model:
    """A model read back from `model_to_bytes` output (not compiled)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, compile=False)
        except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise UserError(
                f"The stored model ({len(data)} bytes) could not be read ({err}); "
                "activate another model or train a new one."
            ) from err


def _heads_owner(model: keras.Model) -> keras.Model:
    """The model whose layers include the heads: the model itself, or its nested head model."""
    names = {layer.name for layer in model.layers}
    if "top_dropout" in names:
        return model
    for layer in model.layers:
        if isinstance(layer, keras.Model) and "top_dropout" in {sub.name for sub in layer.layers}:
            return layer
    raise ValueError(f"Model {model.name!r} has no 'top_dropout' layer before its heads.")


def feature_tensor(model: keras.Model) -> keras.KerasTensor:
    """The pooled embedding the heads read, as a tensor of the model's own graph."""
    owner = _heads_owner(model)
    if owner is model:
        return model.get_layer("top_dropout").input
    index = model.layers.index(owner)
    return model.layers[index - 1].output  # the layer feeding the nested head model


OOD_BLOCKS = ("relu0", "relu1")  # small_cnn blocks whose activation statistics the OOD score reads


def with_features(model: keras.Model) -> keras.Model:
    """The same model with the embedding the heads read as one more output, named "features".

    A small_cnn model also outputs "ood_features": the mean and log(1 + standard deviation) of
    each channel of its first blocks. The final embedding only knows cats from scenes; colour
    and texture statistics tell noise, documents and plain shapes from training photos.
    """
    outputs = dict(model.output) if isinstance(model.output, dict) else {}
    if not outputs:
        raise ValueError(f"Model {model.name!r} must have one named output per trait.")
    names = {layer.name for layer in model.layers}
    if not {"small_cnn", "small_cnn_preprocess"} <= names:
        return keras.Model(model.inputs, {**outputs, "features": feature_tensor(model)})
    cnn = model.get_layer("small_cnn")
    statistics = []
    for name in OOD_BLOCKS:
        activations = cnn.get_layer(name).output
        statistics.append(keras.ops.mean(activations, axis=(1, 2)))
        statistics.append(keras.ops.log1p(keras.ops.std(activations, axis=(1, 2))))
    block_statistics = keras.Model(
        cnn.input, keras.ops.concatenate(statistics, axis=-1), name="ood_statistics"
    )
    pixels = model.get_layer("small_cnn_preprocess").output  # a tensor of the model's graph
    return keras.Model(
        model.inputs,
        {
            **outputs,
            "features": feature_tensor(model),
            "ood_features": block_statistics(pixels),
        },
    )


def distance_features(outputs: dict[str, np.ndarray]) -> np.ndarray:
    """What the OOD distance reads from with_features outputs."""
    return outputs.get("ood_features", outputs["features"])


def head_weights(model: keras.Model, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Kernel and bias of each named head's dense layer (its logits are features @ W + b)."""
    owner = _heads_owner(model)
    weights = {}
    for name in names:
        kernel, bias = owner.get_layer(name).get_weights()
        weights[name] = (np.asarray(kernel, dtype=np.float64), np.asarray(bias, dtype=np.float64))
    return weights
