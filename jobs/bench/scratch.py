"""What several benchmark sections need: a throwaway database, an untrained model stored in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from uuid import uuid4

from pymongo.database import Database

from core.config import Settings
from core.db.indexes import ensure_all as ensure_indexes
from core.db.models import ModelRepository
from core.db.mongo import connect, mongo_uri_for
from core.labels import LabelSchema


def bench_settings() -> Settings:
    """Settings from the environment, the data folder made, and one MongoDB server (the embedded
    one unless configured) for every section and the jobs they start."""
    settings = Settings.from_env()
    settings.ensure_data_dir()
    return replace(settings, mongo_uri=mongo_uri_for(settings))


@contextmanager
def scratch_database(settings: Settings, prefix: str) -> Iterator[Database]:
    """A new indexed database `<prefix>_<random>` on the configured MongoDB, dropped after."""
    client = connect(mongo_uri_for(settings))
    database = client[f"{prefix}_{uuid4().hex[:8]}"]
    try:
        ensure_indexes(database)
        yield database
    finally:
        client.drop_database(database.name)
        client.close()


def store_untrained_model(
    database: Database,
    model_bytes: bytes,
    *,
    schema: LabelSchema,
    backbone: str,
    image_size: int,
    hyper_parameters: dict[str, Any],
) -> str:
    """Store and activate a built, untrained model; return its id (its speed is a trained one's)."""
    models = ModelRepository(database)
    model_id = models.add(
        model_bytes,
        schema=schema,
        backbone=backbone,
        image_size=image_size,
        resize_mode="pad",
        hyper_parameters=hyper_parameters,
        metrics={},
        confusion={},
        thresholds={},
        validation_image_ids=[],
        training_set_size=0,
        training_started=None,
        training_ended=None,
    )
    models.activate(model_id)
    return model_id
