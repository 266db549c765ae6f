"""The model registry: trained models (`.keras` files in GridFS) in `prediction_models`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.clock import utcnow
from core.db.files import FileStore
from core.db.mongo import to_object_id
from core.errors import NotFoundError, UserError
from core.labels import LabelSchema

COLLECTION = "prediction_models"


def ensure_indexes(database: Database) -> None:
    models = database[COLLECTION]
    # at most one active model: `active_slot` exists only on the active one (a partial index on
    # MongoDB; nx-27017 ignores the filter but lets any number of documents lack the field)
    models.create_index(
        "active_slot",
        unique=True,
        partialFilterExpression={"active_slot": "active"},
        name="one_active_model",
    )
    models.create_index([("created_at", DESCENDING)])


@dataclass(frozen=True)
class ModelRecord:
    id: str
    schema: LabelSchema
    backbone: str
    image_size: int
    resize_mode: str
    hyper_parameters: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, Any]]
    thresholds: dict[str, float]
    validation_image_ids: list[str]
    training_set_size: int
    training_started: datetime | None
    training_ended: datetime | None
    is_active: bool
    created_at: datetime
    file_id: ObjectId
    run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)  # per trait: temperature, ECE
    ood: dict[str, Any] = field(default_factory=dict)  # the unfamiliar-image score (core.ml.ood)

    @property
    def mean_val_accuracy(self) -> float:
        values = [m.get("val_accuracy", 0.0) for m in self.metrics.values()]
        return sum(values) / len(values) if values else 0.0

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ModelRecord:
        return cls(
            id=str(doc["_id"]),
            schema=LabelSchema.from_document(doc["schema"]),
            backbone=doc.get("backbone", ""),
            image_size=int(doc.get("image_size", 128)),
            resize_mode=doc.get("resize_mode", "pad"),
            hyper_parameters=dict(doc.get("hyper_parameters") or {}),
            metrics=dict(doc.get("metrics") or {}),
            confusion=dict(doc.get("confusion") or {}),
            thresholds=dict(doc.get("thresholds") or {}),
            validation_image_ids=list(doc.get("validation_image_ids") or []),
            training_set_size=int(doc.get("training_set_size", 0)),
            training_started=doc.get("training_started"),
            training_ended=doc.get("training_ended"),
            is_active=bool(doc.get("is_active")),
            created_at=doc["created_at"],
            file_id=doc["file"],
            run_id=doc.get("run_id"),
            calibration=dict(doc.get("calibration") or {}),
            ood=dict(doc.get("ood") or {}),
        )


_LISTED_FIELDS = {"calibration": 0, "ood": 0}  # ~150 KB of k-NN features a model: get() only


class ModelRepository:
    """Trained models; exactly one of them is active once there is any."""

    def __init__(self, database: Database) -> None:
        self._models = database[COLLECTION]
        self._features = database["image_features"]
        self._files = FileStore(database)

    def add(
        self,
        model_file: bytes,
        *,
        schema: LabelSchema,
        backbone: str,
        image_size: int,
        resize_mode: str,
        hyper_parameters: Mapping[str, Any],
        metrics: Mapping[str, Mapping[str, float]],
        confusion: Mapping[str, Any],
        thresholds: Mapping[str, float],
        validation_image_ids: list[str],
        training_set_size: int,
        training_started: datetime | None,
        training_ended: datetime | None,
        run_id: str | None = None,
        feature_key: str | None = None,
        calibration: Mapping[str, Any] | None = None,
        ood: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a trained model, not active; return its id."""
        file_id = self._files.put(model_file, f"model-{utcnow():%Y%m%d-%H%M%S}.keras")
        doc = {
            "file": file_id,
            "schema": schema.to_document(),
            "backbone": backbone,
            "image_size": image_size,
            "resize_mode": resize_mode,
            "hyper_parameters": dict(hyper_parameters),
            "metrics": {k: dict(v) for k, v in metrics.items()},
            "confusion": dict(confusion),
            "thresholds": dict(thresholds),
            "validation_image_ids": list(validation_image_ids),
            "training_set_size": training_set_size,
            "training_started": training_started,
            "training_ended": training_ended,
            "run_id": run_id,
            "feature_key": feature_key,
            "calibration": dict(calibration or {}),
            "ood": dict(ood or {}),
            "is_active": False,
            "created_at": utcnow(),
        }
        return str(self._models.insert_one(doc).inserted_id)

    def get(self, model_id: str) -> ModelRecord:
        doc = self._models.find_one({"_id": to_object_id(model_id, "model")})
        if doc is None:
            raise NotFoundError(f"No model with id {model_id!r}; reload the list of models.")
        return ModelRecord.from_document(doc)

    def list(self) -> list[ModelRecord]:
        """Every model, newest first, without calibration and ood (get() has them)."""
        cursor = self._models.find({}, _LISTED_FIELDS).sort("created_at", DESCENDING)
        return [ModelRecord.from_document(doc) for doc in cursor]

    def active(self) -> ModelRecord | None:
        doc = self._models.find_one({"is_active": True})
        return ModelRecord.from_document(doc) if doc else None

    def active_id(self) -> str | None:
        """The active model's id: a cheap query for apps to notice a change of model."""
        doc = self._models.find_one({"is_active": True}, {"_id": 1})
        return str(doc["_id"]) if doc else None

    def model_file(self, record: ModelRecord) -> bytes:
        return self._files.get(record.file_id)

    def activate(self, model_id: str) -> None:
        """Make this model the only active one."""
        object_id = to_object_id(model_id, "model")
        if self._models.find_one({"_id": object_id}, {"_id": 1}) is None:  # nx: no _id counts
            raise NotFoundError(f"No model with id {model_id!r}; reload the list of models.")
        for _attempt in range(5):
            self._models.update_many(
                {"is_active": True, "_id": {"$ne": object_id}},
                {"$set": {"is_active": False}, "$unset": {"active_slot": ""}},
            )
            try:
                self._models.update_one(
                    {"_id": object_id},
                    {
                        "$set": {
                            "is_active": True,
                            "active_slot": "active",
                            "activated_at": utcnow(),
                        }
                    },
                )
                return
            except DuplicateKeyError:  # another activation won the race; take over again
                continue
        raise UserError(f"Model {model_id} could not be activated; try again in a moment.")

    def delete(self, model_id: str) -> None:
        """Delete a model that is not active, with its file and its now unused cached features."""
        record = self.get(model_id)
        if record.is_active:
            raise UserError(
                f"Model {model_id} is the active model; activate another one before deleting it."
            )
        doc = self._models.find_one({"_id": to_object_id(model_id)}, {"feature_key": 1})
        self._files.delete(record.file_id)
        self._models.delete_one({"_id": to_object_id(model_id)})
        feature_key = (doc or {}).get("feature_key")
        if feature_key and not self._models.count_documents({"feature_key": feature_key}):
            self._features.delete_many({"backbone_key": feature_key})

    def count(self) -> int:
        return self._models.count_documents({})
