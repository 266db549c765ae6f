"""The training job end to end: detached process, Mongo log, one run at a time, cancel, kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from pymongo.database import Database

from core.config import Settings
from core.db.features import FeatureRepository
from core.db.models import ModelRepository
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.demo.samples import demo_samples, encode_jpeg
from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.services.demo import add_demo_images
from core.services.training import (
    detached_launcher,
    is_better_or_equal,
    run_training_job,
    start_training_run,
)
from tests.model_helpers import TINY, add_model

REPO_ROOT = Path(__file__).resolve().parents[2]


def job_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DB": settings.mongo_db,
        "DATA_DIR": str(settings.data_dir),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def run_job(settings: Settings, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args],
        env=job_env(settings),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for_status(runs: TrainingRunRepository, run_id: str, statuses, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = runs.get(run_id)
        if run.status in statuses:
            return run
        time.sleep(0.3)
    pytest.fail(f"run {run_id} stayed {runs.get(run_id).status}; log: {runs.log_entries(run_id)}")


@pytest.fixture
def cat_images(mongo_db: Database) -> TrainingImageRepository:
    images = TrainingImageRepository(mongo_db)
    add_demo_images(images, CAT_PHENOTYPE, count=48, seed=3)
    return images


@pytest.mark.slow
def test_train_wait_succeeds_and_first_model_becomes_active(
    settings: Settings, mongo_db: Database, cat_images, tmp_path: Path
) -> None:
    result = run_job(
        settings,
        "jobs.train",
        "--wait",
        "--backbone",
        "small_cnn",
        "--epochs",
        "2",
        "--image-size",
        "48",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Training end to end with small_cnn" in result.stdout
    run = TrainingRunRepository(mongo_db).list()[0]
    assert run.status == "succeeded" and run.epoch == 2 and run.is_model_activated
    assert run.backbone_used == "small_cnn"
    model = ModelRepository(mongo_db).active()
    assert model.id == run.model_id and model.training_set_size == 48
    assert set(model.metrics) == set(CAT_PHENOTYPE.trait_names)
    assert set(model.confusion["colour"]["labels"]) == set(CAT_PHENOTYPE.trait("colour").values)
    assert len(model.validation_image_ids) >= 9
    assert model.training_started <= model.training_ended

    files = []
    for sample in demo_samples("cat_phenotype", 2, seed=77):
        path = tmp_path / sample.filename
        path.write_bytes(encode_jpeg(sample.image))
        files.append(str(path))
    (tmp_path / "notes.jpg").write_text("not a photo")
    identified = run_job(settings, "jobs.identify", "--json", *files, str(tmp_path / "notes.jpg"))
    answers = json.loads(identified.stdout)
    assert identified.returncode == 1  # one file was bad
    assert [Path(a["file"]).name for a in answers] == [Path(f).name for f in files] + ["notes.jpg"]
    for answer in answers[:2]:
        assert set(answer) == {
            "file",
            "label",
            "probabilities",
            "unsure",
            "is_cat",
            "unfamiliar",
            "unfamiliarity",
            "message",
        }
        assert isinstance(answer["unfamiliar"], bool)
        assert set(answer["probabilities"]) == set(CAT_PHENOTYPE.trait_names)
        assert abs(sum(answer["probabilities"]["colour"].values()) - 1) < 1e-3
    assert "notes.jpg" in answers[2]["error"] and "not an image" in answers[2]["error"]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"epochs": 0}, "Epochs 0 is not allowed"),
        ({"learning_rate": "fast"}, "fast"),
        ({"backbone": "resnet9000"}, "resnet9000"),
        ({"validation_share": 0.9}, "0.9"),
    ],
)
def test_bad_hyper_parameters_are_refused_before_queueing(
    mongo_db: Database, parameters: dict, message: str
) -> None:
    runs = TrainingRunRepository(mongo_db)
    with pytest.raises(UserError, match=message):
        start_training_run(runs, lambda args: None, parameters, requested_by="ann")
    assert runs.list() == []


def test_too_small_training_set_fails_the_run_with_a_clear_message(
    mongo_db: Database, settings: Settings
) -> None:
    add_demo_images(TrainingImageRepository(mongo_db), CAT_PHENOTYPE, count=4)
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")

    status = run_training_job(mongo_db, run_id, schema=CAT_PHENOTYPE, settings=settings)

    run = runs.get(run_id)
    assert status == "failed" and "label at least" in run.error
    assert ModelRepository(mongo_db).active() is None


def test_single_valued_trait_is_refused(mongo_db: Database, settings: Settings) -> None:
    images = TrainingImageRepository(mongo_db)
    add_demo_images(images, CAT_PHENOTYPE, count=30, seed=5)
    cats = images.ids(ImageFilter(label={"is_cat": True}))
    images.apply_label(cats, {"is_pointed": False}, CAT_PHENOTYPE, by="t")
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")

    run_training_job(mongo_db, run_id, schema=CAT_PHENOTYPE, settings=settings)

    assert "colourpoint" in runs.get(run_id).error.lower()


def test_activation_rule_keeps_a_worse_model_inactive() -> None:
    class Active:
        metrics = {"colour": {"val_accuracy": 0.9}, "is_cat": {"val_accuracy": 0.95}}

    better = {"colour": {"val_accuracy": 0.92}, "is_cat": {"val_accuracy": 0.95}}
    worse = {"colour": {"val_accuracy": 0.97}, "is_cat": {"val_accuracy": 0.94}}
    assert is_better_or_equal(better, Active())
    assert not is_better_or_equal(worse, Active())
    assert is_better_or_equal(worse, None)


@pytest.mark.slow
def test_cancel_stops_the_job_and_keeps_the_active_model(
    mongo_db: Database, settings: Settings, cat_images
) -> None:
    runs = TrainingRunRepository(mongo_db)
    launch = detached_launcher(settings, settings.mongo_uri)
    run_id = start_training_run(
        runs, launch, {**TINY, "epochs": 200, "patience": 100}, requested_by="ann"
    )
    wait_for_status(runs, run_id, ("running",))
    while runs.get(run_id).epoch < 1:
        assert runs.get(run_id).status == "running", runs.log_entries(run_id)
        time.sleep(0.3)

    runs.request_cancel(run_id)

    run = wait_for_status(runs, run_id, ("cancelled", "failed", "succeeded"), timeout=60)
    assert run.status == "cancelled" and "cancelled" in run.error
    assert ModelRepository(mongo_db).count() == 0
    assert runs.active() is None


@pytest.mark.slow
def test_killed_job_is_marked_failed_once_stale_and_changes_nothing(
    mongo_db: Database, settings: Settings, cat_images
) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(
        runs,
        detached_launcher(settings, settings.mongo_uri),
        {**TINY, "epochs": 200, "patience": 100},
        requested_by="ann",
    )
    run = wait_for_status(runs, run_id, ("running",))
    time.sleep(1)

    os.kill(run.pid, signal.SIGKILL)
    time.sleep(1.5)

    assert runs.fail_stale(heartbeat_timeout_s=1) == 1
    run = runs.get(run_id)
    assert run.status == "failed" and "stopped answering" in run.error
    assert ModelRepository(mongo_db).active() is None
    with pytest.raises(UserError, match="not queued"):
        run_training_job(mongo_db, run_id, schema=CAT_PHENOTYPE, settings=settings)


@pytest.mark.slow
def test_dog_breed_schema_trains_one_softmax_head(mongo_db: Database, settings: Settings) -> None:
    images = TrainingImageRepository(mongo_db)
    add_demo_images(images, DOG_BREED, count=36, seed=2)
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")

    status = run_training_job(mongo_db, run_id, schema=DOG_BREED, settings=settings)

    assert status == "succeeded", runs.get(run_id).error
    model = ModelRepository(mongo_db).active()
    assert model.schema.trait_names == ["breed"]
    assert len(model.schema.trait("breed").values) >= 10


@pytest.mark.slow
def test_frozen_backbone_run_caches_features_and_deleting_its_model_removes_them(
    mongo_db: Database, settings: Settings, cat_images, tmp_path: Path
) -> None:
    import keras

    weights = tmp_path / "mobilenet_v2.weights.h5"
    keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(48, 48, 3)
    ).save_weights(weights)
    frozen = Settings(**{**settings.__dict__, "backbone_weights": str(weights)})
    runs, models = TrainingRunRepository(mongo_db), ModelRepository(mongo_db)
    params = {**TINY, "backbone": "mobilenet_v2", "image_size": 48}
    first = start_training_run(runs, lambda args: None, params, requested_by="ann")
    assert run_training_job(mongo_db, first, schema=CAT_PHENOTYPE, settings=frozen) == "succeeded"
    features = FeatureRepository(mongo_db)
    key = mongo_db.prediction_models.find_one({"run_id": first})["feature_key"]
    assert key.startswith("mobilenet_v2:") and features.count(key) == 48

    second = start_training_run(runs, lambda args: None, params, requested_by="ann", activate=True)
    run_training_job(mongo_db, second, schema=CAT_PHENOTYPE, settings=frozen)
    assert any("48 of 48 images cached" in e.message for e in runs.log_entries(second))
    models.delete(runs.get(first).model_id)
    assert features.count(key) == 48  # the active model still uses them

    newest = models.get(runs.get(second).model_id)
    other = add_model(
        mongo_db, b"a model without cached features", image_size=48, training_set_size=48
    )
    models.activate(other)
    models.delete(newest.id)
    assert features.count(key) == 0


def test_warm_retrain_decodes_no_image_it_decoded_before(
    cat_images: TrainingImageRepository, tmp_path: Path
) -> None:
    from core.ml.pixel_cache import PixelCache
    from core.services.training import StoredImages

    ids = [image_id for image_id, _ in cat_images.labelled()]
    cache = PixelCache(tmp_path / "cache")
    messages: list[str] = []

    def prepare(folder: str) -> StoredImages:
        (tmp_path / folder).mkdir()
        return StoredImages(
            cat_images,
            ids,
            image_size=48,
            resize_mode="pad",
            folder=tmp_path / folder,
            log=messages.append,
            should_cancel=lambda: False,
            cache=cache,
        )

    cold, warm = prepare("cold"), prepare("warm")
    assert cold.decoded == len(ids) == 48
    assert warm.decoded == 0
    assert (cold.load(list(range(48))) == warm.load(list(range(48)))).all()
    assert messages[-1] == "Prepared 48 of 48 images (0 decoded, 48 from the cache)."
    other_size = StoredImages(
        cat_images,
        ids[:5],
        image_size=40,
        resize_mode="pad",
        folder=tmp_path,
        log=messages.append,
        should_cancel=lambda: False,
        cache=cache,
    )
    assert other_size.decoded == 5  # the cache is per size and resize mode


def changed_backbone_layers(
    weights_file: Path, model, image_size: int
) -> tuple[list[str], list[str]]:
    """The backbone's layers with weights (not BatchNorm), and those that differ from the file."""
    import keras
    import numpy as np

    original = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(image_size, image_size, 3)
    )
    original.load_weights(weights_file)
    tuned = next(layer for layer in model.layers if layer.name == original.name)
    weighted = [
        layer
        for layer in original.layers
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)
    ]
    return [layer.name for layer in weighted], [
        layer.name
        for layer in weighted
        if any(
            not np.array_equal(a, b)
            for a, b in zip(
                layer.get_weights(), tuned.get_layer(layer.name).get_weights(), strict=True
            )
        )
    ]


@pytest.mark.slow
def test_a_fine_tuned_run_stores_a_model_that_says_so_and_changed_its_top_layers(
    mongo_db: Database, settings: Settings, tmp_path: Path
) -> None:
    import keras

    from core.ml.model_builder import model_from_bytes

    size = 48
    weights_file = tmp_path / "mobilenet_v2.weights.h5"  # random, but a real weights file
    keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(size, size, 3)
    ).save_weights(weights_file)
    add_demo_images(TrainingImageRepository(mongo_db), CAT_PHENOTYPE, count=24, seed=3)
    runs = TrainingRunRepository(mongo_db)
    parameters = {
        "backbone": "mobilenet_v2",
        "image_size": size,
        "epochs": 1,
        "batch_size": 8,
        "fine_tune_layers": 2,
        "fine_tune_epochs": 1,
    }
    run_id = start_training_run(runs, lambda args: None, parameters, requested_by="ann")

    status = run_training_job(
        mongo_db,
        run_id,
        schema=CAT_PHENOTYPE,
        settings=replace(settings, backbone_weights=str(weights_file)),
    )

    assert status == "succeeded", runs.get(run_id).error
    log = "\n".join(entry.message for entry in runs.log_entries(run_id))
    assert "Fine-tuning the top 2 layers of mobilenet_v2" in log
    models = ModelRepository(mongo_db)
    record = models.get(runs.get(run_id).model_id)
    assert record.backbone == "mobilenet_v2"
    stored = record.hyper_parameters
    assert (stored["fine_tune_layers"], stored["fine_tune_epochs"]) == (2, 1)
    model = model_from_bytes(models.model_file(record))
    weighted, changed = changed_backbone_layers(weights_file, model, size)
    assert changed == weighted[-2:]


def test_a_run_that_falls_back_to_small_cnn_stores_no_fine_tuning(
    mongo_db: Database, settings: Settings
) -> None:
    add_demo_images(TrainingImageRepository(mongo_db), CAT_PHENOTYPE, count=24, seed=3)
    runs = TrainingRunRepository(mongo_db)
    parameters = {**TINY, "backbone": "mobilenet_v2", "epochs": 1, "fine_tune_layers": 2}
    run_id = start_training_run(runs, lambda args: None, parameters, requested_by="ann")

    status = run_training_job(
        mongo_db,
        run_id,
        schema=CAT_PHENOTYPE,
        settings=replace(settings, backbone_weights="/nowhere/mobilenet_v2.weights.h5"),
    )

    assert status == "succeeded", runs.get(run_id).error
    log = "\n".join(entry.message for entry in runs.log_entries(run_id))
    assert "Fine-tuning 2 layers is skipped: small_cnn has no pretrained weights" in log
    record = ModelRepository(mongo_db).get(runs.get(run_id).model_id)
    assert record.backbone == "small_cnn" and record.hyper_parameters["fine_tune_layers"] == 0
    assert runs.get(run_id).parameters["fine_tune_layers"] == 2  # what was asked stays


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--backbone", "small_cnn", "--fine-tune-layers", "2"],
            "error: Fine-tune layers 2 needs a pretrained backbone and small_cnn has no "
            "pretrained weights; set fine-tune layers to 0 or choose mobilenet_v2, "
            "efficientnet_b0, xception.\n",
        ),
        (
            ["--fine-tune-layers", "-1"],
            "error: Fine-tune layers -1 is not allowed; use a whole number from 0 to 500.\n",
        ),
    ],
)
def test_train_command_refuses_bad_fine_tuning_and_starts_nothing(
    settings: Settings, mongo_db: Database, args: list[str], message: str
) -> None:
    result = run_job(settings, "jobs.train", *args)

    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert TrainingRunRepository(mongo_db).list() == []
