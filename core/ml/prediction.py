"""Predicting a label from images with a trained model, saying when it is unsure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras
import numpy as np

from core.labels import Label, LabelSchema, Trait
from core.ml.evaluation import DEFAULT_THRESHOLD, class_probabilities
from core.ml.model_builder import make_inference_function
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
    probabilities: dict[str, dict[str, float]]  # every trait, gated or not


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
    ) -> None:
        self.model = model
        self.schema = schema
        self.image_size = image_size
        self.thresholds = dict(thresholds)
        self.resize_mode = resize_mode
        self._infer = make_inference_function(model, image_size)
        self._infer(np.zeros((1, image_size, image_size, 3), dtype=np.float32))  # trace now

    def predict_arrays(self, batch: np.ndarray) -> list[PredictionResult]:
        """Predictions for N x S x S x 3 pixels in [0, 255] (uint8 or float)."""
        batch = np.asarray(batch)
        expected = (self.image_size, self.image_size, 3)
        if batch.ndim != 4 or batch.shape[1:] != expected:
            raise ValueError(f"Images must be N x {expected}, not {batch.shape}.")
        outputs: dict[str, list[np.ndarray]] = {t.name: [] for t in self.schema.traits}
        for start in range(0, len(batch), BATCH_SIZE):
            part = self._infer(batch[start : start + BATCH_SIZE].astype(np.float32))
            for trait in self.schema.traits:
                outputs[trait.name].append(class_probabilities(trait, part[trait.name]))
        joined = {name: np.concatenate(parts) if parts else None for name, parts in outputs.items()}
        return [
            self._result({name: joined[name][row] for name in joined}) for row in range(len(batch))
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

    def _result(self, probabilities: dict[str, np.ndarray]) -> PredictionResult:
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
        return PredictionResult(
            label={name: prediction.value for name, prediction in shown.items()},
            traits=shown,
            passes_gate=passes_gate,
            unsure=[name for name, prediction in shown.items() if prediction.is_unsure],
            probabilities={name: p.probabilities for name, p in predictions.items()},
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
