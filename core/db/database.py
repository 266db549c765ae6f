"""Open the product database with every index its repositories rely on."""

from __future__ import annotations

from pymongo.database import Database

from core.config import Settings
from core.db.indexes import ensure_all
from core.db.mongo import connect, mongo_uri_for


def get_database(settings: Settings) -> Database:
    """The product database with its indexes in place."""
    database = connect(mongo_uri_for(settings))[settings.mongo_db]
    ensure_all(database)
    return database
