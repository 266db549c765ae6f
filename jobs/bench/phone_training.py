"""Training from stored 12 MP photos: python -m jobs.bench.phone_training [--photos 1000].

Draws labelled demo images (seed 11), enlarges each into a 4000x3000 photo-like JPEG (the
drawing at 3000 px on a matching background, sensor-like grain, quality 88; none shipped),
stores them through the upload path in a scratch database, then runs the default training job
twice in child processes with one empty pixel cache: cold (every photo decoded) and warm
(nothing decoded again). With the trained model, 300 held-out demo images drawn at 2000 px are
predicted twice: from the reduced decode every caller uses and from a full decode. The share
whose top answers agree is the accuracy cost of decoding less (goal: at least 99%).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import islice
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from core.config import Settings
from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.demo.cats import draw_cat
from core.demo.samples import DemoSample, demo_samples, encode_jpeg
from core.image_fit import to_model_array
from core.images import decode_photo
from core.labels import CAT_PHENOTYPE
from core.services.imports import NearDuplicateIndex, import_image
from core.services.predictions import ActiveModelCache
from jobs.bench import Row
from jobs.bench.held_out import predicted_value
from jobs.bench.scratch import bench_settings, scratch_database
from jobs.bench.training import train_once

DEFAULT_PHOTOS = 1000
PHONE_SIZE = (4000, 3000)
QUALITY = 88
AGREEMENT_IMAGES = 300
AGREEMENT_SIDE = 2000
AGREEMENT_SEED = 29  # the held-out seed: images the model never saw
GOAL_AGREEMENT = 0.99
WINDOW = 8  # photos drawn ahead of the one being stored (memory stays bounded)


def grain_field(seed: int = 0) -> np.ndarray:
    """One sensor-like noise field, shared by every photo (drawing it costs more than the rest)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 6.0, (PHONE_SIZE[1], PHONE_SIZE[0], 1)).astype(np.int16)


def as_phone_photo(drawing: Image.Image, grain: np.ndarray) -> bytes:
    """The drawing enlarged to a 4000x3000 JPEG: centred at full height on its corner colour."""
    width, height = PHONE_SIZE
    canvas = Image.new("RGB", PHONE_SIZE, drawing.convert("RGB").getpixel((0, 0)))
    enlarged = drawing.convert("RGB").resize((height, height), Image.Resampling.BICUBIC)
    canvas.paste(enlarged, ((width - height) // 2, 0))
    pixels = np.asarray(canvas, dtype=np.int16) + grain
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=QUALITY)
    return buffer.getvalue()


def phone_photos(count: int, seed: int) -> Iterator[tuple[DemoSample, bytes]]:
    """Labelled demo samples with their 12 MP JPEGs, drawn a few at a time on every core."""
    grain = grain_field()
    samples = demo_samples(CAT_PHENOTYPE.name, count, seed=seed)
    with ThreadPoolExecutor() as pool:  # Pillow and numpy release the GIL while they work
        while batch := list(islice(samples, WINDOW)):
            photos = pool.map(lambda sample: as_phone_photo(sample.image, grain), batch)
            yield from zip(batch, photos, strict=True)


def store_phone_photos(repository: TrainingImageRepository, count: int) -> dict[str, float]:
    """Store count labelled 12 MP photos through the upload path; seconds and mean size."""
    near_duplicates = NearDuplicateIndex.load(repository)
    started, total_bytes = time.perf_counter(), 0
    for sample, data in phone_photos(count, seed=11):
        total_bytes += len(data)
        import_image(
            repository,
            data,
            sample.filename.replace(".jpg", "-12mp.jpg"),
            source="bench",
            schema=CAT_PHENOTYPE,
            label=sample.label,
            labelled_by="bench",
            near_duplicates=near_duplicates,
        )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "mean_mb": round(total_bytes / count / 1_000_000, 2),
    }


def full_decode(data: bytes, size: int, mode: str) -> np.ndarray:
    """Every pixel decoded, turned upright, then fitted: the reference for the agreement."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened.convert("RGB"))
    return to_model_array(image, size, mode)


def top_answers_agreement(database: Any, model_id: str, count: int) -> dict[str, Any]:
    """Share of `count` held-out 2000 px demo JPEGs whose every top answer is the same both ways."""
    models = ModelRepository(database)
    models.activate(model_id)
    loaded = ActiveModelCache(models).get()
    predictor, record = loaded.predictor, loaded.record
    size, mode = record.image_size, record.resize_mode
    agree = 0
    for index, sample in enumerate(demo_samples(CAT_PHENOTYPE.name, count, seed=AGREEMENT_SEED)):
        rng = np.random.default_rng([AGREEMENT_SEED, index])  # the same cat, drawn larger
        large = (
            draw_cat(sample.truth, rng, size=(AGREEMENT_SIDE, AGREEMENT_SIDE))
            if sample.truth["is_cat"]
            else sample.image.resize((AGREEMENT_SIDE, AGREEMENT_SIDE), Image.Resampling.BICUBIC)
        )
        data = encode_jpeg(large)
        reduced = decode_photo(data, sample.filename, model_size=size, resize_mode=mode)
        both = predictor.predict_arrays(
            np.stack([reduced.model_array, full_decode(data, size, mode)])
        )
        answers = [
            tuple(predicted_value(result, trait) for trait in CAT_PHENOTYPE.trait_names)
            for result in both
        ]
        agree += answers[0] == answers[1]
    return {"images": count, "side_px": AGREEMENT_SIDE, "agreement": round(agree / count, 4)}


def measure_phone_training(settings: Settings, photos: int = DEFAULT_PHOTOS) -> dict[str, Any]:
    """Store the photos, train cold and warm, and check the reduced decode's agreement."""
    with (
        scratch_database(settings, "bench_phone_training") as database,
        tempfile.TemporaryDirectory() as data_dir,  # an empty pixel cache of its own
    ):
        stored = store_phone_photos(TrainingImageRepository(database), photos)
        run_settings = replace(settings, mongo_db=database.name)
        env = {"DATA_DIR": data_dir}
        cold = train_once(run_settings, database, {"backbone": "small_cnn"}, env)
        warm = train_once(run_settings, database, {"backbone": "small_cnn"}, env)
        agreement = (
            top_answers_agreement(database, cold["model_id"], AGREEMENT_IMAGES)
            if cold.get("model_id")
            else {"error": cold.get("error")}
        )
    return {"photos": photos, "store": stored, "cold": cold, "warm": warm, "agreement": agreement}


def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    """The rows for `jobs.bench`'s table: training from stored 12 MP photos, and the agreement."""
    numbers = measure_phone_training(settings)
    cold, warm, agreement = numbers["cold"], numbers["warm"], numbers["agreement"]
    count = numbers["photos"]
    rows: list[Row] = [
        (
            f"store {count} labelled 12 MP JPEGs ({numbers['store']['mean_mb']} MB each)",
            f"{count / numbers['store']['seconds']:.1f} photos/s",
            "",
        ),
        (
            f"train small_cnn from {count} stored 12 MP photos, cold ({cold['status']})",
            f"{cold['seconds']:.0f} s, {cold['peak_rss_mb']} MB",
            "< 2 GB",
        ),
        (
            "  same, warm pixel cache (decodes nothing again)",
            f"{warm['seconds']:.0f} s, {warm['peak_rss_mb']} MB",
            "no decode: about the demo-image time",
        ),
    ]
    if "agreement" in agreement:
        rows.append(
            (
                f"  top answers, reduced vs full decode, {agreement['images']} images at "
                f"{AGREEMENT_SIDE} px",
                f"{agreement['agreement']:.1%} agree",
                f">= {GOAL_AGREEMENT:.0%}",
            )
        )
    return rows, {"phone_training": numbers}


def main(argv: list[str] | None = None) -> int:
    """Print the training-from-phone-photos numbers."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.bench.phone_training", description=__doc__
    )
    parser.add_argument("--photos", type=int, default=DEFAULT_PHOTOS, help="12 MP photos to store")
    args = parser.parse_args(argv)
    if args.photos < 50:
        parser.error(f"--photos {args.photos} is too few to train on; use at least 50.")
    numbers = measure_phone_training(bench_settings(), args.photos)
    for key, value in numbers.items():
        print(f"{key:10s} {value}")
    return 0


if __name__ == "__main__":
    from jobs._cli import run_cli

    run_cli(main)
