"""Console speed: python -m jobs.bench.console [--images 20000] prints the timings as JSON.

`measure_console()` fills a scratch database with `images` training images (a few hundred real
demo images, cloned as documents that share their GridFS files), then times what the Training
images page does: counting per filter value, one page of 48 thumbnails, select-all, and a bulk
label of 5,000 images (ours, and TrainingImageRepository.apply_label for comparison).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from bson import ObjectId
from pymongo.database import Database

from core.config import Settings
from core.db.training_images import COLLECTION, TrainingImageRepository
from core.labels import LabelSchema, get_schema
from core.services.demo import add_demo_images
from core.services.filters import build_filter
from core.services.image_browser import ImageBrowser
from jobs._cli import run_cli
from jobs.bench import Row
from jobs.bench.scratch import scratch_database

SEED_IMAGES = 200


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return round(time.perf_counter() - start, 3), result


def fill(database: Database, schema: LabelSchema, images: int, *, seed: int = 0) -> None:
    """`images` training images: real demo images, then clones of their documents."""
    repository = TrainingImageRepository(database)
    real = min(images, SEED_IMAGES)
    add_demo_images(repository, schema, count=real * 4 // 5, unlabelled=real - real * 4 // 5)
    originals = list(database[COLLECTION].find({}, {"_id": 0}))
    rng = np.random.default_rng(seed)
    clones = []
    for number in range(images - real):
        doc = dict(originals[number % len(originals)])
        doc["_id"] = ObjectId()
        doc["sha256"] = f"clone-{number:08d}-{doc['sha256'][:40]}"
        doc["created_at"] = doc["created_at"] - timedelta(minutes=int(rng.integers(1, 500_000)))
        doc["near_duplicate_of"] = None
        clones.append(doc)
        if len(clones) == 5000:
            database[COLLECTION].insert_many(clones, ordered=False)
            clones = []
    if clones:
        database[COLLECTION].insert_many(clones, ordered=False)


def measure_console(
    database: Database,
    schema: LabelSchema,
    *,
    images: int = 20_000,
    page_size: int = 48,
    label_count: int = 5_000,
) -> dict[str, float]:
    """Fill `database` (a scratch one) and time the Training images page's work, in seconds."""
    filled_s, _ = _timed(lambda: fill(database, schema, images))
    browser = ImageBrowser(database, schema, totals_from_server=True)  # as the console builds it
    repository = browser.repository
    everything = build_filter(schema)
    if "colour" in schema.trait_names:
        narrow = build_filter(schema, status="labelled", traits={"colour": "blue"})
    else:
        narrow = build_filter(schema, status="labelled")

    def grid_page(image_filter) -> int:
        counts = browser.counts(image_filter)
        page = browser.page(image_filter, page=2, page_size=page_size, matching=counts.matching)
        for image in page.images:
            repository.thumbnail_bytes(image)
        return len(page.images)

    counts_cold_s, _ = _timed(lambda: browser.counts(everything))
    counts_warm_s, _ = _timed(lambda: browser.counts(everything))
    browser.invalidate()
    grid_cold_s, shown = _timed(lambda: grid_page(everything))
    grid_warm_s, _ = _timed(lambda: grid_page(everything))
    browser.read_ahead()  # as the page does once it is shown; a person's next click comes later
    browser.cache.wait()
    grid_filtered_s, _ = _timed(lambda: grid_page(narrow))
    facts_s, _ = _timed(repository.facts)  # what the first render read before 2026-12-03
    server_count_s, _ = _timed(lambda: repository.count(everything))
    page_query_s, _ = _timed(lambda: repository.find(everything, skip=page_size, limit=page_size))
    select_all_s, all_ids = _timed(lambda: browser.matching_ids(everything))

    first, second = all_ids[:label_count], all_ids[label_count : 2 * label_count]
    # a partial label every image takes: the gate ("is a cat") or the one open trait (breed)
    update = {schema.gate.name: True} if schema.gate else {schema.traits[0].name: "demo"}
    bulk_label_s, outcome = _timed(lambda: browser.apply_label(first, update, by="bench"))
    grid_after_label_s, _ = _timed(lambda: grid_page(everything))  # patched, not re-read
    repository_label_s, _ = _timed(lambda: repository.apply_label(second, update, schema, by="b"))
    return {
        "images": float(images),
        "fill_s": filled_s,
        "counts_cold_s": counts_cold_s,
        "counts_warm_s": counts_warm_s,
        "server_count_all_s": server_count_s,
        "facts_read_all_s": facts_s,
        "page_query_48_s": page_query_s,
        "grid_page_48_cold_s": grid_cold_s,
        "grid_page_48_warm_s": grid_warm_s,
        "grid_page_48_filtered_s": grid_filtered_s,
        "thumbnails_shown": float(shown),
        "select_all_ids_s": select_all_s,
        "bulk_label_5000_s": bulk_label_s,
        "bulk_label_changed": float(outcome.changed),
        "grid_page_48_after_bulk_label_s": grid_after_label_s,
        "full_reads": float(browser.cache.scans),
        "repository_apply_label_5000_s": repository_label_s,
    }


def measure_in_scratch_database(settings: Settings, *, images: int = 20_000) -> dict[str, float]:
    """measure_console() in a throwaway database on the configured MongoDB (dropped after)."""
    with scratch_database(settings, "bench_console") as database:
        return measure_console(database, get_schema(settings.label_schema), images=images)


def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, float]]:
    """The console section of `python -m jobs.bench`: table rows and every number."""
    numbers = measure_in_scratch_database(settings)
    count = f"{int(numbers['images']):,} images"
    rows = [
        (
            f"Training images grid, 48 thumbnails with counts ({count}, cached counts)",
            f"{numbers['grid_page_48_warm_s']:.2f} s",
            "< 1 s",
        ),
        (
            f"Training images grid, first render after start ({count}, counts tallied)",
            f"{numbers['grid_page_48_cold_s']:.2f} s",
            "",
        ),
        (
            f"bulk label 5,000 images ({count})",
            f"{numbers['bulk_label_5000_s']:.2f} s",
            "< 5 s",
        ),
        ("select all matching (ids)", f"{numbers['select_all_ids_s']:.2f} s", ""),
    ]
    return rows, numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.console", description=__doc__)
    parser.add_argument("--images", type=int, default=20_000)
    args = parser.parse_args(argv)
    timings = measure_in_scratch_database(Settings.from_env(), images=args.images)
    print(json.dumps(timings, indent=2))
    return 0


if __name__ == "__main__":
    run_cli(main)
