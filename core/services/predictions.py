"""Identifying photos with the active model, and storing what it said."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pymongo.errors import PyMongoError

from core.db.models import ModelRecord, ModelRepository
from core.db.predictions import PredictionRepository
from core.errors import ServiceUnavailableError, UserError
from core.exif import strip_location
from core.images import (
    DEFAULT_MAX_BYTES,
    DecodedImage,
    Photo,
    decode_photo,
    make_thumbnail,
    to_model_array,
)
from core.labels import LabelSchema

if TYPE_CHECKING:
    from core.ml.prediction import PredictionResult, Predictor

UNFAMILIAR_SENTENCE = (
    "This photo is unlike the photos the identifier learned from, so it gives no {answer}; "
    "try a clear, well-lit photo of the whole {subject}."
)


def unfamiliar_sentence(schema: LabelSchema) -> str:
    """The one sentence for a photo unlike the training images, in the schema's words."""
    if schema.gate is None:  # the dog schema: a breed, not a coat
        return UNFAMILIAR_SENTENCE.format(answer="breed", subject="dog")
    return UNFAMILIAR_SENTENCE.format(answer="phenotype", subject=schema.gate.title.lower())


class NoActiveModelError(UserError):
    """No model has been trained and activated yet."""


class FeedbackNotAllowedError(UserError):
    """Feedback without the prediction's feedback secret (or the API key): HTTP 403."""


@dataclass(frozen=True)
class StoredPrediction:
    """A stored prediction's id and the secret that lets its owner give feedback on it."""

    id: str
    feedback_secret: str  # given back once, stored only as a hash


@dataclass(frozen=True)
class LoadedModel:
    record: ModelRecord
    predictor: Predictor


def load_model(models: ModelRepository, record: ModelRecord) -> LoadedModel:
    """Read a model file from GridFS and make it ready to predict (traced once)."""
    from core.ml.calibration import temperatures
    from core.ml.model_builder import model_from_bytes
    from core.ml.prediction import Predictor

    model = model_from_bytes(models.model_file(record))
    predictor = Predictor(
        model,
        record.schema,
        image_size=record.image_size,
        thresholds=record.thresholds,
        resize_mode=record.resize_mode,
        temperatures=temperatures(record.calibration),
        ood=record.ood or None,
    )
    return LoadedModel(record, predictor)


class ActiveModelCache:
    """The active model, loaded once and reloaded only when another model becomes active.

    The one cache for every front door. `check_interval_s` > 0 asks which model is active at
    most that often instead of on every `get()` (a server's hot path): a new activation is
    then picked up within that time. `load_in_background()` starts loading at start-up, and
    `state()` says what a health check should report.
    """

    def __init__(self, models: ModelRepository, *, check_interval_s: float = 0.0) -> None:
        self._models = models
        self._check_interval_s = check_interval_s
        self._loaded: LoadedModel | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._last_error: str | None = None

    def get(self) -> LoadedModel:
        """The active model (NoActiveModelError when there is none)."""
        loaded = self._loaded
        if loaded is not None and time.monotonic() - self._checked_at < self._check_interval_s:
            return loaded
        active_id = self._models.active_id()
        if active_id is None:
            self._loaded = None
            raise NoActiveModelError(
                "No model is active yet; train one on the console's Training page first."
            )
        with self._lock:
            if self._loaded is None or self._loaded.record.id != active_id:
                try:
                    self._loaded = load_model(self._models, self._models.get(active_id))
                except UserError as err:  # kept for state(): a model file that cannot be read
                    self._last_error = str(err)
                    raise
            self._checked_at, self._last_error = time.monotonic(), None
            return self._loaded

    def load_in_background(self) -> None:
        """Start loading the active model, unless a load is already under way."""
        if not self._loading.acquire(blocking=False):
            return

        def load() -> None:
            try:
                self.get()
            except UserError:
                pass  # state() says why; a request will raise it again
            except PyMongoError as err:
                self._last_error = f"The database does not answer ({type(err).__name__})."
            finally:
                self._loading.release()

        threading.Thread(target=load, name="model-loader", daemon=True).start()

    def state(self, active_id: str | None) -> dict[str, Any]:
        """What a health check says about the model: none active, loading, loaded or failed."""
        loaded = self._loaded
        if active_id is None:
            return {"loaded": False, "state": "no active model", "active_id": None}
        if loaded is not None and loaded.record.id == active_id:
            return {
                "loaded": True,
                "state": "loaded",
                "active_id": active_id,
                "schema": loaded.record.schema.name,
                "backbone": loaded.record.backbone,
            }
        if self._last_error and not self._loading.locked():
            return {"loaded": False, "state": "failed", "active_id": active_id,
                    "error": self._last_error}  # fmt: skip
        return {"loaded": False, "state": "loading", "active_id": active_id}


def decode_for(
    loaded: LoadedModel, data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Photo:
    """Decode a photo once, reduced, with the model's input ready; ImageError if unusable."""
    record = loaded.record
    return decode_photo(
        data,
        filename,
        model_size=record.image_size,
        resize_mode=record.resize_mode,
        max_bytes=max_bytes,
    )


def model_input(loaded: LoadedModel, image: DecodedImage) -> np.ndarray:
    """The model's input for a decoded photo: a Photo's own when it was fitted for this model."""
    predictor = loaded.predictor
    array = image.model_array if isinstance(image, Photo) else None
    if array is not None and array.shape == (predictor.image_size, predictor.image_size, 3):
        return array
    return to_model_array(image.image, predictor.image_size, predictor.resize_mode)


def identify(loaded: LoadedModel, image: DecodedImage) -> PredictionResult:
    """The model's prediction for one decoded photo (a Photo's model input is not fitted again)."""
    return loaded.predictor.predict_arrays(model_input(loaded, image)[np.newaxis])[0]


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
) -> StoredPrediction:
    """Store the prediction; the photo (without its location), its thumbnail and hash only with
    the owner's consent."""
    thumbnail = None
    if keep_photo:
        thumbnail = image.thumbnail if isinstance(image, Photo) else make_thumbnail(image.image)
    feedback_secret = secrets.token_urlsafe(24)
    prediction_id = predictions.add(
        sha256=image.sha256,
        model_id=loaded.record.id,
        label=result.label,
        probabilities=result.probabilities,
        unsure=result.unsure,
        confidence=confidence_of(result),
        channel=channel,
        image=strip_location(image.data) if keep_photo else None,
        thumbnail=thumbnail,
        filename=image.filename,
        feedback_secret=feedback_secret,
        is_unfamiliar=result.is_unfamiliar,
        unfamiliarity=result.unfamiliarity,
    )
    return StoredPrediction(prediction_id, feedback_secret)


def result_to_json(result: PredictionResult, schema: LabelSchema) -> dict[str, Any]:
    """The prediction as plain JSON: label, probabilities, unsure traits, is_cat, unfamiliar."""
    return {
        "label": dict(result.label),
        "probabilities": {k: dict(v) for k, v in result.probabilities.items()},
        "unsure": list(result.unsure),
        "is_cat": result.passes_gate,
        **unfamiliar_json(result, schema),
    }


def unfamiliar_json(result: PredictionResult, schema: LabelSchema) -> dict[str, Any]:
    """Whether the photo is unlike the training images, its score and, if so, the sentence."""
    return {
        "unfamiliar": result.is_unfamiliar,
        "unfamiliarity": None if result.unfamiliarity is None else round(result.unfamiliarity, 4),
        "message": unfamiliar_sentence(schema) if result.is_unfamiliar else None,
    }


def record_feedback(
    predictions: PredictionRepository,
    schema: LabelSchema,
    prediction_id: str,
    *,
    is_correct: bool,
    correction: Mapping[str, Any] | None = None,
    feedback_secret: str | None = None,
    is_trusted: bool = False,
) -> None:
    """Store the owner's answer to "is this right?"; a correction sets only the wrong traits.

    Only the owner may answer: the caller gives the prediction's feedback secret, or is trusted
    (it checked the API key). A second answer replaces the first. ServiceUnavailableError when
    the database is down.
    """
    clean = schema.validate(correction, partial=True) if correction and not is_correct else None
    try:
        is_owner = predictions.is_feedback_secret(prediction_id, feedback_secret)
        if not (is_owner or is_trusted):
            raise FeedbackNotAllowedError(
                f"Prediction {prediction_id!r} takes feedback only with the feedback_secret "
                "given with it; send that secret in the X-Feedback-Secret header."
            )
        predictions.record_user_feedback(prediction_id, is_correct=is_correct, correction=clean)
    except PyMongoError as err:
        raise ServiceUnavailableError(
            f"The database did not answer ({type(err).__name__}); please try again in a minute."
        ) from err
