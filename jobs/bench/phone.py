"""Phone-photo benchmark: python -m jobs.bench.phone [--photos 12] [--repeats 3].

Draws 12-megapixel (4000x3000) photo-like JPEGs at quality 88 (about 3.5 MB each, none shipped)
and measures identify p50 per photo, in one process with one small_cnn model at 128 px, for:
a full decode + resize + the model (what callers did before `decode_photo`), the draft-decode
limit (JPEG DCT scaling to about twice the model size, nothing else), and ours
(`decode_photo(...).model_array` + the model). Prints each path's ratio to the limit.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from core.config import Settings
from core.images import decode_photo, to_model_array
from jobs.bench import Row

PHONE_SIZE = (4000, 3000)
QUALITY = 88
MODEL_SIZE = 128
GOAL_RATIO = 1.3  # ours against the draft-decode limit
GOAL_P50_MS = 80.0  # ours, on 2 cores
Path = Callable[[bytes], np.ndarray]  # JPEG bytes -> the model's input, 128 x 128 x 3 uint8


def draw_phone_photo(seed: int, size: tuple[int, int] = PHONE_SIZE) -> bytes:
    """A photo-like JPEG: smooth colour regions and a soft subject, with sensor-like grain."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    pixels = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.normal(0.0, 8.0, (size[1], size[0], 1)).astype(np.int16)  # ~3.5 MB at q88
    image = Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=QUALITY)
    return buffer.getvalue()


def full_decode(data: bytes) -> np.ndarray:
    """Every pixel decoded, turned upright, then fitted: what a plain Pillow pipeline does."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened.convert("RGB"))
    return to_model_array(image, MODEL_SIZE)


def draft_limit(data: bytes) -> np.ndarray:
    """The least work: DCT-scaled decode to about twice the model size, then fitted."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.draft("RGB", (2 * MODEL_SIZE, 2 * MODEL_SIZE))
        image = opened.convert("RGB")
    return to_model_array(image, MODEL_SIZE)


def ours(data: bytes) -> np.ndarray:
    """The one decode entry point every caller uses (checks, upright, thumbnail-ready)."""
    array = decode_photo(data, "phone.jpg", model_size=MODEL_SIZE).model_array
    assert array is not None  # model_size was given
    return array


PATHS: dict[str, Path] = {
    "full decode + resize + model": full_decode,
    "draft-decode limit + model": draft_limit,
    "ours: decode_photo + model": ours,
}
LIMIT = "draft-decode limit + model"
OURS = "ours: decode_photo + model"


def build_predict() -> Callable[[np.ndarray], Any]:
    """A traced small_cnn at 128 px with the cat heads (random weights: timing only)."""
    from core.labels import CAT_PHENOTYPE
    from core.ml.backbones import build_small_cnn
    from core.ml.model_builder import build_model
    from core.ml.prediction import Predictor

    model = build_model(CAT_PHENOTYPE, build_small_cnn(MODEL_SIZE), image_size=MODEL_SIZE)
    predictor = Predictor(model, CAT_PHENOTYPE, image_size=MODEL_SIZE, thresholds={})
    return lambda array: predictor.predict_arrays(array[np.newaxis])


def phone_rows(photos: int = 12, repeats: int = 3) -> list[dict[str, Any]]:
    """Identify latency per path on 12 MP JPEGs: p50, p95 and the p50's ratio to the limit."""
    files = [draw_phone_photo(seed) for seed in range(photos)]
    predict = build_predict()
    for path in PATHS.values():  # warm up Pillow, numpy and the traced model
        predict(path(files[0]))
    latencies: dict[str, list[float]] = {name: [] for name in PATHS}
    for _ in range(repeats):
        for data in files:
            for name, path in PATHS.items():  # interleaved, so a busy moment hits every path
                started = time.perf_counter()
                predict(path(data))
                latencies[name].append((time.perf_counter() - started) * 1000)
    limit_p50 = statistics.median(latencies[LIMIT])
    megabytes = statistics.mean(len(data) for data in files) / 1_000_000
    rows = []
    for name, values in latencies.items():
        p50 = statistics.median(values)
        rows.append(
            {
                "path": name,
                "photo": f"{PHONE_SIZE[0]}x{PHONE_SIZE[1]} JPEG q{QUALITY}, {megabytes:.1f} MB",
                "p50_ms": round(p50, 1),
                "p95_ms": round(float(np.percentile(values, 95)), 1),
                "ratio_to_limit": round(p50 / limit_p50, 2),
                "samples": len(values),
            }
        )
    return rows


def bench_rows(settings: Settings | None = None) -> tuple[list[Row], dict[str, Any]]:
    """The rows for `jobs.bench`'s table and the numbers to store (no database needed)."""
    rows = phone_rows()
    table = [
        (
            f"identify a 12 MP JPEG, {row['path']}",
            f"p50 {row['p50_ms']:.0f} ms, {row['ratio_to_limit']:.2f}x the limit",
            f"< {GOAL_RATIO}x the limit, < {GOAL_P50_MS:.0f} ms" if row["path"] == OURS else "",
        )
        for row in rows
    ]
    return table, {"phone_identify": rows}


def main(argv: list[str] | None = None) -> int:
    """Print the phone-photo rows and whether ours meets its goals."""
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.phone", description=__doc__)
    parser.add_argument("--photos", type=int, default=12, help="12 MP JPEGs to draw")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the photos")
    args = parser.parse_args(argv)
    if args.photos < 1 or args.repeats < 1:
        parser.error("--photos and --repeats must be at least 1.")
    rows = phone_rows(args.photos, args.repeats)
    print(f"{rows[0]['photo']}, small_cnn at {MODEL_SIZE} px, {os.cpu_count()} cores")
    width = max(len(row["path"]) for row in rows)
    print(f"{'path'.ljust(width)}  {'p50':>8}  {'p95':>8}  ratio to limit")
    for row in rows:
        print(
            f"{row['path'].ljust(width)}  {row['p50_ms']:6.1f}ms  {row['p95_ms']:6.1f}ms"
            f"  {row['ratio_to_limit']:.2f}x"
        )
    mine = next(row for row in rows if row["path"] == OURS)
    is_met = mine["ratio_to_limit"] <= GOAL_RATIO and mine["p50_ms"] < GOAL_P50_MS
    print(
        f"goal: ours within {GOAL_RATIO}x of the limit and under {GOAL_P50_MS:.0f} ms p50: "
        + ("met" if is_met else "missed")
    )
    return 0


if __name__ == "__main__":
    from jobs._cli import run_cli

    run_cli(main)
