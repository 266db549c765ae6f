"""Measure the breeder page's speed: python -m jobs.bench.breeder [--n 20] [--browser-n 8].

Two numbers per model, each on a throwaway database (dropped afterwards):

* server side: ``identify_upload`` from the uploaded bytes to the stored prediction and the
  page's view (decode, predict, store with the photo, build the view), p50 over n photos;
* in a real browser (Debian's Chromium, headless): from the file chosen in the uploader to the
  result shown ("Is this right?" on the page), p50, against a ``streamlit run`` of the page.

Models: the default configuration offline (mobilenet_v2 falls back to small_cnn, 128 px) and a
mobilenet_v2 built with weights=None at 224 px, the default backbone's size. Inference time does
not depend on the weights' values, so the models are built, not trained (the small_cnn one with
the same augmentation layers a training run saves).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pymongo.database import Database

from core.config import Settings, free_port
from core.db.models import ModelRepository
from core.db.mongo import mongo_uri_for
from core.db.predictions import PredictionRepository
from core.demo.samples import demo_samples, encode_jpeg
from core.labels import CAT_PHENOTYPE
from core.services.breeder import identify_upload
from core.services.predictions import ActiveModelCache
from jobs._cli import run_cli
from jobs.bench import Row
from jobs.bench.scratch import scratch_database, store_untrained_model
from jobs.run import wait_until_answering

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_SIZE = (4032, 3024)  # a 12-megapixel phone photo
MODELS = (("small_cnn", 128), ("mobilenet_v2", 224))


def _summary(prefix: str, values: list[float]) -> dict[str, float]:
    return {
        f"{prefix}_p50_s": round(float(np.percentile(values, 50)), 3),
        f"{prefix}_p90_s": round(float(np.percentile(values, 90)), 3),
        f"{prefix}_max_s": round(max(values), 3),
    }


def demo_photos(count: int, *, seed: int = 21) -> list[bytes]:
    """JPEGs of demo cats and scenes as the generator draws them (about 400 px)."""
    return [
        encode_jpeg(sample.image) for sample in demo_samples(CAT_PHENOTYPE.name, count, seed=seed)
    ]


def phone_photo(seed: int = 21) -> bytes:
    """A demo cat enlarged to a 12-megapixel JPEG, the size a phone uploads."""
    sample = next(iter(demo_samples(CAT_PHENOTYPE.name, 1, seed=seed)))
    image = sample.image.resize(PHONE_SIZE, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def build_bench_model(backbone: str, image_size: int) -> bytes:
    """A model shaped like a trained one for this backbone and size, as a `.keras` file."""
    import keras
    from keras import layers

    from core.ml.backbones import Backbone, build_small_cnn
    from core.ml.model_builder import attach_heads, build_head_model, build_model, model_to_bytes

    if backbone == "small_cnn":
        model = build_model(
            CAT_PHENOTYPE, build_small_cnn(image_size), image_size=image_size, augment=True
        )
        return model_to_bytes(model)
    if backbone != "mobilenet_v2":
        raise ValueError(f"backbone must be small_cnn or mobilenet_v2, not {backbone!r}")
    network = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(image_size, image_size, 3)
    )
    preprocess = layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenet_v2_preprocess")
    frozen = Backbone("mobilenet_v2", network, True, preprocess, "random")
    heads = build_head_model(CAT_PHENOTYPE, frozen.feature_dim)
    return model_to_bytes(attach_heads(frozen, heads, image_size))


@contextlib.contextmanager
def bench_database(settings: Settings, backbone: str, image_size: int) -> Iterator[Database]:
    """A throwaway database on the configured MongoDB with a bench model active."""
    with scratch_database(settings, "bench_breeder") as database:
        store_untrained_model(
            database,
            build_bench_model(backbone, image_size),
            schema=CAT_PHENOTYPE,
            backbone=backbone,
            image_size=image_size,
            hyper_parameters={"backbone": backbone, "image_size": image_size},
        )
        yield database


def measure_server_side(
    settings: Settings, n: int = 20, *, backbone: str = "small_cnn", image_size: int = 128
) -> dict[str, Any]:
    """Upload bytes to stored prediction and view, through identify_upload, n times."""
    with bench_database(settings, backbone, image_size) as database:
        started = time.perf_counter()
        loaded = ActiveModelCache(ModelRepository(database)).get()
        load_s = time.perf_counter() - started
        predictions = PredictionRepository(database)
        photos = demo_photos(n + 1)
        identify_upload(loaded, predictions, photos[0], "warm-up.jpg", keep_photo=True)
        totals: list[float] = []
        phases: dict[str, list[float]] = {"decode": [], "predict": [], "store_and_view": []}
        for index, photo in enumerate(photos[1:]):
            marks: list[float] = []
            start = time.perf_counter()
            identify_upload(
                loaded,
                predictions,
                photo,
                f"bench-{index}.jpg",
                keep_photo=True,
                on_step=lambda _text, marks=marks: marks.append(time.perf_counter()),
            )
            end = time.perf_counter()
            totals.append(end - start)
            phases["decode"].append(marks[1] - marks[0])
            phases["predict"].append(marks[2] - marks[1])
            phases["store_and_view"].append(end - marks[2])
        big = phone_photo()
        phone = []
        for index in range(5):
            start = time.perf_counter()
            identify_upload(loaded, predictions, big, f"phone-{index}.jpg", keep_photo=True)
            phone.append(time.perf_counter() - start)
    result: dict[str, Any] = {
        "server_load_average": round(os.getloadavg()[0], 1),
        "backbone": backbone,
        "image_size": image_size,
        "photos": n,
        "model_load_s": round(load_s, 2),
        **_summary("server", totals),
    }
    for phase, values in phases.items():
        result[f"{phase}_p50_s"] = round(float(np.percentile(values, 50)), 3)
    result["phone_photo_mb"] = round(len(big) / 1024 / 1024, 1)
    result["phone_photo_p50_s"] = round(float(np.percentile(phone, 50)), 3)
    return result


def _start_page(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "breeder_app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    if wait_until_answering(url + "/_stcore/health", timeout_s=90):
        return process, url
    process.terminate()
    raise RuntimeError(f"the breeder page did not start; see {log_path}")


def measure_browser(
    settings: Settings, n: int = 8, *, backbone: str = "small_cnn", image_size: int = 128
) -> dict[str, Any]:
    """File chosen to result shown in headless Chromium against `streamlit run`, n times."""
    from playwright.sync_api import sync_playwright

    with (
        bench_database(settings, backbone, image_size) as database,
        tempfile.TemporaryDirectory(prefix="bench-breeder-") as folder,
    ):
        files = []
        for index, photo in enumerate([*demo_photos(n + 1), phone_photo()]):
            path = Path(folder) / f"photo-{index}.jpg"
            path.write_bytes(photo)
            files.append(path)
        env = {
            "MONGO_URI": mongo_uri_for(settings),
            "MONGO_DB": database.name,
            "DATA_DIR": str(Path(folder) / "data"),
            "LABEL_SCHEMA": CAT_PHENOTYPE.name,
            "SHOW_RECENT_GALLERY": "false",
        }
        process, url = _start_page(env, Path(folder) / "streamlit.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(90_000)
                times = [_one_upload(page, url, path) for path in files]
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    first, demo, phone = times[0], times[1:-1], times[-1]
    return {
        "browser_load_average": round(os.getloadavg()[0], 1),
        "backbone": backbone,
        "image_size": image_size,
        "uploads": len(demo),
        "first_upload_s": round(first, 3),
        **_summary("browser", demo),
        "browser_phone_photo_s": round(phone, 3),
    }


def _one_upload(page, url: str, path: Path) -> float:
    """Open the page in a new session, choose the file, wait for the result; the seconds."""
    page.goto(url)
    chooser = page.get_by_role("region", name="Choose a photo of your cat").locator(
        "input[type='file']"
    )  # the litter planner below has its own uploaders
    chooser.wait_for(state="attached")
    page.wait_for_timeout(300)  # let the page settle, as a person would before choosing
    started = time.perf_counter()
    chooser.set_input_files(str(path))
    page.get_by_text("Is this right?").wait_for()
    return time.perf_counter() - started


def bench_rows(
    settings: Settings, *, n: int = 20, browser_n: int = 8
) -> tuple[list[Row], dict[str, Any]]:
    """The breeder section of `python -m jobs.bench`: table rows and every number."""
    rows: list[Row] = []
    numbers: dict[str, Any] = {}
    has_browser = Path(CHROMIUM).exists()
    for backbone, size in MODELS:
        server = measure_server_side(settings, n, backbone=backbone, image_size=size)
        numbers[f"{backbone}_{size}_server"] = server
        rows.append(
            (
                f"breeder page, upload to stored result, server ({backbone}, {size} px)",
                f"p50 {server['server_p50_s'] * 1000:.0f} ms, "
                f"p90 {server['server_p90_s'] * 1000:.0f} ms",
                "",
            )
        )
        if not has_browser:
            rows.append((f"breeder page in a browser ({backbone})", f"{CHROMIUM} missing", ""))
            continue
        browser = measure_browser(settings, browser_n, backbone=backbone, image_size=size)
        numbers[f"{backbone}_{size}_browser"] = browser
        rows.append(
            (
                f"breeder page, file chosen to result shown, Chromium ({backbone}, {size} px)",
                f"p50 {browser['browser_p50_s']:.2f} s, max {browser['browser_max_s']:.2f} s",
                "p50 < 1.5 s",
            )
        )
    return rows, numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.breeder", description=__doc__)
    parser.add_argument("--n", type=int, default=20, help="photos server side (20)")
    parser.add_argument("--browser-n", type=int, default=8, help="uploads in the browser (8)")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser numbers")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    for backbone, size in MODELS:
        rows = measure_server_side(settings, args.n, backbone=backbone, image_size=size)
        if not args.no_browser:
            rows.update(
                measure_browser(settings, args.browser_n, backbone=backbone, image_size=size)
            )
        print(f"-- {backbone} at {size} px")
        for key, value in rows.items():
            print(f"{key:24s} {value}")
    return 0


if __name__ == "__main__":
    run_cli(main)
