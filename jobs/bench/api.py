"""Measure the identify API under load: python -m jobs.bench.api [--requests 300] [--clients 4].

Starts `python -m jobs.serve_api` as a real uvicorn process on a free port of 127.0.0.1, waits
until its model is loaded, then sends a bounded number of `POST /identify` requests with a demo
photo from several concurrent clients and prints requests per second and p50/p95 latency.

By default it measures the active model of the configured database. `--speed-model` measures a
scratch database (dropped afterwards) holding an untrained model of the default architecture
(mobilenet_v2, 128 px): its speed is that of a trained one, and it needs no training data.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pymongo.database import Database

from core.config import Settings, free_port
from core.db.mongo import mongo_uri_for
from core.demo.samples import demo_samples, encode_jpeg
from core.errors import ServiceUnavailableError, UserError
from core.labels import CAT_PHENOTYPE, LabelSchema
from jobs._cli import run_cli
from jobs.bench import Row
from jobs.bench.scratch import scratch_database, store_untrained_model

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
WARM_UP_REQUESTS = 10


def demo_photo(seed: int = 77) -> bytes:
    """A demo cat photo as JPEG bytes (what the load sends)."""
    sample = next(iter(demo_samples(CAT_PHENOTYPE.name, 1, seed=seed)))
    return encode_jpeg(sample.image)


def store_speed_model(
    database: Database,
    *,
    schema: LabelSchema = CAT_PHENOTYPE,
    backbone: str = "mobilenet_v2",
    image_size: int = 128,
) -> str:
    """Store and activate an untrained model of this architecture; return its id.

    For speed measurements only: its answers are random, its timing is a trained model's.
    """
    import keras

    from core.ml.backbone_names import check_backbone_name
    from core.ml.backbones import Backbone, build_small_cnn
    from core.ml.model_builder import build_model, model_to_bytes

    check_backbone_name(backbone)
    if backbone == "small_cnn":
        features = build_small_cnn(image_size)
    else:
        applications = {
            "mobilenet_v2": keras.applications.MobileNetV2,
            "efficientnet_b0": keras.applications.EfficientNetB0,
            "xception": keras.applications.Xception,
        }
        network = applications[backbone](
            include_top=False, weights=None, input_shape=(image_size, image_size, 3)
        )
        scale = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name=f"{backbone}_preprocess")
        features = Backbone(backbone, network, True, scale)
    model = build_model(schema, features, image_size=image_size)
    return store_untrained_model(
        database,
        model_to_bytes(model),
        schema=schema,
        backbone=backbone,
        image_size=image_size,
        hyper_parameters={"backbone": backbone, "image_size": image_size, "note": "speed only"},
    )


@contextmanager
def running_api(
    settings: Settings, *, extra_args: tuple[str, ...] = (), log_path: Path | None = None
) -> Iterator[str]:
    """A `python -m jobs.serve_api` process on a free local port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "MONGO_URI": mongo_uri_for(settings),
        "MONGO_DB": settings.mongo_db,
        "DATA_DIR": str(settings.data_dir),
        "MAX_UPLOAD_MB": str(settings.max_upload_mb),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    env.pop("IDENTIFY_API_KEY", None)
    if settings.identify_api_key:
        env["IDENTIFY_API_KEY"] = settings.identify_api_key
    command = [sys.executable, "-m", "jobs.serve_api", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryDirectory() as folder:
        log_path = log_path or Path(folder) / "serve_api.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [*command, *extra_args], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_model(url, server, log_path)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_for_model(url: str, server: subprocess.Popen, log_path: Path) -> dict[str, Any]:
    """Poll /health until the model is loaded; ServiceUnavailableError naming the log if not."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            last = httpx.get(f"{url}/health", timeout=5).json()
            if last.get("model", {}).get("loaded"):
                return last
            if last.get("model", {}).get("state") in ("no active model", "failed"):
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    state = last.get("model", {}).get("state", "not answering")
    raise ServiceUnavailableError(
        f"The identify API at {url} has no loaded model ({state}); see {log_path}."
    )


def load(
    url: str,
    photo: bytes,
    *,
    requests: int,
    clients: int,
    store: bool = True,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Send `requests` POST /identify from `clients` threads; rps and latency percentiles."""
    headers = {"X-API-Key": api_key} if api_key else {}
    target = f"{url}/identify" + ("" if store else "?store=false")
    remaining = [requests]
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(timeout=60, headers=headers) as http:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                response = http.post(target, files={"image": ("cat.jpg", photo, "image/jpeg")})
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        failures.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if not latencies:
        raise UserError(f"Every request failed; the first answer was {failures[:1]!r}.")
    return {
        "requests": requests,
        "clients": clients,
        "failed": len(failures),
        "seconds": round(seconds, 2),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(1000 * float(np.percentile(latencies, 95)), 1),
        "max_ms": round(1000 * max(latencies), 1),
    }


def measure_api(
    settings: Settings,
    requests: int = 300,
    clients: int = 4,
    *,
    photo: bytes | None = None,
    store: bool = True,
    extra_args: tuple[str, ...] = ("--no-access-log",),
) -> dict[str, Any]:
    """Start the API on the settings' database (it needs an active model) and load it."""
    if requests < 1 or clients < 1:
        raise UserError(f"Ask for at least 1 request and 1 client, not {requests} and {clients}.")
    photo = photo or demo_photo()
    with running_api(settings, extra_args=extra_args) as url:
        model = httpx.get(f"{url}/health", timeout=10).json()["model"]
        key = settings.identify_api_key
        load(url, photo, requests=WARM_UP_REQUESTS, clients=1, store=False, api_key=key)
        figures = load(url, photo, requests=requests, clients=clients, store=store, api_key=key)
    return {
        "backbone": model.get("backbone"),
        "schema": model.get("schema"),
        "photo_kb": round(len(photo) / 1024, 1),
        "stored": store,
        **figures,
    }


@contextmanager
def speed_model_settings(
    settings: Settings, *, backbone: str, image_size: int
) -> Iterator[Settings]:
    """Settings of a scratch database with an untrained model of this architecture."""
    with scratch_database(settings, "bench_api") as database:
        store_speed_model(database, backbone=backbone, image_size=image_size)
        yield replace(settings, mongo_db=database.name)


def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    """The API section of `python -m jobs.bench`: 1 and 4 clients on an untrained mobilenet_v2."""
    numbers: dict[str, Any] = {}
    rows: list[Row] = []
    with speed_model_settings(settings, backbone="mobilenet_v2", image_size=128) as scratch:
        for clients in (1, 4):
            figures = measure_api(scratch, requests=240, clients=clients)
            numbers[f"clients_{clients}"] = figures
            rows.append(
                (
                    f"POST /identify, {clients} client(s), mobilenet_v2 128 px",
                    f"{figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.0f} ms, "
                    f"p95 {figures['p95_ms']:.0f} ms",
                    "p50 < 150 ms",
                )
            )
    return rows, numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.api", description=__doc__)
    parser.add_argument("--requests", type=int, default=300, help="requests to send (300)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--no-store", action="store_true", help="send store=false")
    parser.add_argument(
        "--speed-model", action="store_true", help="measure an untrained default model instead"
    )
    parser.add_argument("--backbone", default="mobilenet_v2", help="with --speed-model")
    parser.add_argument("--image-size", type=int, default=128, help="with --speed-model")
    parser.add_argument("--server-arg", action="append", default=[], help="passed to serve_api")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    extra = ("--no-access-log", *args.server_arg)
    if args.speed_model:
        with speed_model_settings(
            settings, backbone=args.backbone, image_size=args.image_size
        ) as scratch:
            figures = measure_api(
                scratch, args.requests, args.clients, store=not args.no_store, extra_args=extra
            )
    else:
        figures = measure_api(
            settings, args.requests, args.clients, store=not args.no_store, extra_args=extra
        )
    for key, value in figures.items():
        print(f"{key:12s} {value}")
    return 0


if __name__ == "__main__":
    run_cli(main)
