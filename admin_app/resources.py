"""The console's own cached resources: the first administrator, warehouse, image browser,
thumbnails and the cookie key; settings, database and launcher come from app_shared."""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st
from bson import ObjectId
from pymongo.database import Database
from sqlalchemy import Engine

from app_shared.resources import (
    MongoKey,
    database_for,
    get_launcher,
    get_settings,
    mongo_key,
)
from core.config import Settings
from core.db import sql
from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.db.users import UserRepository
from core.labels import get_schema
from core.services.accounts import ensure_first_admin
from core.services.image_browser import ImageBrowser
from core.services.predictions import ActiveModelCache

__all__ = [
    "get_cookie_key",
    "get_database",
    "get_engine",
    "get_image_browser",
    "get_launcher",
    "get_settings",
    "load_thumbnail",
]


@st.cache_resource(show_spinner=False)
def _console_database(key: MongoKey) -> Database:
    database = database_for(key)
    settings = get_settings()
    # the first administrator from ADMIN_USERNAME/ADMIN_PASSWORD when the console starts first
    ensure_first_admin(
        UserRepository(database),
        username=settings.admin_username,
        password=settings.admin_password,
        data_dir=settings.data_dir,
        generate=False,
    )
    return database


def get_database() -> Database:
    """The product's MongoDB database, with the first administrator in place."""
    return _console_database(mongo_key(get_settings()))


@st.cache_resource(show_spinner="Connecting to the warehouse…")
def _engine(database_url: str | None, data_dir: str) -> Engine:
    return sql.get_engine(Settings(database_url=database_url, data_dir=Path(data_dir)))


def get_engine() -> Engine:
    """The SQL warehouse engine (DATABASE_URL or the embedded PostgreSQL)."""
    settings = get_settings()
    return _engine(settings.database_url, str(settings.data_dir))


@st.cache_resource(show_spinner=False)
def _image_browser(key: MongoKey, schema_name: str) -> ImageBrowser:
    return ImageBrowser(database_for(key), get_schema(schema_name), totals_from_server=True)


def get_image_browser() -> ImageBrowser:
    """The shared image browser (its cached counts serve every session of this process)."""
    settings = get_settings()
    return _image_browser(mongo_key(settings), settings.label_schema)


@st.cache_resource(show_spinner=False)
def _model_cache(key: MongoKey) -> ActiveModelCache:
    return ActiveModelCache(ModelRepository(database_for(key)), check_interval_s=5.0)


def get_model_cache() -> ActiveModelCache:
    """The active model, loaded once per process (reloaded when another becomes active)."""
    return _model_cache(mongo_key(get_settings()))


@st.cache_data(max_entries=5000, show_spinner=False)
def _thumbnail(key: MongoKey, file_id: str) -> bytes:
    return TrainingImageRepository(database_for(key)).read_file(ObjectId(file_id))


def load_thumbnail(file_id: ObjectId) -> bytes:
    """A stored thumbnail's bytes, cached by file id (files never change once stored)."""
    return _thumbnail(mongo_key(get_settings()), str(file_id))


@st.cache_resource(show_spinner=False)
def _process_cookie_key() -> str:
    return secrets.token_urlsafe(32)


def get_cookie_key() -> str:
    """AUTH_COOKIE_KEY, or a random key for this process (sign-in cookies end at a restart)."""
    return get_settings().auth_cookie_key or _process_cookie_key()
