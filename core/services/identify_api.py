"""The identify API's work behind its routes: checking requests, predicting, shaping the JSON.

The routes in core/api.py stay thin: they read the request and call one `IdentifyService`
method. Everything here is plain Python, testable without a web server.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo.database import Database
from pymongo.errors import PyMongoError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from core import genetics
from core.clock import as_datetime
from core.config import Settings
from core.db.database import get_database
from core.db.models import ModelRecord, ModelRepository
from core.db.predictions import PredictionRepository
from core.db.sql import normalise_url
from core.errors import ServiceUnavailableError, UserError
from core.images import DecodedImage, decode_image
from core.labels import LabelSchema, Trait
from core.services.predictions import (
    ActiveModelCache,
    LoadedModel,
    NoActiveModelError,
    identify,
    record_feedback,
    store_prediction,
)

if TYPE_CHECKING:  # Keras loads with the first model: a server without one starts fast
    from core.ml.prediction import PredictionResult, TraitPrediction

logger = logging.getLogger(__name__)
MAX_JSON_BYTES = 64 * 1024  # a feedback body is a few hundred bytes
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and small fields
RETRY_CONNECT_S = 5.0  # after a failed connection, answer 503 at once for this long
FEEDBACK_EXAMPLE = '{"correct": false, "correction": {"colour": "blue"}}'


class UploadTooLargeError(UserError):
    """The request body is over the upload limit (HTTP 413)."""


class MissingApiKeyError(UserError):
    """The API needs a key and the request has none, or a wrong one (HTTP 401)."""


# --- requests -------------------------------------------------------------------------------


def too_large_error(num_bytes: int | None, limit_bytes: int) -> UploadTooLargeError:
    """The one message for an upload over the limit (num_bytes None when not read to the end)."""
    size = "" if num_bytes is None else f"{_megabytes(num_bytes)}, "
    return UploadTooLargeError(
        f"The upload is {size}over the {_megabytes(limit_bytes)} limit (MAX_UPLOAD_MB); "
        "send a smaller or more compressed photo."
    )


def _megabytes(num_bytes: int) -> str:
    if num_bytes < 1024 * 1024:
        return f"{num_bytes / 1024:.3g} KB"
    return f"{num_bytes / 1024 / 1024:.3g} MB"


def check_content_length(header: str | None, limit_bytes: int, shown_limit_bytes: int) -> None:
    """Refuse a request whose declared length is over the limit, before reading its body."""
    if header is None:
        return  # chunked: the body is counted while it is read
    try:
        declared = int(header)
    except ValueError:
        raise UserError(
            f"Content-Length {header!r} is not a number of bytes; send a well-formed request."
        ) from None
    if declared > limit_bytes:
        raise too_large_error(declared, shown_limit_bytes)


def parse_flag(name: str, raw: str | None, *, default: bool) -> bool:
    """A yes/no request parameter such as store=false; UserError for anything else."""
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise UserError(f"Parameter {name}={raw!r} is not a yes/no value; use {name}=true or false.")


def check_api_key(expected: str | None, x_api_key: str | None, authorization: str | None) -> None:
    """Pass when no key is configured or the request carries it (X-API-Key or Bearer)."""
    if not expected:
        return
    given = x_api_key
    if given is None and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
    if not given:
        raise MissingApiKeyError(
            "This API needs a key; send it in the X-API-Key header or as Authorization: Bearer."
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise MissingApiKeyError("The API key is not valid; check the key you were given.")


def parse_feedback(body: bytes, schema: LabelSchema) -> tuple[bool, dict[str, Any] | None]:
    """(correct, correction) from a feedback body; UserError saying what is wrong otherwise."""
    if not body.strip():
        raise UserError(f"The feedback body is empty; send JSON such as {FEEDBACK_EXAMPLE}.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
        raise UserError(
            f"The feedback body is not valid JSON ({reason}); send JSON such as {FEEDBACK_EXAMPLE}."
        ) from None
    if not isinstance(data, dict):
        raise UserError(
            f"The feedback body must be a JSON object, not {data!r}; send {FEEDBACK_EXAMPLE}."
        )
    unknown = sorted(set(data) - {"correct", "correction"})
    if unknown:
        raise UserError(
            f"The feedback field {unknown[0]!r} is not known; send only correct and correction."
        )
    if "correct" not in data:
        raise UserError(f"The feedback misses the field 'correct'; send {FEEDBACK_EXAMPLE}.")
    correct = data["correct"]
    if not isinstance(correct, bool):
        raise UserError(f"The field 'correct' must be true or false, not {correct!r}.")
    correction = data.get("correction")
    if correction is None or correction == {}:
        return correct, None
    if not isinstance(correction, dict):
        raise UserError(
            f"The field 'correction' must be an object of trait to value, not {correction!r}."
        )
    if correct:
        raise UserError(
            "A correction only goes with 'correct': false; drop it or set correct to false."
        )
    return correct, schema.validate(correction, partial=True)


# --- responses ------------------------------------------------------------------------------


def _json_value(trait: Trait, value: str | bool) -> str | bool:
    """A yes/no trait's "yes"/"no" class name as a JSON boolean; other values unchanged."""
    if trait.is_boolean and isinstance(value, str):
        return value == "yes"
    return value


def trait_json(trait: Trait, prediction: TraitPrediction) -> dict[str, Any]:
    """One trait of a result: value, probability, unsure, alternatives and all probabilities."""
    return {
        "title": trait.title,
        "value": prediction.value,
        "probability": round(prediction.probability, 4),
        "unsure": prediction.is_unsure,
        "alternatives": [
            {"value": _json_value(trait, value), "probability": round(p, 4)}
            for value, p in prediction.alternatives
        ],
        "probabilities": {k: round(p, 4) for k, p in prediction.probabilities.items()},
    }


def seed_predictions(trait: Trait, prediction: TraitPrediction) -> list[dict[str, Any]]:
    """The dog-breed seed's list: {"<trait>": value, "probability": p}, most likely first."""
    ranked = sorted(prediction.probabilities.items(), key=lambda item: item[1], reverse=True)
    return [
        {trait.name: _json_value(trait, value), "probability": round(p, 4)} for value, p in ranked
    ]


def breeder_words(schema: LabelSchema, result: PredictionResult) -> dict[str, Any]:
    """The usual name, genotype line and genetics flags, as the breeder app shows them."""
    if schema.gate is None:  # dog breeds: the breed is the name; there is no genotype
        return {"name": schema.describe(result.label), "genotype": None, "flags": []}
    line = genetics.genotype(result.label, result.unsure)
    return {
        "name": genetics.usual_name(result.label),
        "genotype": line.line if line else None,
        "flags": [{"kind": f.kind, "message": f.message} for f in genetics.flags(result.label)],
    }


def identify_response(
    record: ModelRecord, result: PredictionResult, *, prediction_id: str | None
) -> dict[str, Any]:
    """The JSON answer to POST /identify, the same shape for every schema."""
    schema = record.schema
    answer: dict[str, Any] = {
        "success": True,
        "prediction_id": prediction_id,
        "model_id": record.id,
        "schema": schema.name,
    }
    if schema.gate is not None:
        answer["is_cat"] = result.is_cat
    answer.update(breeder_words(schema, result))
    answer["label"] = dict(result.label)
    answer["unsure"] = list(result.unsure)
    answer["traits"] = {
        name: trait_json(schema.trait(name), prediction)
        for name, prediction in result.traits.items()
    }
    if len(schema.traits) == 1:
        trait = schema.traits[0]
        answer["predictions"] = seed_predictions(trait, result.traits[trait.name])
    return answer


def _iso(value: datetime | str | None) -> str | None:
    moment = as_datetime(value)
    return moment.isoformat() if moment else None


def model_json(record: ModelRecord) -> dict[str, Any]:
    """The active model for GET /model: schema, backbone, sizes, dates, metrics, thresholds."""
    return {
        "id": record.id,
        "schema": record.schema.to_document(),
        "backbone": record.backbone,
        "image_size": record.image_size,
        "resize_mode": record.resize_mode,
        "training_set_size": record.training_set_size,
        "training_started": _iso(record.training_started),
        "training_ended": _iso(record.training_ended),
        "created_at": _iso(record.created_at),
        "hyper_parameters": record.hyper_parameters,
        "metrics": record.metrics,
        "mean_val_accuracy": round(record.mean_val_accuracy, 4),
        "thresholds": record.thresholds,
    }


# --- the service ----------------------------------------------------------------------------


class ModelHolder:
    """The active model, loaded in the background at start so the first request is quick.

    Checks which model is active at most once per `check_interval_s`, instead of once per
    request: a new activation is picked up within that time.
    """

    def __init__(self, models: ModelRepository, *, check_interval_s: float = 1.0) -> None:
        self._cache = ActiveModelCache(models)
        self._check_interval_s = check_interval_s
        self._current: LoadedModel | None = None
        self._checked_at = 0.0
        self._loading = threading.Lock()
        self._last_error: str | None = None

    def get(self) -> LoadedModel:
        """The active model (NoActiveModelError when there is none)."""
        current = self._current
        if current is not None and time.monotonic() - self._checked_at < self._check_interval_s:
            return current
        try:
            loaded = self._cache.get()
        except NoActiveModelError:
            self._current = None
            raise
        except UserError as err:  # a model file that cannot be read is the server's problem
            self._last_error = str(err)
            raise ServiceUnavailableError(str(err)) from err
        self._current, self._checked_at, self._last_error = loaded, time.monotonic(), None
        return loaded

    def load_in_background(self) -> None:
        """Start loading the active model, unless a load is already under way."""
        if not self._loading.acquire(blocking=False):
            return

        def load() -> None:
            try:
                self.get()
            except UserError:
                pass  # the state says why; a request will raise it again
            except PyMongoError as err:
                self._last_error = f"The database does not answer ({type(err).__name__})."
            finally:
                self._loading.release()

        threading.Thread(target=load, name="model-loader", daemon=True).start()

    def state(self, active_id: str | None) -> dict[str, Any]:
        """What /health says about the model: none active, loading, loaded or failed."""
        current = self._current
        if active_id is None:
            return {"loaded": False, "state": "no active model", "active_id": None}
        if current is not None and current.record.id == active_id:
            return {
                "loaded": True,
                "state": "loaded",
                "active_id": active_id,
                "schema": current.record.schema.name,
                "backbone": current.record.backbone,
            }
        if self._last_error and not self._loading.locked():
            return {"loaded": False, "state": "failed", "active_id": active_id,
                    "error": self._last_error}  # fmt: skip
        return {"loaded": False, "state": "loading", "active_id": active_id}


class IdentifyService:
    """Everything the API does, over one database; safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._database: Database | None = None
        self._connecting = threading.Lock()
        self._models: ModelHolder | None = None
        self._warehouse: Engine | None = None
        self._connect_failure: tuple[float, UserError] | None = None

    @property
    def upload_limit_bytes(self) -> int:
        """The most a POST /identify body may hold: the photo limit plus multipart framing."""
        return self.settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES

    def database(self) -> Database:
        """The product database, connected on first use (ServiceUnavailableError if down).

        After a failed attempt, callers within RETRY_CONNECT_S get the same error at once
        instead of each waiting for the connection timeout again.
        """
        if self._database is None:
            with self._connecting:
                if self._database is None:
                    failed_at, error = self._connect_failure or (0.0, None)
                    if error is not None and time.monotonic() - failed_at < RETRY_CONNECT_S:
                        raise error
                    try:
                        self._database = get_database(self.settings)
                    except UserError as err:  # the details (hosts) go to the log, not to clients
                        logger.warning("%s", err)
                        failure = ServiceUnavailableError(
                            "The database does not answer right now; try again in a minute."
                        )
                        self._connect_failure = (time.monotonic(), failure)
                        raise failure from err
                    self._connect_failure = None
                    self._models = ModelHolder(ModelRepository(self._database))
        return self._database

    def models(self) -> ModelHolder:
        self.database()
        assert self._models is not None
        return self._models

    def start(self) -> None:
        """Connect and begin loading the active model; a database that is down is not fatal."""
        with suppress(UserError):  # logged; /health says so, and every request tries again
            self.models().load_in_background()

    def identify_upload(
        self, data: bytes, filename: str, *, store: bool, keep_photo: bool
    ) -> dict[str, Any]:
        """Decode the photo, predict with the active model and (unless store=False) store it."""
        image: DecodedImage = decode_image(data, filename, max_bytes=self.settings.max_upload_bytes)
        loaded = self.models().get()
        result = identify(loaded, image)  # concurrent requests predict in parallel threads
        prediction_id = None
        if store:
            prediction_id = store_prediction(
                PredictionRepository(self.database()),
                loaded,
                image,
                result,
                channel="api",
                keep_photo=keep_photo,
            )
        return identify_response(loaded.record, result, prediction_id=prediction_id)

    def feedback(self, prediction_id: str, body: bytes) -> dict[str, Any]:
        """Store "was it right?" (and what is right) for a stored prediction."""
        predictions = PredictionRepository(self.database())
        prediction = predictions.get(prediction_id)  # malformed or unknown ids stop here
        schema = self._schema_of(prediction.model_id)
        correct, correction = parse_feedback(body, schema)
        record_feedback(
            predictions, schema, prediction_id, is_correct=correct, correction=correction
        )
        return {
            "success": True,
            "prediction_id": prediction_id,
            "correct": correct,
            "correction": correction,
        }

    def model_info(self) -> dict[str, Any]:
        """The active model's description (NoActiveModelError when there is none)."""
        record = ModelRepository(self.database()).active()
        if record is None:
            raise NoActiveModelError(
                "No model is active yet; train one on the console's Training page first."
            )
        return {"success": True, "model": model_json(record)}

    def health(self) -> dict[str, Any]:
        """Whether the databases answer and the model is loaded; never raises or waits long."""
        answer: dict[str, Any] = {"success": True, "status": "ok"}
        database = self._database
        mongo_error = None
        if database is None:  # not connected yet: try in the background, answer now
            failure = self._connect_failure
            is_recent = failure is not None and time.monotonic() - failure[0] < RETRY_CONNECT_S
            if not self._connecting.locked() and not is_recent:
                threading.Thread(target=self.start, name="connect", daemon=True).start()
            mongo_error = str(failure[1]) if failure else "connecting to MongoDB"
        elif not database.client.topology_description.has_readable_server():
            mongo_error = "MongoDB does not answer (checked every few seconds)"
        else:
            try:
                active_id = ModelRepository(database).active_id()
            except PyMongoError as err:
                mongo_error = f"MongoDB does not answer ({type(err).__name__})"
        if mongo_error is not None:
            answer["status"] = "degraded"
            answer["mongo"] = {"ok": False, "error": mongo_error}
            answer["warehouse"] = self._warehouse_health()
            answer["model"] = {"loaded": False, "state": "unknown: no database"}
            return answer
        answer["mongo"] = {"ok": True, "database": self.settings.mongo_db}
        answer["warehouse"] = self._warehouse_health()
        models = self.models()
        state = models.state(active_id)
        if active_id is not None and not state["loaded"]:
            models.load_in_background()  # a model activated since the last request
        answer["model"] = state
        if not state["loaded"]:
            answer["status"] = "no model" if active_id is None else state["state"]
        return answer

    def _warehouse_health(self) -> dict[str, Any]:
        """Whether the reporting warehouse answers (the API itself does not need it)."""
        if not self.settings.database_url:
            return {"ok": None, "detail": "DATABASE_URL is not set"}
        try:
            if self._warehouse is None:
                url = normalise_url(self.settings.database_url)
                quick = {"connect_timeout": 3} if url.startswith("postgresql") else {}
                self._warehouse = create_engine(url, pool_pre_ping=True, connect_args=quick)
            with self._warehouse.connect() as connection:
                connection.execute(text("select 1"))
        except SQLAlchemyError as err:
            return {"ok": False, "error": f"the warehouse does not answer ({type(err).__name__})"}
        return {"ok": True}

    def _schema_of(self, model_id: str) -> LabelSchema:
        """The schema of the model that made a prediction (the configured one if it is gone)."""
        try:
            return ModelRepository(self.database()).get(model_id).schema
        except UserError:  # deleted since, or an id that was never a model's
            return self.settings.schema
