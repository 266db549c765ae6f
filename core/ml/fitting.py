"""Fitting the network: Keras callbacks, the heads on cached embeddings, end to end, fine-tuning."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from core.labels import LabelSchema
from core.ml.backbones import Backbone
from core.ml.data import ImageBatches, ImageSource, TrainingCancelled, predict_in_batches
from core.ml.hyperparameters import HyperParameters
from core.ml.model_builder import (
    attach_heads,
    build_head_model,
    build_model,
    make_inference_function,
    with_features,
)

Outputs = dict[str, np.ndarray]  # per head (and "features"): one row per image


@dataclass
class TrainingCallbacks:
    """Optional hooks for progress, per-epoch metrics and cancellation (checked every batch)."""

    on_log: Callable[[str], None] | None = None
    on_epoch_end: Callable[[int, int, dict[str, float]], None] | None = None
    should_cancel: Callable[[], bool] | None = None

    def log(self, message: str) -> None:
        """Pass one sentence to on_log, if set."""
        if self.on_log is not None:
            self.on_log(message)

    def is_cancelled(self) -> bool:
        """Whether should_cancel says to stop."""
        return self.should_cancel is not None and bool(self.should_cancel())


@dataclass
class Split:
    """Image indices with their Keras targets and sample weights."""

    indices: list[int]
    targets: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]


class KerasBridge(keras.callbacks.Callback):
    """Forwards Keras' per-batch and per-epoch events to TrainingCallbacks."""

    def __init__(self, callbacks: TrainingCallbacks, epochs: int) -> None:
        super().__init__()
        self.callbacks = callbacks
        self.epochs = epochs
        self.epoch = 0
        self.history: list[dict[str, float]] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.callbacks.is_cancelled():
            raise TrainingCancelled(
                f"Training was cancelled in epoch {self.epoch} at batch {batch + 1}."
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {name: float(value) for name, value in (logs or {}).items()}
        self.history.append({"epoch": epoch + 1, **metrics})
        if self.callbacks.on_epoch_end is not None:
            self.callbacks.on_epoch_end(epoch + 1, self.epochs, metrics)


class WorstHeadStopping(keras.callbacks.Callback):
    """Stop when the worst head's validation accuracy stops improving; keep the best weights.

    Ties (validation accuracy moves in steps) go to the lower validation loss. The total loss
    alone would stop while a slow head (tabby) still improves. Epochs up to ``settle_epochs``
    count towards the best weights but not towards patience: while a cosine schedule's learning
    rate is still high, validation accuracy jumps by 10-20 points between epochs (issue 14).
    """

    def __init__(
        self,
        trait_names: Sequence[str],
        patience: int,
        settle_epochs: int = 0,
        *,
        restore_best: bool = True,
    ) -> None:
        super().__init__()
        self.trait_names = list(trait_names)
        self.patience = patience
        self.settle_epochs = settle_epochs
        self.restore_best = restore_best
        self.best: tuple[float, float] | None = None
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None
        self.wait = 0

    def score(self, logs: Mapping[str, float]) -> tuple[float, float] | None:
        """(worst validation accuracy, minus validation loss), or None without validation."""
        accuracies = [logs.get(f"val_{name}_accuracy") for name in self.trait_names]
        known = [float(value) for value in accuracies if value is not None]
        if not known or "val_loss" not in logs:
            return None
        return round(min(known), 4), -float(logs["val_loss"])

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        score = self.score(logs or {})
        if score is None:
            return
        if self.best is None or score > self.best:
            self.best, self.best_epoch, self.wait = score, epoch + 1, 0
            if self.restore_best:  # else nothing reads them: WeightAveraging sets the weights
                self.best_weights = self.model.get_weights()
            return
        if epoch + 1 <= self.settle_epochs:
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class WeightAveraging(keras.callbacks.Callback):
    """At the end of training, the mean of the weights after each of the last ``count`` epochs.

    The low-rate end of a cosine schedule circles a minimum; the mean lies nearer its centre than
    any one epoch (stochastic weight averaging). On 1,000 demo images the worst held-out trait
    rose from 92.7% to 93.9% (seed 7) and 93.6% (seed 29) (issue 14).
    """

    def __init__(self, count: int) -> None:
        super().__init__()
        self.recent: deque[list[np.ndarray]] = deque(maxlen=count)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.recent.append(self.model.get_weights())

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.recent:
            self.model.set_weights([_mean(values) for values in zip(*self.recent, strict=True)])


def _mean(values: Sequence[np.ndarray]) -> np.ndarray:
    """The mean of float arrays; the last of others (counters, random seeds' states)."""
    if np.issubdtype(values[0].dtype, np.floating):
        return np.mean(values, axis=0).astype(values[0].dtype)
    return values[-1]


def averaged_epochs(epochs: int) -> int:
    """How many of the last epochs of a cosine schedule WeightAveraging averages: 6 of 30."""
    return max(1, epochs // 5)


def compile_model(
    model: keras.Model, schema: LabelSchema, learning_rate: float, decay_steps: int | None = None
) -> None:
    """Adam and one weighted loss per trait; sample weights carry the masks and class weights."""
    losses = {
        trait.name: "sparse_categorical_crossentropy"
        if trait.is_categorical
        else "binary_crossentropy"
        for trait in schema.traits
    }
    rate = (
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.02)
        if decay_steps
        else learning_rate
    )
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=losses,
        loss_weights={trait.name: trait.loss_weight for trait in schema.traits},
        # weighted, so that gated traits count only where they apply (the sample weights)
        weighted_metrics={trait.name: ["accuracy"] for trait in schema.traits},
    )


def train_heads(
    schema: LabelSchema,
    backbone: Backbone,
    vectors: np.ndarray,
    params: HyperParameters,
    train_split: Split,
    validation_split: Split,
    keras_callbacks: list[keras.callbacks.Callback],
) -> tuple[keras.Model, Outputs, Outputs]:
    """Frozen backbone: fit only the heads on the cached embeddings."""
    head_model = build_head_model(schema, backbone.feature_dim)
    compile_model(head_model, schema, params.learning_rate)
    train_x = vectors[train_split.indices]
    validation_x = vectors[validation_split.indices]
    head_model.fit(
        train_x,
        train_split.targets,
        sample_weight=train_split.weights,
        validation_data=(validation_x, validation_split.targets, validation_split.weights),
        epochs=params.epochs,
        batch_size=params.batch_size,
        shuffle=True,
        callbacks=keras_callbacks,
        verbose=0,
    )
    train_outputs = {**head_model.predict(train_x, batch_size=256, verbose=0), "features": train_x}
    validation_outputs = {
        **head_model.predict(validation_x, batch_size=256, verbose=0),
        "features": validation_x,
    }
    model = attach_heads(backbone, head_model, params.image_size)
    return model, train_outputs, validation_outputs


def settle_epochs(epochs: int) -> int:
    """Epochs of a cosine schedule before early stopping may count: its rate is then at 1/4."""
    return epochs * 2 // 3


def train_end_to_end(
    schema: LabelSchema,
    backbone: Backbone,
    images: ImageSource,
    params: HyperParameters,
    splits: tuple[Split, Split],
    keras_callbacks: list[keras.callbacks.Callback],
) -> tuple[keras.Model, Outputs, Outputs]:
    """No pretrained weights: train the whole network on images, augmented, batch by batch."""
    model = build_model(
        schema, backbone, image_size=params.image_size, augment=params.augment, seed=params.seed
    )
    steps = params.epochs * -(-len(splits[0].indices) // params.batch_size)
    compile_model(model, schema, params.learning_rate, decay_steps=steps)  # cosine to the end
    return fit_on_images(model, images, params, splits, keras_callbacks, params.epochs)


def unfreeze_top_layers(backbone: Backbone, count: int) -> list[str]:
    """Make the top ``count`` backbone layers with weights trainable (not BatchNorm); names."""
    backbone.model.trainable = True
    for layer in backbone.model.layers:
        layer.trainable = False
    weighted = [
        layer
        for layer in backbone.model.layers
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)
    ]
    chosen = weighted[-count:] if count else []
    for layer in chosen:
        layer.trainable = True
    return [layer.name for layer in chosen]


def fine_tune(
    schema: LabelSchema,
    backbone: Backbone,
    model: keras.Model,
    images: ImageSource,
    params: HyperParameters,
    splits: tuple[Split, Split],
    keras_callbacks: list[keras.callbacks.Callback],
    layer_count: int,
    epochs: int,
    log: Callable[[str], None],
) -> tuple[keras.Model, Outputs, Outputs, list[str]]:
    """After the heads converged: train them with the top backbone layers at a lower rate.

    Returns the model, its outputs per split and the names of the backbone layers it trained.
    """
    unfrozen = unfreeze_top_layers(backbone, layer_count)
    rate = params.learning_rate / 10
    log(
        f"Fine-tuning the top {len(unfrozen)} layers of {backbone.name} with the heads at "
        f"learning rate {rate:g} for up to {epochs} epochs."
    )
    compile_model(model, schema, rate)
    return (*fit_on_images(model, images, params, splits, keras_callbacks, epochs), unfrozen)


class _EpochMeans:
    """Per-batch Keras logs averaged as model.fit does: losses by images, accuracies by weight."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.weights: dict[str, float] = {}

    def add(self, logs: Mapping[str, float], batch: tuple) -> None:
        """Add one batch's logs; batch is (images, targets) or (images, targets, weights)."""
        sample_weights = batch[2] if len(batch) > 2 else {}
        for name, value in logs.items():
            trait = name.removesuffix("_accuracy")
            if name != trait and trait in sample_weights:
                weight = float(np.sum(sample_weights[trait]))
            else:
                weight = float(len(batch[0]))
            self.sums[name] = self.sums.get(name, 0.0) + float(value) * weight
            self.weights[name] = self.weights.get(name, 0.0) + weight

    def result(self, prefix: str = "") -> dict[str, float]:
        """The epoch's value of every log, 0 where nothing had weight (as Keras reports)."""
        return {
            prefix + name: total / self.weights[name] if self.weights[name] else 0.0
            for name, total in self.sums.items()
        }


def run_epochs(
    model: keras.Model,
    train_batches: ImageBatches,
    validation_batches: ImageBatches,
    keras_callbacks: list[keras.callbacks.Callback],
    epochs: int,
) -> None:
    """model.fit's epochs and callbacks, batch by batch without tf.data.

    On 2 cores, fit's tf.data pipeline left one core idle in about half the epochs (a small_cnn
    epoch took 10.3 s instead of 5.7 s); the same steps called one by one use both (issue 14).
    """
    hooks = keras.callbacks.CallbackList(keras_callbacks, model=model)
    model.stop_training = False
    logs: dict[str, float] = {}
    hooks.on_train_begin()
    for epoch in range(epochs):
        hooks.on_epoch_begin(epoch)
        train_means, validation_means = _EpochMeans(), _EpochMeans()
        for index in range(len(train_batches)):
            hooks.on_train_batch_begin(index)
            batch = train_batches[index]
            step_logs = model.train_on_batch(*batch, return_dict=True)
            train_means.add(step_logs, batch)
            hooks.on_train_batch_end(index, step_logs)
        train_batches.on_epoch_end()
        for index in range(len(validation_batches)):
            batch = validation_batches[index]
            validation_means.add(model.test_on_batch(*batch, return_dict=True), batch)
        logs = {**train_means.result(), **validation_means.result("val_")}
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    hooks.on_train_end(logs)


def fit_on_images(
    model: keras.Model,
    images: ImageSource,
    params: HyperParameters,
    splits: tuple[Split, Split],
    keras_callbacks: list[keras.callbacks.Callback],
    epochs: int,
) -> tuple[keras.Model, Outputs, Outputs]:
    """Fit a compiled image model batch by batch; then its outputs and embeddings per split."""
    size, batch_size = params.image_size, params.batch_size

    def batches(split: Split, shuffle: bool) -> ImageBatches:
        return ImageBatches(
            images,
            split.indices,
            image_size=size,
            batch_size=batch_size,
            targets=split.targets,
            weights=split.weights,
            shuffle=shuffle,
            seed=params.seed,
        )

    train_split, validation_split = splits
    run_epochs(
        model,
        batches(train_split, True),
        batches(validation_split, False),
        keras_callbacks,
        epochs,
    )
    infer = make_inference_function(with_features(model), size)  # embeddings for the OOD score
    return (
        model,
        predict_in_batches(infer, images, train_split.indices, size, batch_size),
        predict_in_batches(infer, images, validation_split.indices, size, batch_size),
    )
