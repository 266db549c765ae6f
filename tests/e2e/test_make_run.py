"""`make run`'s command: serves both apps, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from pymongo import MongoClient

from core.config import free_port
from core.db.training_runs import TrainingRunRepository

REPO_ROOT = Path(__file__).resolve().parents[2]


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is as good as gone
        return stat.read().split()[2] != "Z"


def is_gone(pid: int, *, timeout_s: float = 10) -> bool:
    """Whether the process ends within `timeout_s` (the server may still be shutting down)."""
    deadline = time.monotonic() + timeout_s
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("MONGO_URI")), reason="tests the embedded servers")
def test_run_serves_both_apps_and_ctrl_c_stops_everything() -> None:
    # not under pytest's 0700 temp folder, which the embedded PostgreSQL's own user cannot enter
    tmp_path = Path(tempfile.mkdtemp(prefix="cat-identifier-run-"))
    ports = {name: str(free_port()) for name in ("BREEDER_PORT", "ADMIN_PORT", "API_PORT")}
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "DATABASE_URL")},
        **ports,
        "DATA_DIR": str(tmp_path / "data"),
        "ADMIN_USERNAME": "boss",
        "ADMIN_PASSWORD": "a long password",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.run", "--demo-images", "40"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        assert f"http://localhost:{ports['BREEDER_PORT']}" in text
        assert "Sign in as 'boss' with ADMIN_PASSWORD" in text
        assert "a long password" not in text
        assert answers(f"http://localhost:{ports['BREEDER_PORT']}/_stcore/health")
        assert answers(f"http://localhost:{ports['ADMIN_PORT']}/_stcore/health")

        state = json.loads((tmp_path / "data" / "mongo" / "server.json").read_text())
        with MongoClient(f"mongodb://127.0.0.1:{state['port']}", tz_aware=True) as client:
            database = client["cat_identifier"]
            assert database.training_images.count_documents({}) == 44
            assert database.users.find_one({"username": "boss"})["role"] == "admin"
            first_run = TrainingRunRepository(database).list()[0]
        assert first_run.requested_by == "make run (first model)"
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=90)
    assert process.returncode == 0, rest

    assert is_gone(state["pid"]), "the embedded MongoDB server is still running"
    assert not (tmp_path / "data" / "mongo" / "server.json").exists()
    for port in ports.values():
        assert not answers(f"http://localhost:{port}/_stcore/health")
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True
    ).stdout.split()
    assert [pid for pid in leftovers if is_alive(int(pid))] == []
    shutil.rmtree(tmp_path, ignore_errors=True)
