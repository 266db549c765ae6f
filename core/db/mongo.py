"""One way to get the MongoDB database: MONGO_URI, or a shared embedded nx-27017 server."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from core.config import Settings, free_port
from core.errors import ServiceUnavailableError, UserError

STATE_FILE = "server.json"
START_TIMEOUT_S = 30.0


def to_object_id(value: str | ObjectId, what: str = "record") -> ObjectId:
    """The ObjectId for an id from a page, URL or command line, or a UserError if malformed."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        raise UserError(
            f"{value!r} is not a valid {what} id; ids are 24 hexadecimal characters."
        ) from None


def created_between(start: date | None, end: date | None) -> dict[str, datetime] | None:
    """A `created_at` condition for whole days from start to end (either may be open)."""
    condition: dict[str, datetime] = {}
    if start:
        condition["$gte"] = datetime.combine(start, datetime.min.time(), UTC)
    if end:
        condition["$lte"] = datetime.combine(end, datetime.max.time(), UTC)
    return condition or None


def connect(uri: str, *, timeout_s: float = 5.0) -> MongoClient:
    """A client that has answered a ping, or ServiceUnavailableError."""
    client: MongoClient = MongoClient(
        uri, serverSelectionTimeoutMS=int(timeout_s * 1000), tz_aware=True
    )
    try:
        client.admin.command("ping")
    except PyMongoError as err:
        client.close()
        raise ServiceUnavailableError(
            f"MongoDB at {_host_of(uri)!r} does not answer ({type(err).__name__}); "
            "check that it runs and that MONGO_URI is right."
        ) from err
    return client


def mongo_uri_for(settings: Settings) -> str:
    """MONGO_URI when set, otherwise the URI of the embedded server (started if needed)."""
    if settings.mongo_uri:
        return settings.mongo_uri
    return ensure_embedded_mongo(
        settings.ensure_data_dir() / "mongo", port=settings.embedded_mongo_port
    )


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock across processes, so that only one of them starts the server."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(uri: str, timeout_s: float = 1.0) -> bool:
    try:
        connect(uri, timeout_s=timeout_s).close()
    except ServiceUnavailableError:
        return False
    return True


def _server_command() -> str:
    beside_python = Path(sys.executable).parent / "nx-27017"
    found = str(beside_python) if beside_python.exists() else shutil.which("nx-27017")
    if not found:
        raise ServiceUnavailableError(
            "The embedded MongoDB server nx-27017 is not installed; run make run or "
            "pip install -r requirements.txt, or set MONGO_URI."
        )
    return found


def ensure_embedded_mongo(folder: Path, *, port: int | None = None) -> str:
    """Start (or reuse) the nx-27017 server that keeps its data in this folder; return its URI."""
    folder = folder.resolve()
    with _locked(folder):
        state = _read_state(folder)
        if state and _is_alive(state["pid"]):
            uri = f"mongodb://127.0.0.1:{state['port']}"
            if _answers(uri, timeout_s=3.0):
                return uri
        chosen = port or free_port()
        (folder / "db").mkdir(exist_ok=True)
        log_path = folder / "server.log"
        command = [
            _server_command(),
            "--data-dir",
            str(folder / "db"),
            "--host",
            "127.0.0.1",
            "-p",
            str(chosen),
            "--log-file",
            str(log_path),
            "--pid-file",
            str(folder / "server.pid"),
        ]
        with log_path.open("a") as log:
            server = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        uri = f"mongodb://127.0.0.1:{chosen}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(uri, timeout_s=0.5):
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise ServiceUnavailableError(
                    f"The embedded MongoDB server did not start on port {chosen}; "
                    f"see {log_path} (set EMBEDDED_MONGO_PORT to another port if it is taken)."
                )
            time.sleep(0.1)
        (folder / STATE_FILE).write_text(json.dumps({"pid": server.pid, "port": chosen}))
        return uri


def stop_embedded_mongo(folder: Path, *, timeout_s: float = 10.0) -> bool:
    """Stop the embedded server of this folder if it runs; return whether one was stopped."""
    folder = folder.resolve()
    with _locked(folder):
        state = _read_state(folder)
        (folder / STATE_FILE).unlink(missing_ok=True)
        if not state or not _is_alive(state["pid"]):
            return False
        os.kill(state["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _is_alive(state["pid"]) and time.monotonic() < deadline:
            _reap(state["pid"])
            time.sleep(0.1)
        if _is_alive(state["pid"]):
            os.kill(state["pid"], signal.SIGKILL)
            _reap(state["pid"])
        return True


def _reap(pid: int) -> None:
    """Collect a child that has exited, so that it does not linger as a zombie."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _host_of(uri: str) -> str:
    rest = uri.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1].split("/", 1)[0]
