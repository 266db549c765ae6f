"""Helpers for the identify API's tests: `python -m jobs.serve_api` on a fresh database, the app
in-process under uvicorn, uploads held open to fill its work slots, and the error-body check."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pymongo import MongoClient
from pymongo.database import Database

from core.config import Settings, free_port
from core.db.indexes import ensure_all
from core.db.predictions import PredictionRepository

REPO_ROOT = Path(__file__).resolve().parent.parent
API_KEY = "test-key-8c1f"
KEY = {"X-API-Key": API_KEY}


@dataclass
class Api:
    url: str
    database: Database
    log_path: Path
    process: subprocess.Popen
    before_model: dict[str, Any] = field(default_factory=dict)  # answers before any model

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    def log(self) -> str:
        return self.log_path.read_text()

    def predictions(self) -> PredictionRepository:
        return PredictionRepository(self.database)


def wait_for_health(
    api: Api, *, model_loaded: bool = False, mongo_ok: bool = True, timeout_s: float = 120
) -> dict:
    """/health's answer once the API answers (with MongoDB connected, or the model loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert api.process.poll() is None, f"the API stopped:\n{api.log()}"
        try:
            response = httpx.get(f"{api.url}/health", timeout=5)
            health = response.json() if response.status_code == 200 else {}
            is_ready = (not mongo_ok or health["mongo"]["ok"]) and (
                not model_loaded or health["model"]["loaded"]
            )
            if health and is_ready:
                return health
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the API at {api.url} was not ready in {timeout_s} s:\n{api.log()}")


@contextmanager
def serving(mongo_uri: str, folder: Path, **env: str) -> Iterator[Api]:
    """A fresh database and `python -m jobs.serve_api` over it on a free port."""
    with MongoClient(mongo_uri, tz_aware=True) as client:
        name = f"test_api_{uuid4().hex[:8]}"
        database = client[name]
        ensure_all(database)
        port = free_port()
        log_path = folder / f"{name}.log"
        environment = {k: v for k, v in os.environ.items() if k != "IDENTIFY_API_KEY"}
        environment.update(
            MONGO_URI=mongo_uri, MONGO_DB=name, DATA_DIR=str(folder), TF_CPP_MIN_LOG_LEVEL="3"
        )
        environment.update(env)
        command = ["-m", "jobs.serve_api", "--host", "127.0.0.1", "--port", str(port)]
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, *command], cwd=REPO_ROOT, env=environment, stdout=log, stderr=log
            )
        api = Api(f"http://127.0.0.1:{port}", database, log_path, process)
        try:
            wait_for_health(api)
            yield api
        finally:
            process.terminate()
            process.wait(timeout=15)
            client.drop_database(name)


def assert_error(response: httpx.Response, status: int, *fragments: str) -> str:
    """The response is {"success": false, "error": one sentence} with this status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error"} and body["success"] is False
    message = body["error"]
    assert message.endswith(".") and "Traceback" not in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


@contextmanager
def in_process_api(settings: Settings, **limits: int) -> Iterator[str]:
    """create_app(settings, **limits) served by uvicorn in a thread on a free port; its URL."""
    import uvicorn

    from api_app.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings, **limits), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_for_work(url: str, **expected: int) -> dict:
    """/health's "work" once it shows the expected running and waiting counts."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        work = httpx.get(f"{url}/health", timeout=5).json()["work"]
        if all(work[key] == value for key, value in expected.items()):
            return work
        time.sleep(0.02)
    pytest.fail(f"/health never showed {expected}; last {work}")


def post_held_identify(url: str, release: threading.Event) -> httpx.Response:
    """POST /identify with an upload that stays open (holding its work slot) until `release`."""

    def held_upload() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n'
        release.wait(timeout=30)
        yield b"not a photo\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    return httpx.post(f"{url}/identify", content=held_upload(), headers=headers, timeout=30)
