"""The embedded servers: started once, shared by processes, restarted with their data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo import MongoClient
from sqlalchemy import text

from core.config import Settings
from core.db.database import get_database
from core.db.mongo import ensure_embedded_mongo, stop_embedded_mongo
from core.db.sql import connect_engine, get_engine
from core.errors import ServiceUnavailableError

SHARE_SCRIPT = """
import json, sys
from pathlib import Path
from core.db.mongo import ensure_embedded_mongo
from pymongo import MongoClient
uri = ensure_embedded_mongo(Path(sys.argv[1]))
MongoClient(uri).shared.hits.insert_one({"by": sys.argv[2]})
print(json.dumps({"uri": uri}))
"""


@pytest.fixture
def mongo_folder(tmp_path: Path):
    folder = tmp_path / "mongo"
    yield folder
    stop_embedded_mongo(folder)


@pytest.mark.skipif(bool(os.environ.get("MONGO_URI")), reason="MONGO_URI points elsewhere")
def test_processes_started_together_share_one_server(mongo_folder: Path) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SHARE_SCRIPT, str(mongo_folder), f"p{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    uris = {json.loads(p.communicate(timeout=60)[0])["uri"] for p in processes}

    assert len(uris) == 1
    with MongoClient(uris.pop()) as client:
        assert sorted(d["by"] for d in client.shared.hits.find()) == ["p0", "p1", "p2"]


@pytest.mark.skipif(bool(os.environ.get("MONGO_URI")), reason="MONGO_URI points elsewhere")
def test_restarted_server_keeps_its_data(mongo_folder: Path) -> None:
    uri = ensure_embedded_mongo(mongo_folder)
    with MongoClient(uri) as client:
        client.kept.cats.insert_one({"name": "Bluebell"})

    assert stop_embedded_mongo(mongo_folder)
    with pytest.raises(ServiceUnavailableError):
        get_database(Settings(mongo_uri=uri))
    uri = ensure_embedded_mongo(mongo_folder)

    with MongoClient(uri) as client:
        assert client.kept.cats.find_one({}, {"_id": 0}) == {"name": "Bluebell"}
    assert not stop_embedded_mongo(mongo_folder / "never-started")


@pytest.mark.skipif(bool(os.environ.get("MONGO_URI")), reason="MONGO_URI points elsewhere")
def test_settings_without_uri_start_the_embedded_server_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", mongo_db="cats")
    try:
        database = get_database(settings)
        database.training_images.insert_one({"sha256": "x"})
        assert (tmp_path / "data" / "mongo" / "db" / "cats.db").exists()
        indexes = database.training_images.index_information().values()
        assert any(i["key"] == [("sha256", 1)] and i.get("unique") for i in indexes)
    finally:
        stop_embedded_mongo(tmp_path / "data" / "mongo")


def test_port_taken_by_something_else_gives_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServiceUnavailableError, match=f"did not start on port {port}"):
            ensure_embedded_mongo(tmp_path / "mongo", port=port)


def test_unreachable_mongo_uri_is_a_clear_error() -> None:
    settings = Settings(mongo_uri="mongodb://127.0.0.1:9")
    with pytest.raises(ServiceUnavailableError, match="MongoDB at '127.0.0.1:9' does not answer"):
        get_database(settings)


def test_embedded_postgres_answers(postgres_url: str) -> None:
    engine = connect_engine(postgres_url)
    with engine.connect() as connection:
        version = connection.execute(text("select version()")).scalar_one()
    assert "PostgreSQL" in version


def test_sqlite_url_is_accepted(tmp_path: Path) -> None:
    engine = get_engine(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}"))
    with engine.begin() as connection:
        assert connection.execute(text("select 1 + 1")).scalar_one() == 2


def test_unreachable_database_url_is_a_clear_error() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(ServiceUnavailableError, match="does not answer.*DATABASE_URL"):
        get_engine(settings)
