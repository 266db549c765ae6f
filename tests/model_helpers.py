"""Helpers for the Training, Models and Review predictions tests: a tiny real model trained once
per session and cloned into each test's database, predictions with and without photos."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from bson import ObjectId
from PIL import Image
from pymongo import MongoClient
from pymongo.database import Database

from core.config import Settings
from core.db.files import FileStore
from core.db.indexes import ensure_all
from core.db.models import ModelRecord, ModelRepository
from core.db.predictions import PredictionRepository
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.labels import CAT_PHENOTYPE
from tests.console_support import BLUE, RED_TABBY, jpeg_bytes

TINY = {"backbone": "small_cnn", "epochs": 2, "image_size": 48, "batch_size": 16, "patience": 2}
PERFECT = {"train_accuracy": 1.0, "val_accuracy": 1.0, "train_loss": 0.01, "val_loss": 0.01}
CREAM_POINTED = {
    "is_cat": True,
    "colour": "cream",
    "is_tabby": False,
    "pattern": "bicolour",
    "is_pointed": True,
}


@dataclass(frozen=True)
class TrainedTemplate:
    """A database holding 48 demo images, one finished run and its (active) tiny model."""

    db_name: str
    run_id: str
    model_id: str


@pytest.fixture(scope="session", name="trained_template")
def trained_template_fixture(
    mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrainedTemplate]:
    """Train the tiny model once per session (~15 s); tests clone it with `clone_trained`."""
    from core.services.demo import add_demo_images
    from core.services.training import run_training_job, start_training_run

    name = f"template_{uuid4().hex[:8]}"
    with MongoClient(mongo_uri, tz_aware=True) as client:
        database = client[name]
        ensure_all(database)
        add_demo_images(TrainingImageRepository(database), CAT_PHENOTYPE, count=48, seed=3)
        runs = TrainingRunRepository(database)
        run_id = start_training_run(runs, lambda args: None, TINY, requested_by="test")
        settings = Settings(
            mongo_uri=mongo_uri, mongo_db=name, data_dir=tmp_path_factory.mktemp("template")
        )
        status = run_training_job(database, run_id, schema=CAT_PHENOTYPE, settings=settings)
        assert status == "succeeded", TrainingRunRepository(database).log_entries(run_id)
        model_id = TrainingRunRepository(database).get(run_id).model_id
        yield TrainedTemplate(name, run_id, model_id)
        client.drop_database(name)


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
    record = ModelRepository(source).get(template.model_id)
    models = ModelRepository(target)
    model_id = copy_model(models, record, ModelRepository(source).model_file(record))
    models.activate(model_id)
    target["training_runs"].update_one(
        {"_id": ObjectId(template.run_id)}, {"$set": {"model_id": model_id}}
    )
    return model_id


def copy_model(
    models: ModelRepository,
    record: ModelRecord,
    model_file: bytes,
    *,
    metrics: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """Store a copy of a model record (optionally with other metrics); return the new id."""
    return models.add(
        model_file,
        schema=record.schema,
        backbone=record.backbone,
        image_size=record.image_size,
        resize_mode=record.resize_mode,
        hyper_parameters=record.hyper_parameters,
        metrics=metrics or record.metrics,
        confusion=record.confusion,
        thresholds=record.thresholds,
        validation_image_ids=record.validation_image_ids,
        training_set_size=record.training_set_size,
        training_started=record.training_started,
        training_ended=record.training_ended,
        run_id=record.run_id,
    )


def perfect_model(database: Database, *, active: bool = True) -> str:
    """A stored model record that claims perfect accuracy (its file is not a real model):
    a new model is never better, so a run does not activate its model by itself."""
    models = ModelRepository(database)
    model_id = models.add(
        b"not a real model file",
        schema=CAT_PHENOTYPE,
        backbone="mobilenet_v2",
        image_size=128,
        resize_mode="pad",
        hyper_parameters={},
        metrics={name: dict(PERFECT) for name in CAT_PHENOTYPE.trait_names},
        confusion={},
        thresholds={},
        validation_image_ids=[],
        training_set_size=1000,
        training_started=None,
        training_ended=None,
    )
    if active:
        models.activate(model_id)
    return model_id


def thumbnail_bytes(seed: int) -> bytes:
    image = Image.open(io.BytesIO(jpeg_bytes(seed)))
    image.thumbnail((64, 64))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def add_prediction(
    database: Database,
    *,
    label: Mapping[str, Any] = BLUE,
    confidence: float = 0.8,
    model_id: str = "6b0c00000000000000000001",
    seed: int | None = 1,
    user_feedback: bool | None = None,
    correction: Mapping[str, Any] | None = None,
    unsure: list[str] | None = None,
) -> str:
    """One public prediction; with a photo (from `seed`) unless seed is None."""
    predictions = PredictionRepository(database)
    probabilities = {
        name: {("yes" if value is True else "no" if value is False else value): confidence}
        for name, value in label.items()
    }
    prediction_id = predictions.add(
        sha256=uuid4().hex,
        model_id=model_id,
        label=dict(label),
        probabilities=probabilities,
        unsure=list(unsure or []),
        confidence=confidence,
        channel="breeder_app",
        image=jpeg_bytes(seed) if seed is not None else None,
        thumbnail=thumbnail_bytes(seed) if seed is not None else None,
        filename=f"photo-{seed}.jpg",
    )
    if user_feedback is not None:
        predictions.record_user_feedback(
            prediction_id, is_correct=user_feedback, correction=correction
        )
    return prediction_id


def add_review_set(database: Database, model_id: str = "6b0c00000000000000000001") -> dict:
    """Five predictions in different states, named by what a reviewer would call them."""
    return {
        "sure_blue": add_prediction(database, confidence=0.97, seed=11, model_id=model_id),
        "unsure_blue": add_prediction(
            database, confidence=0.41, seed=12, user_feedback=True, model_id=model_id
        ),
        "wrong_tabby": add_prediction(
            database,
            label=RED_TABBY,
            confidence=0.55,
            seed=13,
            user_feedback=False,
            correction={"colour": "cream", "pattern": "bicolour", "is_pointed": True},
            model_id=model_id,
        ),
        "no_photo": add_prediction(
            database, confidence=0.62, seed=None, user_feedback=False, model_id=model_id
        ),
        "middling": add_prediction(database, confidence=0.75, seed=14, model_id=model_id),
    }


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that point an app or job at the settings' servers."""
    return {
        "MONGO_URI": settings.mongo_uri or "",
        "MONGO_DB": settings.mongo_db,
        "DATABASE_URL": settings.database_url or "",
        "DATA_DIR": str(settings.data_dir),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


REPO_ROOT = Path(__file__).resolve().parent.parent
