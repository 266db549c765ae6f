"""Training a model from labelled images: split, fit, calibrate, fit the unfamiliar score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras

from core.labels import LabelSchema
from core.ml.backbones import load_backbone
from core.ml.calibration import calibrate, calibrate_outputs, calibration_errors, temperatures
from core.ml.data import ArrayImageSource, ImageSource, TrainingCancelled, predict_in_batches
from core.ml.evaluation import summarize
from core.ml.feature_cache import (
    FeatureStore,
    InMemoryFeatureStore,
    compute_missing_features,
    feature_key,
)
from core.ml.fitting import (
    KerasBridge,
    Outputs,
    Split,
    TrainingCallbacks,
    WeightAveraging,
    WorstHeadStopping,
    averaged_epochs,
    fine_tune,
    settle_epochs,
    train_end_to_end,
    train_heads,
    unfreeze_top_layers,
)
from core.ml.hyperparameters import RESIZE_MODES, HyperParameters
from core.ml.model_builder import (
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
    "unfreeze_top_layers",
]


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
    fine_tuned_layers: list[str] = field(default_factory=list)  # backbone layers trained too


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
) -> TrainingResult:
    """Train a model on the labelled images; raise TrainingCancelled when asked to stop.

    With a pretrained backbone and ``params.fine_tune_layers`` > 0, the top that many backbone
    layers with weights are then trained too, with the heads, at a tenth of the learning rate
    for up to ``params.fine_tune_epochs`` (BatchNorm statistics stay frozen).
    """
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
    train_split = Split(train_indices, *encode_targets(schema, train_labels, weights=weights))
    validation_split = Split(
        validation_indices, *encode_targets(schema, validation_labels, weights=weights)
    )
    bridge = KerasBridge(callbacks, params.epochs)
    if backbone.is_pretrained:
        keras_callbacks = [bridge, WorstHeadStopping(schema.trait_names, params.patience)]
    else:  # the cosine schedule's early epochs are too noisy to stop on; its last are averaged
        keras_callbacks = [
            bridge,
            WorstHeadStopping(
                schema.trait_names,
                params.patience,
                settle_epochs(params.epochs),
                restore_best=False,
            ),
            WeightAveraging(averaged_epochs(params.epochs)),
        ]
    what = "the heads on frozen " if backbone.is_pretrained else "end to end with "
    callbacks.log(
        f"Training {what}{backbone.name} on {len(train_indices)} images, validating on "
        f"{len(validation_indices)}, for up to {params.epochs} epochs."
    )
    key = feature_key(backbone, params.image_size, params.resize_mode)
    fine_tuned: list[str] = []
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
        model, train_outputs, validation_outputs = train_heads(
            schema, backbone, vectors, params, train_split, validation_split, keras_callbacks
        )
        if params.fine_tune_layers:
            model, train_outputs, validation_outputs, fine_tuned = fine_tune(
                schema,
                backbone,
                model,
                images,
                params,
                (train_split, validation_split),
                [bridge, WorstHeadStopping(schema.trait_names, params.patience)],
                params.fine_tune_layers,
                params.fine_tune_epochs,
                callbacks.log,
            )
    else:
        if params.fine_tune_layers:
            callbacks.log(
                f"Fine-tuning {params.fine_tune_layers} layers is skipped: {backbone.name} has "
                "no pretrained weights, so the whole network trains end to end instead."
            )
        model, train_outputs, validation_outputs = train_end_to_end(
            schema, backbone, images, params, (train_split, validation_split), keras_callbacks
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
        fine_tuned_layers=fine_tuned,
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
        f"{name} {before:.3f} -> {after:.3f}"
        for name, (before, after) in calibration_errors(calibration).items()
    )
    measured = ood.get("measured", {}).get(ood.get("method"), {})
    return (
        f"Calibrated each head (expected calibration error {errors}); the unfamiliar-image "
        f"score is {ood.get('method')} (AUROC {measured.get('auroc', float('nan')):.3f}, "
        f"{measured.get('detection_rate', float('nan')):.0%} of made-up images caught)."
    )
