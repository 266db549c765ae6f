"""The cached resources both Streamlit apps use: settings, the database, the model, the launcher.

Cached factories are keyed by the URI, database name and data folder they serve, so a process
whose settings change (tests switch MONGO_DB between runs) never gets a stale database.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from pymongo.database import Database

from core.app_settings import app_settings
from core.config import Settings
from core.db import mongo
from core.db.database import OutageMemory
from core.db.database import get_database as open_database
from core.db.models import ModelRepository
from core.services import training
from core.services.predictions import ActiveModelCache

MongoKey = tuple[str | None, str, str, int | None]


def get_settings() -> Settings:
    """Environment and `.streamlit/secrets.toml`, read on every run (cheap; never stale)."""
    return app_settings()


def mongo_key(settings: Settings) -> MongoKey:
    """What a cached database resource is keyed by: URI, database name, data folder, port."""
    return (
        settings.mongo_uri,
        settings.mongo_db,
        str(settings.data_dir),
        settings.embedded_mongo_port,
    )


def _mongo_settings(key: MongoKey) -> Settings:
    uri, db_name, data_dir, port = key
    return Settings(
        mongo_uri=uri, mongo_db=db_name, data_dir=Path(data_dir), embedded_mongo_port=port
    )


@st.cache_resource(show_spinner="Connecting to the database…")
def _database_for(key: MongoKey) -> Database:
    return open_database(_mongo_settings(key))


@st.cache_resource(show_spinner=False)
def _outages() -> OutageMemory:
    return OutageMemory()


def database_for(key: MongoKey) -> Database:
    """The product's MongoDB database for this key (MONGO_URI or the embedded server); one that
    did not answer is not asked again for 20 s (OutageMemory), so each rerun fails at once."""
    return _outages().open(key, lambda: _database_for(key))


def get_database() -> Database:
    """The product's MongoDB database (MONGO_URI or the embedded server)."""
    return database_for(mongo_key(get_settings()))


@st.cache_resource(show_spinner=False, max_entries=2)  # a model can take 100 MB or more
def model_cache_for(key: MongoKey) -> ActiveModelCache:
    """The process's one active-model cache for this database (reloads when another activates)."""
    return ActiveModelCache(ModelRepository(database_for(key)))


def get_model_cache() -> ActiveModelCache:
    """The active-model cache of the configured database."""
    return model_cache_for(mongo_key(get_settings()))


@st.cache_resource(show_spinner=False)
def _launcher(key: MongoKey) -> training.Launcher:
    settings = _mongo_settings(key)
    return training.detached_launcher(settings, mongo.mongo_uri_for(settings))


def get_launcher() -> training.Launcher:
    """Starts `python <args>` as a detached job that outlives Streamlit reruns."""
    return _launcher(mongo_key(get_settings()))
