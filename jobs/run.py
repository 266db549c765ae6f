"""Serve the product: python -m jobs.run (what `make run` calls).

Starts the embedded databases when no URL is configured, creates the first administrator, fills
an empty training set with demo data, then serves the breeder app, the console and the identify
API until Ctrl-C, which stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.config import Settings, check_port_free
from core.db.database import get_database
from core.db.models import ModelRepository
from core.db.mongo import mongo_uri_for, stop_embedded_mongo
from core.db.sql import get_engine, warehouse_url
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.db.users import UserRepository
from core.services.accounts import ensure_first_admin, first_admin_notice
from core.services.demo import add_demo_images
from core.services.run_defaults import run_defaults
from core.services.training import detached_launcher, start_training_run
from jobs._cli import ProgressBar, run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_IMAGES = 1000  # enough for the first model to learn every trait (README benchmarks)


def streamlit_command(script: str, port: int, max_upload_mb: int) -> list[str]:
    """The command that serves one Streamlit app; its server refuses uploads over the limit."""
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
        "--server.maxUploadSize",  # the widgets' own limit is only checked in the browser
        str(max_upload_mb),
    ]


def api_command(settings: Settings) -> list[str]:
    """The command that serves the identify API on API_HOST (127.0.0.1 unless told otherwise)."""
    port = str(settings.api_port)
    return [sys.executable, "-m", "jobs.serve_api", "--host", settings.api_host, "--port", port]


def url_host(host: str) -> str:
    """The host part of a URL that reaches a server listening on host."""
    if host in ("0.0.0.0", "::", ""):
        return "localhost"
    return f"[{host}]" if ":" in host else host


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


def _stop_like_ctrl_c(*_: object) -> None:
    """SIGTERM (e.g. from a service manager) stops everything the way Ctrl-C does."""
    raise KeyboardInterrupt


def stop_run(runs: TrainingRunRepository, run_id: str, timeout_s: float = 5.0) -> None:
    """Cancel a training run this command started and wait for its job to end."""
    run = runs.get(run_id)
    if not run.is_active:
        return
    print("Stopping the training run it started…", flush=True)
    runs.request_cancel(run_id)
    deadline = time.monotonic() + timeout_s
    while runs.get(run_id).is_active and time.monotonic() < deadline:
        time.sleep(0.5)
    run = runs.get(run_id)
    if run.is_active and run.pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(run.pid, signal.SIGKILL)
        runs.finish(run_id, "cancelled", error="Stopped with the product (Ctrl-C).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.run", description=__doc__)
    parser.add_argument(
        "--demo-images",
        type=int,
        default=DEMO_IMAGES,
        help=f"labelled demo images for an empty training set (default {DEMO_IMAGES}; 0 for none)",
    )
    parser.add_argument(
        "--no-first-model", action="store_true", help="do not train a first model in the background"
    )
    args = parser.parse_args(argv)
    if args.demo_images < 0:
        parser.error(f"--demo-images {args.demo_images} is negative; use 0 or more.")
    started = time.monotonic()
    settings = Settings.from_env()
    settings.ensure_data_dir()
    check_port_free("BREEDER_PORT", settings.breeder_port, "0.0.0.0")
    check_port_free("ADMIN_PORT", settings.admin_port, "0.0.0.0")
    check_port_free("API_PORT", settings.api_port, settings.api_host)

    print("Starting the databases…", flush=True)
    mongo_uri = mongo_uri_for(settings)
    database = get_database(settings)
    engine = get_engine(settings)
    engine.dispose()
    children: list[subprocess.Popen] = []
    first_run: str | None = None
    try:
        first_admin = ensure_first_admin(
            UserRepository(database),
            username=settings.admin_username,
            password=settings.admin_password,
            data_dir=settings.data_dir,
        )
        images = TrainingImageRepository(database)
        if images.count() == 0 and args.demo_images:
            unlabelled = args.demo_images // 10
            print(f"The training set is empty: adding {args.demo_images} demo images…", flush=True)
            report = add_demo_images(
                images,
                settings.schema,
                count=args.demo_images,
                unlabelled=unlabelled,
                progress=ProgressBar(args.demo_images + unlabelled, "demo images"),
            )
            print(report.summary(), flush=True)

        runs = TrainingRunRepository(database)
        if not args.no_first_model and ModelRepository(database).active_id() is None:
            runs.fail_stale()
            if runs.active() is None and images.count():
                first_run = start_training_run(
                    runs,
                    detached_launcher(settings, mongo_uri),
                    run_defaults(settings).to_dict(),
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
                streamlit_command("breeder_app.py", settings.breeder_port, settings.max_upload_mb),
                f"http://localhost:{settings.breeder_port}",
                "/_stcore/health",
            ),
            (
                "Admin console",
                streamlit_command("admin_app/app.py", settings.admin_port, settings.max_upload_mb),
                f"http://localhost:{settings.admin_port}",
                "/_stcore/health",
            ),
            (
                "Identify API",
                api_command(settings),
                f"http://{url_host(settings.api_host)}:{settings.api_port}",
                "/health",
            ),
        ]
        for _name, command, _url, _health in services:
            children.append(subprocess.Popen(command, cwd=REPO_ROOT, env=env))
        for name, _command, url, health in services:
            if not wait_until_answering(url + health):
                print(f"{name} did not answer at {url}; see the messages above.", file=sys.stderr)
                return 1

        print("\n" + "=" * 72)
        for name, _command, url, _health in services:
            print(f"  {name:14} {url}")
        if first_admin:
            for line in first_admin_notice(first_admin):
                print(f"  {line}")
        else:
            print("  Sign in with your console account (add one: python -m jobs.users add NAME).")
        print(f"  Ready in {time.monotonic() - started:.0f} s. Press Ctrl-C to stop everything.")
        print("=" * 72 + "\n", flush=True)

        signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
        # Ctrl-C stops everything even when a shell started us in the background with SIGINT
        # ignored (which Python would otherwise keep)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A service stopped; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up
        for child in children:  # the services stop side by side while the run is cancelled
            if child.poll() is None:
                child.terminate()
        if first_run:
            stop_run(runs, first_run)
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
