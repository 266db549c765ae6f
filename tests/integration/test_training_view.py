"""What the Training page shows, against the embedded MongoDB: the training set in numbers,
one run at a time, cancel, a killed job, the live view of a run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId
from pymongo.database import Database

from core.clock import utcnow
from core.config import Settings
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.errors import UserError
from core.labels import CAT_PHENOTYPE
from core.ml.hyperparameters import HyperParameters
from core.services.run_defaults import run_defaults
from core.services.training import start_training_run
from core.services.training_view import (
    FINE_TUNING_NOTE,
    cancel_run,
    current_run,
    fine_tuning_text,
    format_duration,
    history_frames,
    log_text,
    parameter_fields,
    run_view,
    runs_table,
    summarize_training_set,
)
from tests.console_helpers import BLUE, CREAM_POINTED, NOT_CAT, RED_TABBY, add_images
from tests.model_helpers import TINY


def test_empty_training_set_cannot_train(mongo_db: Database) -> None:
    summary = summarize_training_set(TrainingImageRepository(mongo_db), CAT_PHENOTYPE)

    assert (summary.labelled, summary.unlabelled) == (0, 0)
    assert not summary.can_train
    assert "Only 0 labelled images" in summary.problem
    colours = summary.counts[summary.counts["trait"] == "colour"]
    assert list(colours["value"]) == list(CAT_PHENOTYPE.trait("colour").values)
    assert colours["images"].sum() == 0


def test_training_set_counts_values_and_warns_about_few_and_imbalanced(
    mongo_db: Database,
) -> None:
    labels = [BLUE] * 22 + [RED_TABBY] * 2 + [CREAM_POINTED] * 2 + [NOT_CAT] * 3 + [None] * 4
    add_images(TrainingImageRepository(mongo_db), labels)

    summary = summarize_training_set(TrainingImageRepository(mongo_db), CAT_PHENOTYPE)

    assert summary.can_train, summary.problem
    assert (summary.labelled, summary.unlabelled) == (29, 4)
    counts = {(row.trait, row.value): row.images for row in summary.counts.itertuples(index=False)}
    assert counts[("colour", "blue")] == 22 and counts[("colour", "red")] == 2
    assert counts[("colour", "fawn")] == 0
    assert counts[("is_cat", "no")] == 3 and counts[("is_cat", "yes")] == 26
    text = " ".join(summary.warnings)
    assert "Only 29 labelled images" in text
    assert "Colour has fewer than 10 images of red (2), cream (2)" in text
    assert "Colour has no image of black" in text  # values the model cannot learn
    assert "Colour is imbalanced:" in text and "2 images against 22 of blue" in text


def test_launch_is_refused_while_a_run_is_active(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    launched: list[list[str]] = []
    first = start_training_run(runs, launched.append, TINY, requested_by="ann")

    with pytest.raises(UserError, match=f"Run {first} is still queued"):
        start_training_run(runs, launched.append, TINY, requested_by="bob")
    assert launched == [["-m", "jobs.train", "--run-id", first]]
    assert current_run(runs).id == first and current_run(runs).requested_by == "ann"


def test_cancel_a_queued_run_ends_it_at_once_and_frees_the_slot(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")

    message = cancel_run(runs, run_id)

    assert "cancelled before it started" in message
    assert runs.get(run_id).status == "cancelled"
    assert start_training_run(runs, lambda args: None, TINY, requested_by="ann") != run_id


def test_cancel_a_running_run_asks_the_job_and_a_second_cancel_is_harmless(
    mongo_db: Database,
) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")
    assert runs.claim(run_id, pid=12345, host="trainer")

    assert "next batch" in cancel_run(runs, run_id)
    assert "next batch" in cancel_run(runs, run_id)

    run = runs.get(run_id)
    assert run.status == "running" and run.is_cancel_requested
    assert runs.is_cancel_requested(run_id)


def test_cancel_a_finished_run_is_refused(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")
    runs.finish(run_id, "succeeded")

    with pytest.raises(UserError, match=f"Run {run_id} is already succeeded"):
        cancel_run(runs, run_id)
    with pytest.raises(UserError, match="not a valid training run id"):
        cancel_run(runs, "nonsense")


def test_a_killed_job_shows_as_failed_with_its_last_log_lines(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")
    runs.claim(run_id, pid=999_999, host="trainer")
    runs.log(run_id, "info", "Prepared 48 of 48 images.")
    # the job was killed ten minutes ago: its heartbeat stopped then
    mongo_db["training_runs"].update_one(
        {"_id": ObjectId(run_id)}, {"$set": {"heartbeat_at": utcnow() - timedelta(minutes=10)}}
    )

    run = current_run(runs)

    assert run.id == run_id and run.status == "failed"
    assert "stopped answering" in run.error
    lines = log_text(runs.last_log_entries(run_id, 20)).splitlines()
    assert "Prepared 48 of 48 images." in lines[0]
    assert "ERROR" in lines[-1] and "stopped answering" in lines[-1]
    assert runs.active() is None  # a new run may start


def test_current_run_is_the_latest_when_none_is_active(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    assert current_run(runs) is None
    first = start_training_run(runs, lambda args: None, TINY, requested_by="ann")
    runs.finish(first, "failed", error="boom")
    second = start_training_run(runs, lambda args: None, TINY, requested_by="bob")
    runs.finish(second, "succeeded")

    assert current_run(runs).id == second


def test_run_view_follows_progress_and_builds_chart_data(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, {**TINY, "epochs": 4}, requested_by="ann")

    queued = run_view(runs.get(run_id), CAT_PHENOTYPE)
    assert queued.progress == 0 and queued.status_text.startswith("Queued")
    assert queued.losses.empty

    runs.claim(run_id, pid=1, host="trainer")
    preparing = run_view(runs.get(run_id), CAT_PHENOTYPE)
    assert preparing.progress_text == "Preparing: epoch 0 of 4"
    for epoch in (1, 2):
        runs.record_epoch(
            run_id,
            epoch,
            4,
            {"loss": 3.0 / epoch, "colour_loss": 1.5 / epoch, "val_loss": 3.5 / epoch},
        )
    run = runs.get(run_id)
    view = run_view(run, CAT_PHENOTYPE, now=run.started_at + timedelta(seconds=65))

    assert view.progress == 0.5 and view.progress_text == "Epoch 2 of 4"
    assert view.elapsed_text == "1 min 05 s"
    total = view.losses[view.losses["trait"] == "All traits"]
    assert sorted(zip(total["epoch"], total["split"], total["loss"], strict=True)) == [
        (1, "training", 3.0),
        (1, "validation", 3.5),
        (2, "training", 1.5),
        (2, "validation", 1.75),
    ]
    assert set(view.losses["trait"]) == {"All traits", "Colour"}
    assert view.accuracies.empty  # the job logs losses only

    runs.finish(run_id, "succeeded", model_id="m1", is_model_activated=True)
    done = run_view(runs.get(run_id), CAT_PHENOTYPE)
    assert done.progress == 1.0
    assert done.progress_text.startswith("Done after 2 of 4 epochs (stopped early")


def test_history_frames_read_accuracy_keys_per_trait() -> None:
    history = [
        {"epoch": 1, "is_cat_accuracy": 0.6, "val_is_cat_accuracy": 0.5, "loss": 1.0},
        {"epoch": 2, "is_cat_accuracy": 0.8, "val_is_cat_accuracy": 0.7, "loss": 0.5},
    ]
    losses, accuracies = history_frames(history, CAT_PHENOTYPE)

    assert list(losses["loss"]) == [1.0, 0.5]
    assert set(accuracies["trait"]) == {"Cat"}
    validation = accuracies[accuracies["split"] == "validation"]
    assert list(validation["accuracy"]) == [0.5, 0.7]


def test_runs_table_lists_status_duration_and_who(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="ann")
    runs.claim(run_id, pid=1, host="trainer")
    runs.finish(run_id, "failed", error="The training job stopped answering.")

    table = runs_table(runs.list())

    row = table.iloc[0]
    assert (row["Status"], row["By"], row["Backbone"]) == ("failed", "ann", "small_cnn")
    assert row["Duration"].endswith(" s") and row["Epochs"] == "0 / 2"
    assert row["Error"] == "The training job stopped answering."


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (0.4, "0 s"), (59, "59 s"), (61, "1 min 01 s"), (3720, "1 h 02 min")],
)
def test_format_duration(seconds, text) -> None:
    assert format_duration(seconds) == text


def test_parameter_fields_offer_every_hyper_parameter_with_defaults_and_help() -> None:
    defaults = run_defaults(Settings(backbone="small_cnn", resize_mode="crop"))
    fields = {f.name: f for f in parameter_fields(defaults)}

    assert set(fields) == set(HyperParameters().to_dict())
    assert fields["backbone"].default == "small_cnn" and "xception" in fields["backbone"].options
    assert fields["resize_mode"].default == "crop"
    assert (fields["epochs"].low, fields["epochs"].high, fields["epochs"].default) == (1, 1000, 30)
    assert fields["validation_share"].kind == "share"
    assert all(f.help for f in fields.values())
    assert not fields["learning_rate"].is_advanced and fields["seed"].is_advanced


def test_help_texts_say_what_the_defaults_and_the_augmentation_are() -> None:
    fields = {f.name: f for f in parameter_fields(HyperParameters(learning_rate=0.002))}

    assert "0.002 is a good start" in fields["learning_rate"].help
    augment = fields["augment"].help
    assert augment.startswith("Training photos are randomly flipped left to right, changed in ")
    assert "contrast by up to 15%" in augment and "brightness by up to 10%" in augment
    assert "rotate" not in augment and "zoom" not in augment


def test_run_defaults_are_the_hyper_parameters_with_the_configured_backbone() -> None:
    defaults = run_defaults(Settings(backbone="efficientnet_b0", resize_mode="crop"))

    assert (defaults.backbone, defaults.resize_mode) == ("efficientnet_b0", "crop")
    assert defaults.epochs == HyperParameters().epochs


def test_fine_tuning_fields_are_advanced_and_say_where_they_apply() -> None:
    fields = {f.name: f for f in parameter_fields(HyperParameters())}

    layers, epochs = fields["fine_tune_layers"], fields["fine_tune_epochs"]
    assert (layers.label, layers.kind, layers.default, layers.low) == (
        "Fine-tune layers",
        "whole",
        0,
        0,
    )
    assert (epochs.label, epochs.default, epochs.low) == ("Fine-tune epoch limit", 5, 1)
    assert layers.is_advanced and layers.is_fine_tuning and epochs.is_fine_tuning
    assert not fields["seed"].is_fine_tuning
    assert "small_cnn has no pretrained weights" in layers.help
    assert "mobilenet_v2" in FINE_TUNING_NOTE and "small_cnn" in FINE_TUNING_NOTE


@pytest.mark.parametrize(
    ("stored", "text"),
    [
        ({}, "No"),
        ({"fine_tune_layers": 0}, "No"),
        ({"fine_tune_layers": 1}, "Top 1 layer"),
        ({"fine_tune_layers": 12}, "Top 12 layers"),
    ],
)
def test_fine_tuning_text_reads_the_stored_hyper_parameters(stored: dict, text: str) -> None:
    assert fine_tuning_text(stored) == text
