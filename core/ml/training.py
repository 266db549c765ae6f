"""Training a model from labelled images: the training loop and its results."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from core.labels import LabelSchema
from core.ml.backbones import Backbone, load_backbone
from core.ml.calibration import calibrate, calibrate_outputs, temperatures
from core.ml.data import (
    ArrayImageSource,
    ImageBatches,
    ImageSource,
    TrainingCancelled,
    predict_in_batches,
)
from core.ml.evaluation import summarize
from core.ml.feature_cache import (
    FeatureStore,
    InMemoryFeatureStore,
    compute_missing_features,
    feature_key,
)
from core.ml.hyperparameters import RESIZE_MODES, HyperParameters
from core.ml.model_builder import (
    attach_heads,
    build_head_model,
    build_model,
    distance_features,
    head_weights,
    make_inference_function,
    with_features,
)
from core.ml.ood import fit_unfamiliarity
from core.ml.targets import (
    check_training_set,
    class_weights,
    encode_targets,
    fill_open_values,
    raw_targets,
    stratified_split,
)

__all__ = [
    "RESIZE_MODES",
    "HyperParameters",
    "TrainingCallbacks",
    "TrainingCancelled",
    "TrainingResult",
    "check_training_set",
    "class_weights",
    "encode_targets",
    "stratified_split",
    "train",
]


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
class TrainingResult:
    """A trained image -> outputs model and how well it did on the validation split."""

    model: keras.Model
    backbone_name: str
    metrics: dict[str, dict[str, float | None]]
    confusion: dict[str, dict[str, Any]]
    thresholds: dict[str, float]
    validation_indices: list[int]
    history: list[dict[str, float]]
    epochs_run: int
    schema: LabelSchema | None = None  # with open traits' values fixed from the training set
    warnings: list[str] = field(default_factory=list)
    feature_key: str | None = None  # the cached embeddings it used (frozen backbones only)
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)  # per trait
    ood: dict[str, Any] = field(default_factory=dict)  # the "unlike the training images" score


class _KerasBridge(keras.callbacks.Callback):
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
    alone would stop while a slow head (tabby) still improves.
    """

    def __init__(self, trait_names: Sequence[str], patience: int) -> None:
        super().__init__()
        self.trait_names = list(trait_names)
        self.patience = patience
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
            self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def compile_model(
    model: keras.Model, schema: LabelSchema, learning_rate: float, decay_steps: int | None = None
) -> None:
    """Adam and one loss per trait; sample weights carry the masks and class weights."""
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
        # weighted, so that gated traits count only where they apply (the sample weights)
        weighted_metrics={trait.name: ["accuracy"] for trait in schema.traits},
    )


def train(
    schema: LabelSchema,
    images: ImageSource,
    labels: Sequence[Mapping[str, Any]],
    params: HyperParameters,
    callbacks: TrainingCallbacks | None = None,
    *,
    features: FeatureStore | None = None,
    weights_path: str | None = None,
    fallback: str | None = "small_cnn",
    fine_tune_layers: int = 0,
    fine_tune_epochs: int = 5,
) -> TrainingResult:
    """Train a model on the labelled images; raise TrainingCancelled when asked to stop.

    With a pretrained backbone and ``fine_tune_layers`` > 0, the top that many backbone layers
    with weights are then trained too, with the heads, at a tenth of the learning rate for up
    to ``fine_tune_epochs`` (BatchNorm statistics stay frozen).
    """
    if fine_tune_layers < 0 or fine_tune_epochs < 1:
        raise ValueError(f"fine_tune_layers {fine_tune_layers} must be >= 0, epochs >= 1.")
    params.validate()
    callbacks = callbacks or TrainingCallbacks()
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels; give one label each.")
    labels = [dict(label) for label in labels]
    schema = fill_open_values(schema, labels)
    warnings = check_training_set(schema, labels)
    for warning in warnings:
        callbacks.log(warning)
    train_indices, validation_indices = stratified_split(
        labels, params.validation_share, params.seed
    )
    keras.utils.set_random_seed(params.seed)
    backbone = load_backbone(
        params.backbone,
        params.image_size,
        weights_path=weights_path,
        fallback=fallback,
        log=callbacks.log,
    )
    train_labels = [labels[index] for index in train_indices]
    validation_labels = [labels[index] for index in validation_indices]
    weights = class_weights(schema, *raw_targets(schema, train_labels))
    train_split = _Split(train_indices, *encode_targets(schema, train_labels, weights=weights))
    validation_split = _Split(
        validation_indices, *encode_targets(schema, validation_labels, weights=weights)
    )
    bridge = _KerasBridge(callbacks, params.epochs)
    keras_callbacks = [
        bridge,
        WorstHeadStopping(schema.trait_names, params.patience),
    ]
    what = "the heads on frozen " if backbone.is_pretrained else "end to end with "
    callbacks.log(
        f"Training {what}{backbone.name} on {len(train_indices)} images, validating on "
        f"{len(validation_indices)}, for up to {params.epochs} epochs."
    )
    key = feature_key(backbone, params.image_size, params.resize_mode)
    if backbone.is_pretrained:
        store = features if features is not None else InMemoryFeatureStore()
        vectors = compute_missing_features(
            backbone,
            images,
            store,
            key,
            batch_size=params.batch_size,
            log=callbacks.log,
            should_cancel=callbacks.should_cancel,
        )
        model, train_outputs, validation_outputs = _train_heads(
            schema, backbone, vectors, params, train_split, validation_split, keras_callbacks
        )
        if fine_tune_layers:
            model, train_outputs, validation_outputs = _fine_tune(
                schema,
                backbone,
                model,
                images,
                params,
                (train_split, validation_split),
                [bridge, WorstHeadStopping(schema.trait_names, params.patience)],
                fine_tune_layers,
                fine_tune_epochs,
                callbacks.log,
            )
    else:
        model, train_outputs, validation_outputs = _train_end_to_end(
            schema, backbone, images, params, train_split, validation_split, keras_callbacks
        )
    validation_targets = raw_targets(schema, validation_labels)
    calibration = calibrate(schema, validation_outputs, validation_targets)
    scaled = temperatures(calibration)
    metrics, confusion, thresholds = summarize(  # thresholds on what the predictor will see
        schema,
        _calibrated(schema, train_outputs, scaled),
        raw_targets(schema, train_labels),
        _calibrated(schema, validation_outputs, scaled),
        validation_targets,
        validation_indices,
    )
    ood = _fit_unfamiliarity(schema, model, params, train_outputs, validation_outputs)
    callbacks.log(_calibration_sentence(calibration, ood))
    accuracies = ", ".join(
        f"{name} {values['val_accuracy']:.0%}"
        for name, values in metrics.items()
        if values["val_accuracy"] is not None
    )
    callbacks.log(
        f"Finished after {len(bridge.history)} epochs; validation accuracy: {accuracies}."
    )
    return TrainingResult(
        model=model,
        backbone_name=backbone.name,
        metrics=metrics,
        confusion=confusion,
        thresholds=thresholds,
        validation_indices=validation_indices,
        history=bridge.history,
        epochs_run=len(bridge.history),
        schema=schema,
        warnings=warnings,
        feature_key=key if backbone.is_pretrained else None,
        calibration=calibration,
        ood=ood,
    )


UNFAMILIAR_COUNT = 100  # made-up images (noise, textures, documents, shapes) to tune the threshold


def _calibrated(
    schema: LabelSchema, outputs: Outputs, temperature_by_trait: Mapping[str, float]
) -> Outputs:
    """Outputs in the model's own shapes, each head softened by its temperature."""
    scaled = calibrate_outputs(schema, outputs, temperature_by_trait)
    return {
        trait.name: scaled[trait.name] if trait.is_categorical else scaled[trait.name][:, 1:]
        for trait in schema.traits
    }


def _fit_unfamiliarity(
    schema: LabelSchema,
    model: keras.Model,
    params: HyperParameters,
    train_outputs: Outputs,
    validation_outputs: Outputs,
) -> dict[str, Any]:
    """Fit every OOD score on the training embeddings and keep the one that works best."""
    from core.ml.unfamiliar_images import unfamiliar_images

    size = params.image_size
    made_up = unfamiliar_images(UNFAMILIAR_COUNT, size, seed=params.seed)
    source = ArrayImageSource([str(index) for index in range(len(made_up))], made_up)
    infer = make_inference_function(with_features(model), size)
    unfamiliar = predict_in_batches(infer, source, list(range(len(made_up))), size, 32)
    return fit_unfamiliarity(
        (
            distance_features(train_outputs),
            distance_features(validation_outputs),
            distance_features(unfamiliar),
        ),
        (validation_outputs["features"], unfamiliar["features"]),
        head_weights(model, schema.trait_names),
        seed=params.seed,
    )


def _calibration_sentence(calibration: Mapping[str, Any], ood: Mapping[str, Any]) -> str:
    """One log sentence: the calibration error before and after, and the OOD score kept."""
    errors = ", ".join(
        f"{name} {values['ece_before']:.3f} -> {values['ece_after']:.3f}"
        for name, values in calibration.items()
        if values.get("ece_before") is not None
    )
    measured = ood.get("measured", {}).get(ood.get("method"), {})
    return (
        f"Calibrated each head (expected calibration error {errors}); the unfamiliar-image "
        f"score is {ood.get('method')} (AUROC {measured.get('auroc', float('nan')):.3f}, "
        f"{measured.get('detection_rate', float('nan')):.0%} of made-up images caught)."
    )


@dataclass
class _Split:
    """Image indices with their Keras targets and sample weights."""

    indices: list[int]
    targets: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]


Outputs = dict[str, np.ndarray]


def _train_heads(
    schema: LabelSchema,
    backbone: Backbone,
    vectors: np.ndarray,
    params: HyperParameters,
    train_split: _Split,
    validation_split: _Split,
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


def _train_end_to_end(
    schema: LabelSchema,
    backbone: Backbone,
    images: ImageSource,
    params: HyperParameters,
    train_split: _Split,
    validation_split: _Split,
    keras_callbacks: list[keras.callbacks.Callback],
) -> tuple[keras.Model, Outputs, Outputs]:
    """No pretrained weights: train the whole network on images, augmented, batch by batch."""
    model = build_model(
        schema, backbone, image_size=params.image_size, augment=params.augment, seed=params.seed
    )
    size, batch_size = params.image_size, params.batch_size
    steps = params.epochs * -(-len(train_split.indices) // batch_size)
    compile_model(model, schema, params.learning_rate, decay_steps=steps)  # cosine to the end

    def batches(split: _Split, shuffle: bool) -> ImageBatches:
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

    model.fit(
        batches(train_split, True),
        validation_data=batches(validation_split, False),
        epochs=params.epochs,
        callbacks=keras_callbacks,
        verbose=0,
    )
    infer = make_inference_function(with_features(model), size)  # embeddings for the OOD score
    train_outputs = predict_in_batches(infer, images, train_split.indices, size, batch_size)
    validation_outputs = predict_in_batches(
        infer, images, validation_split.indices, size, batch_size
    )
    return model, train_outputs, validation_outputs


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


def _fine_tune(
    schema: LabelSchema,
    backbone: Backbone,
    model: keras.Model,
    images: ImageSource,
    params: HyperParameters,
    splits: tuple[_Split, _Split],
    keras_callbacks: list[keras.callbacks.Callback],
    layer_count: int,
    epochs: int,
    log: Callable[[str], None],
) -> tuple[keras.Model, Outputs, Outputs]:
    """After the heads converged: train them with the top backbone layers at a lower rate."""
    unfrozen = unfreeze_top_layers(backbone, layer_count)
    rate = params.learning_rate / 10
    log(
        f"Fine-tuning the top {len(unfrozen)} layers of {backbone.name} with the heads at "
        f"learning rate {rate:g} for up to {epochs} epochs."
    )
    compile_model(model, schema, rate)
    train_split, validation_split = splits
    size, batch_size = params.image_size, params.batch_size

    def batches(split: _Split, shuffle: bool) -> ImageBatches:
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

    model.fit(
        batches(train_split, True),
        validation_data=batches(validation_split, False),
        epochs=epochs,
        callbacks=keras_callbacks,
        verbose=0,
    )
    infer = make_inference_function(with_features(model), size)
    return (
        model,
        predict_in_batches(infer, images, train_split.indices, size, batch_size),
        predict_in_batches(infer, images, validation_split.indices, size, batch_size),
    )
