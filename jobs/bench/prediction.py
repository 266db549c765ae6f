"""Prediction section: one image from JPEG bytes to a result, and batch throughput.

Uses the active model of the bench database (the training section leaves one).
"""

from __future__ import annotations

import time

import numpy as np

from core.config import Settings
from core.db.models import ModelRepository
from core.db.mongo import connect, mongo_uri_for
from core.demo.samples import demo_samples, encode_jpeg
from core.images import decode_image
from core.services.predictions import ActiveModelCache, identify
from jobs.bench import Row


def measure_prediction(models: ModelRepository, settings: Settings) -> tuple[list[Row], dict]:
    """Time identify() on 60 demo JPEGs (after 5 warm-ups) and a 256-image batch."""
    loaded = ActiveModelCache(models).get()
    files = [encode_jpeg(s.image) for s in demo_samples(settings.label_schema, 60, seed=5)]
    latencies = []
    for index, data in enumerate(files):
        started = time.perf_counter()
        identify(loaded, decode_image(data, f"{index}.jpg"))
        latencies.append((time.perf_counter() - started) * 1000)
    latencies = latencies[5:]  # the first calls warm caches
    p50, p95 = (float(v) for v in np.percentile(latencies, [50, 95]))
    size = loaded.record.image_size
    batch = np.random.default_rng(0).integers(0, 255, (256, size, size, 3), dtype=np.uint8)
    started = time.perf_counter()
    loaded.predictor.predict_arrays(batch)
    throughput = len(batch) / (time.perf_counter() - started)
    numbers = {
        "backbone": loaded.record.backbone,
        "image_size": size,
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "batch_images_per_s": round(throughput),
    }
    rows = [
        (
            f"predict one image, decode to result ({loaded.record.backbone}, {size} px)",
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms",
            "p50 < 100 ms",
        ),
        ("batch prediction throughput", f"{throughput:.0f} images/s", ""),
    ]
    return rows, numbers


def bench_rows(settings: Settings) -> tuple[list[Row], dict]:
    """The prediction section of `python -m jobs.bench`; no rows while no model is active."""
    client = connect(mongo_uri_for(settings))
    try:
        models = ModelRepository(client[settings.mongo_db])
        if models.active_id() is None:
            print("prediction: no model in the bench database; run with training first.")
            return [], {}
        return measure_prediction(models, settings)
    finally:
        client.close()
