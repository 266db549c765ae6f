"""Every index the repositories declare, created by whoever opens the database (idempotent)."""

from pymongo.database import Database

from core.db import features, files, models, predictions, training_images, training_runs, users


def ensure_all(database: Database) -> None:
    """Create the indexes each repository module declares in its `ensure_indexes`."""
    for module in (files, training_images, predictions, models, training_runs, users, features):
        module.ensure_indexes(database)
