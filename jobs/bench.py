"""Benchmarks: python -m jobs.bench [--only NAME ...] [--images N] (what `make bench` runs).

Works in its own throwaway database on the configured (or embedded) MongoDB, prints a table and
writes every number to data/benchmarks.json. Sections from other modules (import, console,
reporting, API, breeder app) run when their module is present.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.config import Settings
from core.db.models import ModelRepository
from core.db.mongo import connect, ensure_indexes, mongo_uri_for
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.labels import get_schema
from core.services.demo import add_demo_images
from core.services.training import start_training_run
from jobs._cli import run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str]  # what, measured, goal


def run_job_measured(settings: Settings, run_id: str, env_extra: dict[str, str]) -> dict[str, Any]:
    """Run the training job in a child process; return its wall time and peak RSS."""
    env = {
        **os.environ,
        "MONGO_URI": settings.mongo_uri or "",
        "MONGO_DB": settings.mongo_db,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **env_extra,
    }
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "jobs.train", "--run-id", run_id],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "exit_code": os.waitstatus_to_exitcode(status),
    }


def train_once(settings: Settings, database, params: dict, env_extra: dict[str, str]) -> dict:
    runs = TrainingRunRepository(database)
    run_id = start_training_run(runs, lambda args: None, params, requested_by="bench")
    measured = run_job_measured(settings, run_id, env_extra)
    run = runs.get(run_id)
    measured.update(status=run.status, epochs=run.epoch, error=run.error)
    if run.model_id:
        record = ModelRepository(database).get(run.model_id)
        measured["val_accuracy"] = {
            trait: round(values["val_accuracy"], 3)
            for trait, values in record.metrics.items()
            if values.get("val_accuracy") is not None
        }
        measured["model_id"] = run.model_id
    return measured


def mobilenet_weights_file(folder: Path, image_size: int) -> Path:
    """A MobileNetV2 weights file written here (no ImageNet download on this machine)."""
    import keras

    path = folder / f"mobilenet_v2_{image_size}.weights.h5"
    backbone = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(image_size, image_size, 3)
    )
    backbone.save_weights(path)
    return path


def bench_training(settings: Settings, database, images: int, results: dict) -> list[Row]:
    schema = settings.schema
    repository = TrainingImageRepository(database)
    started = time.perf_counter()
    add_demo_images(repository, schema, count=images, seed=11)
    results["demo_import_images_per_s"] = round(images / (time.perf_counter() - started), 1)
    rows: list[Row] = [
        ("demo images drawn and stored", f"{results['demo_import_images_per_s']} images/s", "")
    ]

    small = train_once(settings, database, {"backbone": "small_cnn"}, {})
    results["train_small_cnn"] = small
    rows.append(
        (
            f"train small_cnn, {images} images ({small['epochs']} epochs, {small['status']})",
            f"{small['seconds']:.0f} s, {small['peak_rss_mb']} MB",
            "< 300 s, < 3 GB",
        )
    )
    for trait, accuracy in small.get("val_accuracy", {}).items():
        rows.append((f"  validation accuracy {trait}", f"{accuracy:.1%}", ">= 90%"))

    with tempfile.TemporaryDirectory() as folder:
        weights = mobilenet_weights_file(Path(folder), 128)
        env = {"BACKBONE_WEIGHTS": str(weights)}
        params = {"backbone": "mobilenet_v2"}
        cold = train_once(settings, database, params, env)
        warm = train_once(settings, database, params, env)
    results["train_mobilenet_v2_cold"], results["train_mobilenet_v2_warm"] = cold, warm
    rows.append(
        (
            "train frozen mobilenet_v2, cold feature cache",
            f"{cold['seconds']:.0f} s, {cold['peak_rss_mb']} MB",
            "< 300 s, < 3 GB",
        )
    )
    rows.append(("  same, warm feature cache (retrain)", f"{warm['seconds']:.0f} s", "< 30 s"))
    if small.get("model_id"):  # the predictions below use the model a default run gives
        ModelRepository(database).activate(small["model_id"])
    return rows


def bench_prediction(settings: Settings, database, results: dict) -> list[Row]:
    from core.demo.samples import demo_samples, encode_jpeg
    from core.images import decode_image
    from core.services.predictions import ActiveModelCache, identify

    loaded = ActiveModelCache(ModelRepository(database)).get()
    files = [encode_jpeg(s.image) for s in demo_samples(settings.label_schema, 60, seed=5)]
    latencies = []
    for index, data in enumerate(files):
        started = time.perf_counter()
        identify(loaded, decode_image(data, f"{index}.jpg"))
        latencies.append((time.perf_counter() - started) * 1000)
    latencies = latencies[5:]  # the first calls warm caches
    p50 = statistics.median(latencies)
    p95 = float(np.percentile(latencies, 95))
    size = loaded.record.image_size
    batch = np.random.default_rng(0).integers(0, 255, (256, size, size, 3), dtype=np.uint8)
    started = time.perf_counter()
    loaded.predictor.predict_arrays(batch)
    throughput = len(batch) / (time.perf_counter() - started)
    results["prediction"] = {
        "backbone": loaded.record.backbone,
        "image_size": size,
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "batch_images_per_s": round(throughput),
    }
    return [
        (
            f"predict one image, decode to result ({loaded.record.backbone}, {size} px)",
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms",
            "p50 < 100 ms",
        ),
        ("batch prediction throughput", f"{throughput:.0f} images/s", ""),
    ]


def bench_import(settings: Settings) -> tuple[list[Row], dict]:
    from jobs.bench_import import measure_zip_import

    client = connect(mongo_uri_for(settings))
    name = f"{settings.mongo_db}_import"
    try:
        database = client[name]
        ensure_indexes(database)
        numbers = measure_zip_import(database, count=1000)
    finally:
        client.drop_database(name)
    row = (
        f"zip import of {numbers['images']} demo JPEGs",
        f"{numbers['images_per_s']:.0f} images/s, peak RSS +{numbers['peak_rss_growth_mb']} MB",
        "> 50 images/s",
    )
    return [row], numbers


def bench_api(settings: Settings) -> tuple[list[Row], dict]:
    from jobs.bench_api import measure_api, speed_model_settings

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


def bench_reporting(settings: Settings) -> tuple[list[Row], dict]:
    from core.db.sql import warehouse_url
    from jobs.bench_reporting import measure

    numbers = measure(mongo_uri_for(settings), warehouse_url(settings), log=print)
    slowest = max(numbers["queries"].items(), key=lambda item: item[1]["median_ms"])
    rows = [
        (
            f"warehouse refresh, {numbers['images']:,} images + {numbers['predictions']:,} "
            "predictions",
            f"{numbers['refresh_first_s']:.1f} s",
            "< 10 s",
        ),
        (
            f"dashboard queries over {numbers['days']} days (slowest: {slowest[0]})",
            f"median {slowest[1]['median_ms']:.0f} ms",
            "< 200 ms each",
        ),
    ]
    return rows, numbers


OPTIONAL_SECTIONS: dict[str, tuple[str, str]] = {
    # name: (module, function) returning (rows, numbers); skipped while the module is missing
    "import": ("jobs.bench", "bench_import"),
    "console": ("jobs.bench_console", "bench_rows"),
    "reporting": ("jobs.bench", "bench_reporting"),
    "api": ("jobs.bench", "bench_api"),
    "breeder": ("jobs.bench_breeder", "bench_rows"),
}


def optional_section(name: str) -> Callable[..., tuple[list[Row], dict]] | None:
    module_name, function = OPTIONAL_SECTIONS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    return getattr(module, function, None)


def print_table(rows: list[Row]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    header = ("benchmark", "measured", "goal")
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench", description=__doc__)
    sections = ["training", "prediction", *OPTIONAL_SECTIONS]
    parser.add_argument("--only", nargs="+", choices=sections, help="run only these sections")
    parser.add_argument("--images", type=int, default=1000, help="demo images to train on")
    args = parser.parse_args(argv)
    if args.images < 50:
        parser.error(f"--images {args.images} is too few to train on; use at least 50.")
    chosen = args.only or sections
    settings = Settings.from_env()
    settings.ensure_data_dir()
    bench_db = f"{settings.mongo_db}_bench_{int(time.time())}"
    uri = mongo_uri_for(settings)
    settings = Settings(**{**settings.__dict__, "mongo_uri": uri, "mongo_db": bench_db})
    client = connect(uri)
    database = client[bench_db]
    ensure_indexes(database)
    get_schema(settings.label_schema)
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "when": time.ctime()}
    rows: list[Row] = []
    try:
        if "training" in chosen:
            rows += bench_training(settings, database, args.images, results)
        if "prediction" in chosen:
            if ModelRepository(database).active_id() is None:
                print("prediction: no model in the bench database; run with training first.")
            else:
                rows += bench_prediction(settings, database, results)
        for name in OPTIONAL_SECTIONS:
            if name not in chosen:
                continue
            section = optional_section(name)
            if section is None:
                rows.append((f"{name}: not built yet", "-", ""))
                continue
            print(f"Running the {name} benchmarks…", flush=True)
            section_rows, numbers = section(settings)
            rows += section_rows
            results[name] = numbers
    finally:
        client.drop_database(bench_db)
    print()
    print_table(rows)
    out = settings.data_dir / "benchmarks.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nAll numbers: {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
