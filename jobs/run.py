"""Serve the product: python -m jobs.run (what `make run` calls).

Starts the embedded databases when no URL is configured, creates the first administrator, fills
an empty training set with demo data, then serves the breeder app, the console and the identify
API until Ctrl-C, which stops everything it started.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.config import Settings, check_port_free
from core.db.models import ModelRepository
from core.db.mongo import get_database, mongo_uri_for, stop_embedded_mongo
from core.db.sql import get_engine, warehouse_url
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.db.users import UserRepository
from core.services.accounts import ensure_first_admin
from core.services.demo import add_demo_images
from core.services.training import detached_launcher, start_training_run
from jobs._cli import ProgressBar, run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_IMAGES = 400
DEMO_UNLABELLED = 40


def streamlit_command(script: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.port",
        str(port),
        "--server.address",
        "0.0.0.0",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def wait_until_answering(url: str, timeout_s: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def main() -> int:
    started = time.monotonic()
    settings = Settings.from_env()
    settings.ensure_data_dir()
    check_port_free("BREEDER_PORT", settings.breeder_port, "0.0.0.0")
    check_port_free("ADMIN_PORT", settings.admin_port, "0.0.0.0")
    check_port_free("API_PORT", settings.api_port, "0.0.0.0")

    print("Starting the databases…", flush=True)
    mongo_uri = mongo_uri_for(settings)
    database = get_database(settings)
    engine = get_engine(settings)
    engine.dispose()
    children: list[subprocess.Popen] = []
    try:
        first_admin = ensure_first_admin(
            UserRepository(database),
            username=settings.admin_username,
            password=settings.admin_password,
            data_dir=settings.data_dir,
        )
        images = TrainingImageRepository(database)
        if images.count() == 0:
            print(f"The training set is empty: adding {DEMO_IMAGES} demo images…", flush=True)
            report = add_demo_images(
                images,
                settings.schema,
                count=DEMO_IMAGES,
                unlabelled=DEMO_UNLABELLED,
                progress=ProgressBar(DEMO_IMAGES + DEMO_UNLABELLED, "demo images"),
            )
            print(report.summary(), flush=True)

        if ModelRepository(database).active_id() is None:
            runs = TrainingRunRepository(database)
            if runs.active() is None:
                start_training_run(
                    runs,
                    detached_launcher(settings, mongo_uri),
                    {"backbone": settings.backbone, "resize_mode": settings.resize_mode},
                    requested_by="make run (first model)",
                )
                print(
                    "No model yet: training a first one in the background (a few minutes); "
                    "until then the breeder app says it is not ready.",
                    flush=True,
                )

        env = {**os.environ, "MONGO_URI": mongo_uri, "DATABASE_URL": warehouse_url(settings)}
        env["PYTHONPATH"] = str(REPO_ROOT)
        services = [
            (
                "Breeder app",
                streamlit_command("breeder_app.py", settings.breeder_port),
                f"http://localhost:{settings.breeder_port}",
                "/_stcore/health",
            ),
            (
                "Admin console",
                streamlit_command("admin_app/app.py", settings.admin_port),
                f"http://localhost:{settings.admin_port}",
                "/_stcore/health",
            ),
        ]
        if importlib.util.find_spec("jobs.serve_api"):
            services.append(
                (
                    "Identify API",
                    [sys.executable, "-m", "jobs.serve_api", "--port", str(settings.api_port)],
                    f"http://localhost:{settings.api_port}",
                    "/health",
                )
            )
        for _name, command, _url, _health in services:
            children.append(subprocess.Popen(command, cwd=REPO_ROOT, env=env))
        for name, _command, url, health in services:
            if not wait_until_answering(url + health):
                print(f"{name} did not answer at {url}; see the messages above.", file=sys.stderr)
                return 1

        print("\n" + "=" * 72)
        for name, _command, url, _health in services:
            print(f"  {name:14} {url}")
        if first_admin and first_admin.password:
            print(f"  Sign in as {first_admin.username!r} with password {first_admin.password!r}")
            print(f"  (also saved in {first_admin.password_file}; change it on the Users page)")
        elif first_admin:
            print(f"  Sign in as {first_admin.username!r} with ADMIN_PASSWORD.")
        else:
            print("  Sign in with your console account (add one: python -m jobs.users add NAME).")
        print(f"  Ready in {time.monotonic() - started:.0f} s. Press Ctrl-C to stop everything.")
        print("=" * 72 + "\n", flush=True)

        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A service stopped; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if not settings.mongo_uri:
            stop_embedded_mongo(settings.data_dir / "mongo")
        # the embedded PostgreSQL stops by itself when its last user process (this one) exits


if __name__ == "__main__":
    run_cli(main)
