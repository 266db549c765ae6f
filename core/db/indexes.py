"""Every index the repositories rely on, created at start-up (idempotent)."""

from pymongo.database import Database

from core.db import features, files, models, predictions, training_images, training_runs, users


def ensure_all(database: Database) -> None:
    for module in (files, training_images, predictions, models, training_runs, users, features):
        module.ensure_indexes(database)
