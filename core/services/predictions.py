"""Identifying photos with the active model, and storing what it said."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.db.models import ModelRecord, ModelRepository
from core.db.predictions import PredictionRepository
from core.errors import UserError
from core.images import DecodedImage, make_thumbnail
from core.labels import LabelSchema

if TYPE_CHECKING:
    from core.ml.prediction import PredictionResult, Predictor


class NoActiveModelError(UserError):
    """No model has been trained and activated yet."""


@dataclass(frozen=True)
class LoadedModel:
    record: ModelRecord
    predictor: Predictor


def load_model(models: ModelRepository, record: ModelRecord) -> LoadedModel:
    """Read a model file from GridFS and make it ready to predict (traced once)."""
    from core.ml.model_builder import model_from_bytes
    from core.ml.prediction import Predictor

    model = model_from_bytes(models.model_file(record))
    predictor = Predictor(
        model,
        record.schema,
        image_size=record.image_size,
        thresholds=record.thresholds,
        resize_mode=record.resize_mode,
    )
    return LoadedModel(record, predictor)


class ActiveModelCache:
    """The active model, loaded once and reloaded only when another model becomes active."""

    def __init__(self, models: ModelRepository) -> None:
        self._models = models
        self._loaded: LoadedModel | None = None
        self._lock = threading.Lock()

    def get(self) -> LoadedModel:
        active_id = self._models.active_id()
        if active_id is None:
            raise NoActiveModelError(
                "No model is active yet; train one on the console's Training page first."
            )
        with self._lock:
            if self._loaded is None or self._loaded.record.id != active_id:
                self._loaded = load_model(self._models, self._models.get(active_id))
            return self._loaded


def identify(loaded: LoadedModel, image: DecodedImage) -> PredictionResult:
    """The model's prediction for one decoded photo."""
    return loaded.predictor.predict_images([image.image])[0]


def confidence_of(result: PredictionResult) -> float:
    """The lowest probability among the predicted traits: how sure the whole answer is."""
    return min((t.probability for t in result.traits.values()), default=0.0)


def store_prediction(
    predictions: PredictionRepository,
    loaded: LoadedModel,
    image: DecodedImage,
    result: PredictionResult,
    *,
    channel: str,
    keep_photo: bool,
) -> str:
    """Store the prediction; the photo and its thumbnail only with the owner's consent."""
    return predictions.add(
        sha256=image.sha256,
        model_id=loaded.record.id,
        label=result.label,
        probabilities=result.probabilities,
        unsure=result.unsure,
        confidence=confidence_of(result),
        channel=channel,
        image=image.data if keep_photo else None,
        thumbnail=make_thumbnail(image.image) if keep_photo else None,
        filename=image.filename,
    )


def result_to_json(result: PredictionResult) -> dict[str, Any]:
    """The prediction as plain JSON: label, probabilities, unsure traits and is_cat."""
    return {
        "label": dict(result.label),
        "probabilities": {k: dict(v) for k, v in result.probabilities.items()},
        "unsure": list(result.unsure),
        "is_cat": result.is_cat,
    }


def record_feedback(
    predictions: PredictionRepository,
    schema: LabelSchema,
    prediction_id: str,
    *,
    is_correct: bool,
    correction: Mapping[str, Any] | None = None,
) -> None:
    """Store the owner's answer to "is this right?"; a correction sets only the wrong traits."""
    clean = schema.validate(correction, partial=True) if correction and not is_correct else None
    predictions.record_user_feedback(prediction_id, is_correct=is_correct, correction=clean)
