"""Training runs: queue one, launch the detached job, and the job's own work from claim to model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pymongo.database import Database

from core.clock import utcnow
from core.config import Settings
from core.db.features import FeatureRepository
from core.db.models import ModelRecord, ModelRepository
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.errors import UserError
from core.images import decode_photo
from core.labels import LabelSchema
from core.ml.pixel_cache import PixelCache

Launcher = Callable[[list[str]], None]
HEARTBEAT_INTERVAL_S = 10.0


def start_training_run(
    runs: TrainingRunRepository,
    launch: Launcher,
    parameters: Mapping[str, Any],
    *,
    requested_by: str,
    activate: bool = False,
) -> str:
    """Check the parameters, queue a run, start its detached job and return the run id."""
    from core.ml.hyperparameters import HyperParameters  # keeps Keras out of light imports

    params = HyperParameters.from_mapping(parameters).validate()
    runs.fail_stale()
    run_id = runs.create({**params.to_dict(), "activate": activate}, requested_by=requested_by)
    try:
        launch(["-m", "jobs.train", "--run-id", run_id])
    except OSError as err:
        runs.finish(run_id, "failed", error=f"The training job could not start: {err}.")
        raise UserError(f"The training job could not start ({err}); see the server log.") from err
    return run_id


def detached_launcher(settings: Settings, mongo_uri: str) -> Launcher:
    """Run `python <args>` in its own session, so that it outlives the page or command."""

    def launch(args: list[str]) -> None:
        log_dir = settings.job_log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MONGO_URI": mongo_uri, "MONGO_DB": settings.mongo_db}
        with (log_dir / f"job-{args[-1]}.log").open("a") as log:
            subprocess.Popen(
                [sys.executable, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
                cwd=Path(__file__).resolve().parents[2],
            )

    return launch


class StoredImages:
    """Training images from GridFS, decoded once into a memory-mapped array on disk.

    Keras reads batches by index; only the mapped file (not every image) needs to fit in
    memory, and each image is decoded once per run instead of once per epoch. With a pixel
    cache, an image decoded by an earlier run (same sha256, size and resize mode) is not
    decoded again.
    """

    def __init__(
        self,
        repository: TrainingImageRepository,
        ids: Sequence[str],
        *,
        image_size: int,
        resize_mode: str,
        folder: Path,
        log: Callable[[str], None],
        should_cancel: Callable[[], bool],
        cache: PixelCache | None = None,
    ) -> None:
        self.ids = list(ids)
        self.decoded = 0
        shape = (len(self.ids), image_size, image_size, 3)
        self._pixels = np.lib.format.open_memmap(
            folder / "pixels.npy", mode="w+", dtype=np.uint8, shape=shape
        )
        files = repository.image_file_ids(self.ids)
        digests = (
            {image.id: image.sha256 for image in repository.find(ImageFilter(), limit=0)}
            if cache is not None
            else {}
        )
        step = max(1, len(self.ids) // 10)
        for index, image_id in enumerate(self.ids):
            if index % 50 == 0 and should_cancel():
                from core.ml.data import TrainingCancelled

                raise TrainingCancelled("Training was cancelled while preparing the images.")
            digest = digests.get(image_id)
            pixels = None if digest is None else cache.get(digest, image_size, resize_mode)
            if pixels is None:
                data = repository.read_file(files[image_id])
                photo = decode_photo(data, image_id, model_size=image_size, resize_mode=resize_mode)
                pixels = photo.model_array  # the same reduced decode as serving: no skew
                self.decoded += 1
                if digest is not None:
                    cache.put(digest, image_size, resize_mode, pixels)
            self._pixels[index] = pixels
            if (index + 1) % step == 0 or index + 1 == len(self.ids):
                log(
                    f"Prepared {index + 1} of {len(self.ids)} images "
                    f"({self.decoded} decoded, {index + 1 - self.decoded} from the cache)."
                )
        self._pixels.flush()

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, indices: Sequence[int]) -> np.ndarray:
        return np.asarray(self._pixels[np.asarray(indices, dtype=np.int64)])


def is_better_or_equal(
    new_metrics: Mapping[str, Mapping[str, Any]], active: ModelRecord | None
) -> bool:
    """Whether a new model is not worse than the active one on any trait's validation accuracy."""
    if active is None:
        return True
    for trait, metrics in active.metrics.items():
        old = metrics.get("val_accuracy")
        new = (new_metrics.get(trait) or {}).get("val_accuracy")
        if old is not None and (new is None or new < old):
            return False
    return True


class _Heartbeat:
    """Writes the run's heartbeat every few seconds from a thread while the job lives."""

    def __init__(self, runs: TrainingRunRepository, run_id: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(runs, run_id), daemon=True)

    def _beat(self, runs: TrainingRunRepository, run_id: str) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL_S):
            runs.heartbeat(run_id)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def record_epoch(
    runs: TrainingRunRepository,
    run_id: str,
    epoch: int,
    epochs: int,
    metrics: Mapping[str, float],
    log: Callable[[str], None],
) -> None:
    """Store an epoch's metrics and write one log line about it."""
    runs.record_epoch(run_id, epoch, epochs, metrics)
    accuracies = [
        f"{name.removeprefix('val_').removesuffix('_accuracy')} {value:.0%}"
        for name, value in metrics.items()
        if name.startswith("val_") and name.endswith("_accuracy")
    ]
    line = f"Epoch {epoch}/{epochs}: loss {metrics.get('loss', float('nan')):.3f}"
    if "val_loss" in metrics:
        line += f", validation loss {metrics['val_loss']:.3f}"
    if accuracies:
        line += f"; validation accuracy {', '.join(accuracies)}"
    log(line + ".")


def run_training_job(
    database: Database, run_id: str, *, schema: LabelSchema, settings: Settings
) -> str:
    """Do one queued run in this process; return its final status (never raises for the run)."""
    runs = TrainingRunRepository(database)
    if not runs.claim(run_id, pid=os.getpid(), host=socket.gethostname()):
        raise UserError(f"Run {run_id} is not queued (it is {runs.get(run_id).status}).")

    def log(message: str, level: str = "info") -> None:
        runs.log(run_id, level, message)

    last_check = [0.0, False]

    def should_cancel() -> bool:
        now = time.monotonic()
        if now - last_check[0] > 1.0:  # at most one query a second, however short the batches
            last_check[0], last_check[1] = now, runs.is_cancel_requested(run_id)
        return bool(last_check[1])

    from core.ml.data import TrainingCancelled

    with _Heartbeat(runs, run_id):
        try:
            status, model_id, activated = _train_and_store(
                database, runs, run_id, schema, settings, log, should_cancel
            )
        except TrainingCancelled as err:
            log(str(err), "warning")
            runs.finish(run_id, "cancelled", error=str(err))
            return "cancelled"
        except UserError as err:
            log(str(err), "error")
            runs.finish(run_id, "failed", error=str(err))
            return "failed"
        except Exception as err:  # the run must end as failed whatever went wrong
            message = f"Training failed: {type(err).__name__}: {err}"
            log(message, "error")
            log(traceback.format_exc(limit=8), "error")
            runs.finish(run_id, "failed", error=message)
            return "failed"
    runs.finish(run_id, status, model_id=model_id, is_model_activated=activated)
    return status


def _train_and_store(
    database: Database,
    runs: TrainingRunRepository,
    run_id: str,
    schema: LabelSchema,
    settings: Settings,
    log: Callable[..., None],
    should_cancel: Callable[[], bool],
) -> tuple[str, str, bool]:
    from core.ml.hyperparameters import HyperParameters
    from core.ml.model_builder import model_to_bytes
    from core.ml.training import TrainingCallbacks, check_training_set, train

    run = runs.get(run_id)
    stored = dict(run.parameters)
    force_activate = bool(stored.pop("activate", False))
    params = HyperParameters.from_mapping(stored).validate()
    images = TrainingImageRepository(database)
    examples = images.labelled()
    log(f"Training set: {len(examples)} labelled images.")
    labels = [label for _, label in examples]
    check_training_set(schema, labels)  # refuse a too small or single-valued set before work
    started = utcnow()
    with tempfile.TemporaryDirectory(prefix="cat-identifier-") as folder:
        source = StoredImages(
            images,
            [image_id for image_id, _ in examples],
            image_size=params.image_size,
            resize_mode=params.resize_mode,
            folder=Path(folder),
            log=log,
            should_cancel=should_cancel,
            cache=PixelCache(settings.data_dir / "cache" / "pixels"),
        )
        result = train(
            schema,
            source,
            labels,
            params,
            TrainingCallbacks(
                on_log=log,
                on_epoch_end=lambda epoch, epochs, metrics: record_epoch(
                    runs, run_id, epoch, epochs, metrics, log
                ),
                should_cancel=should_cancel,
            ),
            features=FeatureRepository(database),
            weights_path=settings.backbone_weights,
            fallback=settings.backbone_fallback,
        )
    runs.record_backbone(run_id, result.backbone_name)
    models = ModelRepository(database)
    trained_schema = result.schema or schema
    model_id = models.add(
        model_to_bytes(result.model),
        schema=trained_schema,
        backbone=result.backbone_name,
        image_size=params.image_size,
        resize_mode=params.resize_mode,
        # what this model was trained with: no fine-tuned layers if the backbone fell back
        hyper_parameters={**params.to_dict(), "fine_tune_layers": len(result.fine_tuned_layers)},
        metrics=result.metrics,
        confusion=result.confusion,
        thresholds=result.thresholds,
        validation_image_ids=[source.ids[i] for i in result.validation_indices],
        training_set_size=len(examples),
        training_started=started,
        training_ended=utcnow(),
        run_id=run_id,
        feature_key=result.feature_key,
        calibration=result.calibration,
        ood=result.ood,
    )
    active = models.active()
    activate = force_activate or is_better_or_equal(result.metrics, active)
    if activate:
        models.activate(model_id)
        log(f"Model {model_id} is now the active model.")
    else:
        log(
            f"Model {model_id} is stored but not activated: it is worse than the active model "
            f"{active.id} on at least one trait; activate it on the Models page if you want it."
        )
    return "succeeded", model_id, activate
