"""Training section: demo images drawn and stored, then small_cnn and frozen mobilenet_v2 runs.

Each run is `python -m jobs.train` in a child process (its wall time and peak memory are the
numbers); the small_cnn model is left active for the prediction section.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo.database import Database

from core.config import Settings
from core.db.models import ModelRepository
from core.db.mongo import connect, mongo_uri_for
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.ml.calibration import calibration_errors
from core.services.demo import add_demo_images
from core.services.training import start_training_run
from jobs.bench import Row
from jobs.bench.child import run_measured

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_IMAGES = 1000


def run_job_measured(settings: Settings, run_id: str, env_extra: dict[str, str]) -> dict[str, Any]:
    """Run the training job in a child process; return its wall time and peak RSS."""
    env = {
        **os.environ,
        "MONGO_URI": settings.mongo_uri or "",
        "MONGO_DB": settings.mongo_db,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **env_extra,
    }
    usage = run_measured(  # its own peak RSS, not this process's
        [sys.executable, "-m", "jobs.train", "--run-id", run_id],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return {
        "seconds": round(usage.seconds, 1),
        "cpu_s": round(usage.cpu_s, 1),  # user + system: other work on the machine distorts wall
        "peak_rss_mb": round(usage.peak_rss_mb),
        "exit_code": usage.exit_code,
    }


def train_once(
    settings: Settings, database: Database, params: dict, env_extra: dict[str, str]
) -> dict:
    """Queue one training run with these parameters, run its job and return what it measured."""
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
        measured["calibration_ece"] = {
            trait: [round(before, 3), round(after, 3)]
            for trait, (before, after) in calibration_errors(record.calibration).items()
        }
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


def measure_training(database: Database, settings: Settings, images: int) -> tuple[list[Row], dict]:
    """Store `images` demo images, then time the small_cnn and mobilenet_v2 training runs."""
    results: dict[str, Any] = {}
    schema = settings.schema
    repository = TrainingImageRepository(database)
    started = time.perf_counter()
    add_demo_images(repository, schema, count=images, seed=11)
    results["demo_import_images_per_s"] = round(images / (time.perf_counter() - started), 1)
    rows: list[Row] = [
        ("demo images drawn and stored", f"{results['demo_import_images_per_s']} images/s", "")
    ]

    with tempfile.TemporaryDirectory() as data_dir:  # an empty pixel cache: cold, then warm
        env = {"DATA_DIR": data_dir}
        small = train_once(settings, database, {"backbone": "small_cnn"}, env)
        small_warm = train_once(settings, database, {"backbone": "small_cnn"}, env)
    results["train_small_cnn"], results["train_small_cnn_warm"] = small, small_warm
    rows.append(
        (
            f"train small_cnn (default), {images} images, cold ({small['epochs']} epochs, "
            f"{small['status']})",
            f"{small['seconds']:.0f} s (CPU {small['cpu_s']:.0f} s), {small['peak_rss_mb']} MB",
            "< 150 s, < 2 GB",
        )
    )
    rows.append(
        (
            "  same, warm pixel cache (retrain)",
            f"{small_warm['seconds']:.0f} s (CPU {small_warm['cpu_s']:.0f} s), "
            f"{small_warm['peak_rss_mb']} MB",
            "< 150 s, < 2 GB",
        )
    )
    for trait, accuracy in small.get("val_accuracy", {}).items():
        rows.append((f"  validation accuracy {trait}", f"{accuracy:.1%}", ">= 93%"))
    for trait, (before, after) in small.get("calibration_ece", {}).items():
        rows.append(
            (f"  calibration error {trait} before -> after", f"{before} -> {after}", "lower")
        )

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
    return rows, results


def bench_rows(settings: Settings, *, images: int = DEFAULT_IMAGES) -> tuple[list[Row], dict]:
    """The training section of `python -m jobs.bench`, in the settings' (bench) database."""
    client = connect(mongo_uri_for(settings))
    try:
        return measure_training(client[settings.mongo_db], settings, images)
    finally:
        client.close()
