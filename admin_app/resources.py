"""The console's shared resources: settings, the databases, the image browser, thumbnails.

Cached factories are keyed by the URI and database name they serve, so a process whose
settings change (tests switch MONGO_DB between runs) never gets a stale database.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st
from bson import ObjectId
from pymongo.database import Database
from sqlalchemy import Engine

from core.app_settings import app_settings
from core.config import Settings
from core.db import sql
from core.db.database import get_database as open_database
from core.db.training_images import TrainingImageRepository
from core.db.users import UserRepository
from core.labels import get_schema
from core.services.accounts import ensure_first_admin
from core.services.image_browser import ImageBrowser


def get_settings() -> Settings:
    """Environment and `.streamlit/secrets.toml`, read on every run (cheap; never stale)."""
    return app_settings()


def _mongo_key(settings: Settings) -> tuple[str | None, str, str, int | None]:
    return (
        settings.mongo_uri,
        settings.mongo_db,
        str(settings.data_dir),
        settings.embedded_mongo_port,
    )


def _mongo_settings(key: tuple[str | None, str, str, int | None]) -> Settings:
    uri, db_name, data_dir, port = key
    return Settings(
        mongo_uri=uri, mongo_db=db_name, data_dir=Path(data_dir), embedded_mongo_port=port
    )


@st.cache_resource(show_spinner="Connecting to the database…")
def _database(key: tuple[str | None, str, str, int | None]) -> Database:
    database = open_database(_mongo_settings(key))
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
    """The product's MongoDB database (MONGO_URI or the embedded server)."""
    return _database(_mongo_key(get_settings()))


@st.cache_resource(show_spinner="Connecting to the warehouse…")
def _engine(database_url: str | None, data_dir: str) -> Engine:
    return sql.get_engine(Settings(database_url=database_url, data_dir=Path(data_dir)))


def get_engine() -> Engine:
    """The SQL warehouse engine (DATABASE_URL or the embedded PostgreSQL)."""
    settings = get_settings()
    return _engine(settings.database_url, str(settings.data_dir))


@st.cache_resource(show_spinner=False)
def _image_browser(key: tuple[str | None, str, str, int | None], schema_name: str) -> ImageBrowser:
    return ImageBrowser(_database(key), get_schema(schema_name))


def get_image_browser() -> ImageBrowser:
    """The shared image browser (its cached counts serve every session of this process)."""
    settings = get_settings()
    return _image_browser(_mongo_key(settings), settings.label_schema)


def get_training_images() -> TrainingImageRepository:
    return get_image_browser().repository


@st.cache_data(max_entries=5000, show_spinner=False)
def _thumbnail(key: tuple[str | None, str, str, int | None], file_id: str) -> bytes:
    return TrainingImageRepository(_database(key)).read_file(ObjectId(file_id))


def load_thumbnail(file_id: ObjectId) -> bytes:
    """A stored thumbnail's bytes, cached by file id (files never change once stored)."""
    return _thumbnail(_mongo_key(get_settings()), str(file_id))


@st.cache_resource(show_spinner=False)
def _process_cookie_key() -> str:
    return secrets.token_urlsafe(32)


def get_cookie_key() -> str:
    """AUTH_COOKIE_KEY, or a random key for this process (sign-in cookies end at a restart)."""
    return get_settings().auth_cookie_key or _process_cookie_key()
