"""The identify API's work behind its routes: predicting, storing, feedback and health.

The routes in api_app/ stay thin: they read the request and call one `IdentifyService`
method. Everything here is plain Python, testable without a web server; requests are checked
in identify_requests.py and answers shaped in identify_json.py.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import suppress
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from core.config import Settings
from core.db.database import get_database
from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.db.sql import normalise_url
from core.errors import ServiceUnavailableError, UserError
from core.images import decode_photo
from core.labels import LabelSchema
from core.services.identify_json import identify_response, model_json
from core.services.identify_requests import MULTIPART_OVERHEAD_BYTES, parse_feedback
from core.services.predictions import (
    ActiveModelCache,
    LoadedModel,
    NoActiveModelError,
    decode_for,
    identify,
    record_feedback,
    store_prediction,
)

logger = logging.getLogger(__name__)
RETRY_CONNECT_S = 5.0  # after a failed connection, answer 503 at once for this long
MODEL_CHECK_S = 1.0  # ask which model is active at most this often


class IdentifyService:
    """Everything the API does, over one database; safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._database: Database | None = None
        self._connecting = threading.Lock()
        self._models: ActiveModelCache | None = None
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
                    self._models = ActiveModelCache(
                        ModelRepository(self._database), check_interval_s=MODEL_CHECK_S
                    )
        return self._database

    def models(self) -> ActiveModelCache:
        """The active-model cache over the connected database."""
        self.database()
        assert self._models is not None
        return self._models

    def loaded_model(self) -> LoadedModel:
        """The active model; a model file that cannot be read is the server's problem (503)."""
        try:
            return self.models().get()
        except NoActiveModelError:
            raise
        except UserError as err:
            raise ServiceUnavailableError(str(err)) from err

    def start(self) -> None:
        """Connect and begin loading the active model; a database that is down is not fatal."""
        with suppress(UserError):  # logged; /health says so, and every request tries again
            self.models().load_in_background()

    def identify_upload(
        self, data: bytes, filename: str, *, store: bool, keep_photo: bool
    ) -> dict[str, Any]:
        """Decode the photo, predict with the active model and (unless store=False) store it."""
        max_bytes = self.settings.max_upload_bytes
        try:
            loaded = self.loaded_model()
        except Exception:  # no model or no database: a bad photo is still what is said first
            decode_photo(data, filename, max_bytes=max_bytes)
            raise
        image = decode_for(loaded, data, filename, max_bytes=max_bytes)  # one reduced decode
        result = identify(loaded, image)  # concurrent requests predict in parallel threads
        stored = None
        if store:
            stored = store_prediction(
                PredictionRepository(self.database()),
                loaded,
                image,
                result,
                channel="api",
                keep_photo=keep_photo,
            )
        return identify_response(
            loaded.record,
            result,
            prediction_id=stored.id if stored else None,
            feedback_secret=stored.feedback_secret if stored else None,
        )

    def feedback(
        self, prediction_id: str, body: bytes, *, feedback_secret: str | None = None
    ) -> dict[str, Any]:
        """Store "was it right?" (and what is right) for a stored prediction.

        Only with the feedback secret given with the prediction, or on a server with an API key
        (the route has checked it): ids alone are guessable.
        """
        predictions = PredictionRepository(self.database())
        prediction = predictions.get(prediction_id)  # malformed or unknown ids stop here
        schema = self._schema_of(prediction.model_id)
        correct, correction = parse_feedback(body, schema)
        record_feedback(
            predictions,
            schema,
            prediction_id,
            is_correct=correct,
            correction=correction,
            feedback_secret=feedback_secret,
            is_trusted=bool(self.settings.identify_api_key),
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
