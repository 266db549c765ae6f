"""Measure zip import throughput: python -m jobs.bench.zip_import [--count 1000].

Builds a zip of demo JPEGs in label folders and imports it into a throwaway database (dropped
afterwards), reporting images per second and the peak memory of the import.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import ImageOps
from pymongo.database import Database

from core.config import Settings
from core.db.training_images import TrainingImageRepository
from core.demo.samples import demo_samples, encode_jpeg
from core.labels import CAT_PHENOTYPE, folder_name_for
from core.services.archive_import import import_zip
from jobs._cli import run_cli
from jobs.bench import Row
from jobs.bench.scratch import scratch_database

DISTINCT_DRAWINGS = 100  # drawing is slow (~70 ms); more images are cropped/mirrored variants


def _rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


class _PeakRss:
    """Sample resident memory every few milliseconds in a thread; keep the peak."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.peak = _rss_mb()
        self._interval, self._stop = interval_s, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, _rss_mb())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def demo_jpegs(count: int, *, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """(member name in a label folder, JPEG bytes) for count distinct demo-like images."""
    drawings = [
        (sample.image, sample.truth)
        for sample in demo_samples(CAT_PHENOTYPE.name, min(count, DISTINCT_DRAWINGS), seed=seed)
    ]
    for index in range(count):
        image, truth = drawings[index % len(drawings)]
        variant = index // len(drawings)
        if variant:  # a different crop (and mirror) of the same drawing: new bytes
            image = image.crop((variant, variant % 7, image.width - variant, image.height))
            if variant % 2:
                image = ImageOps.mirror(image)
        data = encode_jpeg(image)
        yield f"{folder_name_for(CAT_PHENOTYPE, truth)}/bench-{index:05d}.jpg", data


def write_demo_zip(path: Path, count: int, *, seed: int = 0) -> int:
    """Write a zip of count demo JPEGs in label folders; return its size in bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in demo_jpegs(count, seed=seed):
            archive.writestr(name, data)
    return path.stat().st_size


def measure_zip_import(database: Database, count: int = 1000) -> dict[str, Any]:
    """Import a zip of count demo JPEGs into the (empty) database; return the measurements."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.zip"
        started = time.perf_counter()
        zip_bytes = write_demo_zip(path, count)
        build_s = time.perf_counter() - started
        repository = TrainingImageRepository(database)
        rss_before = _rss_mb()
        with _PeakRss() as memory:
            started = time.perf_counter()
            report = import_zip(repository, path, schema=CAT_PHENOTYPE, by="bench")
            seconds = time.perf_counter() - started
    return {
        "images": count,
        "added": report.added,
        "duplicates": report.duplicates,
        "near_duplicates": report.near_duplicates,
        "rejected": len(report.rejected),
        "seconds": round(seconds, 2),
        "images_per_s": round(count / seconds, 1),
        "zip_mb": round(zip_bytes / 1024 / 1024, 1),
        "build_zip_s": round(build_s, 1),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(memory.peak, 1),
        "peak_rss_growth_mb": round(memory.peak - rss_before, 1),
    }


def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    """The import section of `python -m jobs.bench`: a 1,000-image zip in a scratch database."""
    with scratch_database(settings, "bench_import") as database:
        numbers = measure_zip_import(database, count=1000)
    row = (
        f"zip import of {numbers['images']} demo JPEGs",
        f"{numbers['images_per_s']:.0f} images/s, peak RSS +{numbers['peak_rss_growth_mb']} MB",
        "> 50 images/s",
    )
    return [row], numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.zip_import", description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="images in the zip (1000)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    with scratch_database(settings, "bench_import") as database:
        numbers = measure_zip_import(database, args.count)
    for key, value in numbers.items():
        print(f"{key:20s} {value}")
    return 0


if __name__ == "__main__":
    run_cli(main)
