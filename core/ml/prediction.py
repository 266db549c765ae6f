"""Predicting a label from images with a trained model, saying when it is unsure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from core.labels import Label, LabelSchema, Trait
from core.ml.calibration import apply_temperature
from core.ml.evaluation import DEFAULT_THRESHOLD, class_probabilities
from core.ml.model_builder import (
    distance_features,
    head_weights,
    make_inference_function,
    with_features,
)
from core.ml.ood import FeatureDistance, energy_scores
from core.ml.targets import class_names

if TYPE_CHECKING:
    from PIL import Image

BATCH_SIZE = 32


@dataclass(frozen=True)
class TraitPrediction:
    """The predicted value of one trait, its probability and the runners-up."""

    trait: str
    value: str | bool
    probability: float
    probabilities: dict[str, float]  # value -> p; "no"/"yes" for a yes/no trait
    is_unsure: bool
    alternatives: list[tuple[str, float]]  # up to 3 other values, most likely first


@dataclass(frozen=True)
class PredictionResult:
    """What the model says about one image."""

    label: Label  # gated traits left out when the gate (is_cat for cats) is predicted false
    traits: dict[str, TraitPrediction]  # the traits in the label
    passes_gate: bool | None  # the gate's prediction; None for a schema without a gate
    unsure: list[str]  # names of traits in the label whose probability is under its threshold
    probabilities: dict[str, dict[str, float]]  # every trait, gated or not (calibrated)
    is_unfamiliar: bool = False  # unlike the training images: every trait in the label is unsure
    unfamiliarity: float | None = None  # the OOD score over its threshold (> 1: unfamiliar)


class Predictor:
    """A loaded model ready to predict; traced once, so each call is fast."""

    def __init__(
        self,
        model: keras.Model,
        schema: LabelSchema,
        *,
        image_size: int,
        thresholds: Mapping[str, float],
        resize_mode: str = "pad",
        temperatures: Mapping[str, float] | None = None,
        ood: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.schema = schema
        self.image_size = image_size
        self.thresholds = dict(thresholds)
        self.resize_mode = resize_mode
        self.temperatures = dict(temperatures or {})
        self.ood = UnfamiliarityScorer.from_document(ood, model, schema) if ood else None
        self._infer = make_inference_function(
            with_features(model) if self.ood is not None else model, image_size
        )
        self._infer(np.zeros((1, image_size, image_size, 3), dtype=np.float32))  # trace now

    def predict_arrays(self, batch: np.ndarray) -> list[PredictionResult]:
        """Predictions for N x S x S x 3 pixels in [0, 255] (uint8 or float)."""
        batch = np.asarray(batch)
        expected = (self.image_size, self.image_size, 3)
        if batch.ndim != 4 or batch.shape[1:] != expected:
            raise ValueError(f"Images must be N x {expected}, not {batch.shape}.")
        outputs: dict[str, list[np.ndarray]] = {t.name: [] for t in self.schema.traits}
        scores: list[np.ndarray] = []
        for start in range(0, len(batch), BATCH_SIZE):
            part = self._infer(batch[start : start + BATCH_SIZE].astype(np.float32))
            for trait in self.schema.traits:
                probabilities = class_probabilities(trait, part[trait.name])
                temperature = float(self.temperatures.get(trait.name, 1.0))
                outputs[trait.name].append(apply_temperature(probabilities, temperature))
            if self.ood is not None:
                scores.append(self.ood.relative_scores(part))
        joined = {name: np.concatenate(parts) if parts else None for name, parts in outputs.items()}
        relative = np.concatenate(scores) if scores else None
        return [
            self._result(
                {name: joined[name][row] for name in joined},
                None if relative is None else float(relative[row]),
            )
            for row in range(len(batch))
        ]

    def predict_images(self, images: list[Image.Image]) -> list[PredictionResult]:
        """Predictions for PIL images, fitted to the model's size without stretching."""
        if not images:
            return []
        from core.images import to_model_array  # written alongside; imported when first needed

        batch = np.stack(
            [to_model_array(image, self.image_size, mode=self.resize_mode) for image in images]
        )
        return self.predict_arrays(batch)

    def threshold(self, trait: Trait) -> float:
        """The probability under which this trait's prediction counts as unsure."""
        return float(self.thresholds.get(trait.name, DEFAULT_THRESHOLD))

    def _result(
        self, probabilities: dict[str, np.ndarray], unfamiliarity: float | None
    ) -> PredictionResult:
        predictions = {
            trait.name: self._trait_prediction(trait, probabilities[trait.name])
            for trait in self.schema.traits
        }
        gate = self.schema.gate
        passes_gate = None if gate is None else bool(predictions[gate.name].value)
        gate_label = {gate.name: passes_gate} if gate else {}
        shown = {
            name: prediction
            for name, prediction in predictions.items()
            if self.schema.applies(self.schema.trait(name), gate_label)
        }
        is_unfamiliar = unfamiliarity is not None and unfamiliarity > 1.0
        return PredictionResult(
            label={name: prediction.value for name, prediction in shown.items()},
            traits=shown,
            passes_gate=passes_gate,
            unsure=[
                name for name, prediction in shown.items() if prediction.is_unsure or is_unfamiliar
            ],
            probabilities={name: p.probabilities for name, p in predictions.items()},
            is_unfamiliar=is_unfamiliar,
            unfamiliarity=unfamiliarity,
        )

    def _trait_prediction(self, trait: Trait, probabilities: np.ndarray) -> TraitPrediction:
        names = class_names(trait)
        by_value = {name: float(p) for name, p in zip(names, probabilities, strict=True)}
        ranked = sorted(by_value.items(), key=lambda item: item[1], reverse=True)
        best, probability = ranked[0]
        return TraitPrediction(
            trait=trait.name,
            value=best == "yes" if trait.is_boolean else best,
            probability=probability,
            probabilities=by_value,
            is_unsure=probability < self.threshold(trait),
            alternatives=ranked[1:4],
        )


class UnfamiliarityScorer:
    """The stored OOD score of a model: feature distance or energy, and its threshold."""

    def __init__(
        self,
        method: str,
        threshold: float,
        distance: FeatureDistance | None = None,
        heads: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        self.method = method
        self.threshold = threshold
        self.distance = distance
        self.heads = dict(heads or {})

    @classmethod
    def from_document(
        cls, doc: Mapping[str, Any], model: keras.Model, schema: LabelSchema
    ) -> UnfamiliarityScorer:
        """The scorer stored with the model (``ood`` of its record)."""
        method = str(doc["method"])
        if method == "energy":
            heads = head_weights(model, schema.trait_names)
            return cls(method, float(doc["threshold"]), heads=heads)
        distance = FeatureDistance.from_document(doc["distance"])
        return cls(method, distance.threshold, distance=distance)

    def scores(self, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The raw score per image from with_features outputs: higher is less familiar."""
        if self.distance is not None:
            return self.distance.scores(distance_features(dict(outputs)))
        return energy_scores(np.asarray(outputs["features"], dtype=np.float64), self.heads)

    def relative_scores(self, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The score over the threshold, shifted so that 1.0 is the threshold for any method."""
        scores = self.scores(outputs)
        if self.threshold > 0:
            return scores / self.threshold
        return scores - self.threshold + 1.0
