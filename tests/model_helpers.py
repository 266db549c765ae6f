"""Helpers for tests that need stored models: one `ModelRepository.add` factory, the tiny
training parameters, and copies of the session's trained model (fixtures in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from core.db.files import FileStore
from core.db.models import ModelRecord, ModelRepository
from core.labels import CAT_PHENOTYPE

TINY = {"backbone": "small_cnn", "epochs": 2, "image_size": 48, "batch_size": 16, "patience": 2}
PERFECT = {"train_accuracy": 1.0, "val_accuracy": 1.0, "train_loss": 0.01, "val_loss": 0.01}


def add_model(
    database: Database,
    model_file: bytes = b"model bytes",
    *,
    activate: bool = False,
    **fields: Any,
) -> str:
    """Store a model record with test defaults for every field not given; return its id."""
    record = {
        "schema": CAT_PHENOTYPE,
        "backbone": "small_cnn",
        "image_size": 64,
        "resize_mode": "pad",
        "hyper_parameters": {},
        "metrics": {},
        "confusion": {},
        "thresholds": {},
        "validation_image_ids": [],
        "training_set_size": 10,
        "training_started": None,
        "training_ended": None,
        **fields,
    }
    models = ModelRepository(database)
    model_id = models.add(model_file, **record)
    if activate:
        models.activate(model_id)
    return model_id


def record_fields(record: ModelRecord) -> dict[str, Any]:
    """The fields of a stored model, to store the same model again with `add_model`."""
    return {
        "schema": record.schema,
        "backbone": record.backbone,
        "image_size": record.image_size,
        "resize_mode": record.resize_mode,
        "hyper_parameters": record.hyper_parameters,
        "metrics": record.metrics,
        "confusion": record.confusion,
        "thresholds": record.thresholds,
        "validation_image_ids": record.validation_image_ids,
        "training_set_size": record.training_set_size,
        "training_started": record.training_started,
        "training_ended": record.training_ended,
        "run_id": record.run_id,
        "calibration": record.calibration,
        "ood": record.ood,
    }


@dataclass(frozen=True)
class StoredModel:
    """A model file with the record the registry needs to store it again elsewhere."""

    data: bytes
    record: ModelRecord


@dataclass(frozen=True)
class TrainedTemplate:
    """A database holding 48 demo images, one finished run and its (active) tiny model."""

    db_name: str
    run_id: str
    model_id: str


def store_model(
    database: Database, stored: StoredModel, *, activate: bool = True, **changes: Any
) -> str:
    """Store (and activate) a model file in this database, without its validation images;
    `changes` replace fields of its record (e.g. `ood=...`)."""
    fields = {**record_fields(stored.record), "validation_image_ids": [], "run_id": None}
    return add_model(database, stored.data, activate=activate, **{**fields, **changes})


def copy_model(
    database: Database,
    record: ModelRecord,
    model_file: bytes,
    *,
    metrics: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """Store a copy of a model record (optionally with other metrics); return the new id."""
    fields = record_fields(record)
    return add_model(database, model_file, **{**fields, "metrics": metrics or record.metrics})


def clone_trained(template: TrainedTemplate, target: Database) -> str:
    """Copy the template's images (same ids, new files), runs, log and model into `target`;
    return the model's id there (the model stays active)."""
    source = target.client[template.db_name]
    source_files, target_files = FileStore(source), FileStore(target)
    copies: dict[ObjectId, ObjectId] = {}

    def copy_file(file_id: ObjectId | None) -> ObjectId | None:
        if file_id is None:
            return None
        if file_id not in copies:
            copies[file_id] = target_files.put(source_files.get(file_id), f"copy-{file_id}")
        return copies[file_id]

    images = [
        {**doc, "image": copy_file(doc.get("image")), "thumbnail": copy_file(doc.get("thumbnail"))}
        for doc in source["training_images"].find()
    ]
    target["training_images"].insert_many(images)
    for collection in ("training_runs", "training_log_entries"):
        docs = list(source[collection].find())
        if docs:
            target[collection].insert_many(docs)
    source_models = ModelRepository(source)
    record = source_models.get(template.model_id)
    model_id = copy_model(target, record, source_models.model_file(record))
    ModelRepository(target).activate(model_id)
    target["training_runs"].update_one(
        {"_id": ObjectId(template.run_id)}, {"$set": {"model_id": model_id}}
    )
    return model_id


def perfect_model(database: Database, *, active: bool = True) -> str:
    """A stored model record that claims perfect accuracy (its file is not a real model):
    a new model is never better, so a run does not activate its model by itself."""
    return add_model(
        database,
        b"not a real model file",
        activate=active,
        backbone="mobilenet_v2",
        image_size=128,
        metrics={name: dict(PERFECT) for name in CAT_PHENOTYPE.trait_names},
        training_set_size=1000,
    )
