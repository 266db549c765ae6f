"""The Training page under AppTest, against the embedded MongoDB. The job launcher is the one
fake (an edge: it would start a process); the slow test uses the session's tiny trained model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.clock import utcnow
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.labels import CAT_PHENOTYPE
from core.services.demo import add_demo_images
from core.services.training import start_training_run
from tests.console_helpers import all_text, open_page, page_test, run_ok, widget
from tests.model_helpers import TINY, clone_trained


def test_the_page_needs_a_session(console: Database) -> None:
    at = run_ok(page_test("training.py"))
    assert [i.value for i in at.info] == ["Please sign in to use the Cat Identifier console."]
    assert not at.title and not at.button


def start_button(at: AppTest):
    return widget(at.button, "Start training")


def test_training_with_no_images_explains_and_cannot_start(console, launched) -> None:
    at = open_page("training.py")

    assert at.title[0].value == "Training"
    assert "No training run yet" in all_text(at)
    assert "Only 0 labelled images were given" in at.error[0].value
    assert start_button(at).disabled
    assert launched == []


def test_start_training_launches_the_job_and_shows_the_live_run(console, launched) -> None:
    add_demo_images(TrainingImageRepository(console), CAT_PHENOTYPE, count=24, seed=5)
    at = open_page("training.py")
    assert [m.value for m in at.metric][:2] == ["24", "0"]
    assert "Only 24 labelled images: enough to try training" in at.warning[0].value
    assert not start_button(at).disabled

    at.selectbox(key="param_backbone").set_value("small_cnn")
    at.number_input(key="param_epochs").set_value(3)
    at.number_input(key="param_image_size").set_value(48)
    start_button(at).click()
    run_ok(at)

    run = TrainingRunRepository(console).active()
    assert launched == [["-m", "jobs.train", "--run-id", run.id]]
    assert run.requested_by == "ann"
    assert (run.parameters["backbone"], run.parameters["epochs"]) == ("small_cnn", 3)
    assert f"Started run {run.id}" in at.success[0].value
    assert "Current run" in [h.value for h in at.subheader]
    assert "Queued" in all_text(at) and start_button(at).disabled
    assert f"Run {run.id} is queued; wait for it to end or cancel it." in all_text(at)

    # a second administrator opening the page sees the same run
    other = open_page("training.py")
    assert f"run `{run.id}`" in all_text(other) and start_button(other).disabled

    widget(at.button, "Cancel run").click()
    run_ok(at)
    assert TrainingRunRepository(console).get(run.id).status == "cancelled"
    assert "Cancelled" in all_text(at) and not start_button(at).disabled


def test_bad_hyper_parameters_are_refused_with_the_value(console, launched) -> None:
    add_demo_images(TrainingImageRepository(console), CAT_PHENOTYPE, count=24, seed=5)
    at = open_page("training.py")

    at.selectbox(key="param_backbone").set_value("xception")
    at.number_input(key="param_image_size").set_value(48)
    start_button(at).click()
    run_ok(at)

    assert at.error[0].value == (
        "Image size 48 does not suit backbone xception; use 71 to 1024 pixels."
    )
    assert launched == [] and TrainingRunRepository(console).list() == []


def test_fine_tuning_is_explained_and_refused_for_small_cnn(console, launched) -> None:
    add_demo_images(TrainingImageRepository(console), CAT_PHENOTYPE, count=24, seed=5)
    at = open_page("training.py")
    assert "Fine-tuning applies to a pretrained backbone (mobilenet_v2" in all_text(at)
    assert at.number_input(key="param_fine_tune_layers").value == 0

    at.selectbox(key="param_backbone").set_value("small_cnn")
    at.number_input(key="param_image_size").set_value(48)
    at.number_input(key="param_fine_tune_layers").set_value(2)
    start_button(at).click()
    run_ok(at)

    assert at.error[0].value == (
        "Fine-tune layers 2 needs a pretrained backbone and small_cnn has no pretrained "
        "weights; set fine-tune layers to 0 or choose mobilenet_v2, efficientnet_b0, "
        "xception."
    )
    assert launched == [] and TrainingRunRepository(console).list() == []


def test_fine_tuning_settings_are_stored_with_the_run(console, launched) -> None:
    add_demo_images(TrainingImageRepository(console), CAT_PHENOTYPE, count=24, seed=5)
    at = open_page("training.py")

    at.selectbox(key="param_backbone").set_value("mobilenet_v2")
    at.number_input(key="param_fine_tune_layers").set_value(4)
    at.number_input(key="param_fine_tune_epochs").set_value(2)
    start_button(at).click()
    run_ok(at)

    run = TrainingRunRepository(console).active()
    assert launched == [["-m", "jobs.train", "--run-id", run.id]]
    assert (run.parameters["fine_tune_layers"], run.parameters["fine_tune_epochs"]) == (4, 2)


def test_running_run_shows_progress_loss_chart_and_log(console, launched) -> None:
    runs = TrainingRunRepository(console)
    run_id = start_training_run(runs, lambda args: None, {**TINY, "epochs": 4}, requested_by="bob")
    runs.claim(run_id, pid=1, host="trainer")
    runs.log(run_id, "info", "Training end to end with small_cnn on 34 images.")
    runs.record_epoch(run_id, 1, 4, {"loss": 2.0, "val_loss": 2.5, "colour_loss": 1.0})

    at = open_page("training.py")

    [progress] = at.get("progress")
    assert progress.value == 25  # percent
    assert "Epoch 1 of 4" in progress.proto.text
    assert len(at.get("vega_lite_chart")) >= 1
    assert "Training end to end with small_cnn" in at.code[0].value
    assert "Started by" in [m.label for m in at.metric]
    assert start_button(at).disabled
    at.selectbox(key="live_trait").set_value("Colour")
    run_ok(at)


def test_a_killed_run_shows_as_failed_with_its_last_log_lines(console, launched) -> None:
    runs = TrainingRunRepository(console)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="bob")
    runs.claim(run_id, pid=999_999, host="trainer")
    runs.log(run_id, "info", "Prepared 48 of 48 images.")
    console["training_runs"].update_one(
        {"_id": ObjectId(run_id)}, {"$set": {"heartbeat_at": utcnow() - timedelta(minutes=9)}}
    )

    at = open_page("training.py")

    assert "Latest run" in [h.value for h in at.subheader]
    assert "The run failed: The training job stopped answering" in at.error[0].value
    log = at.code[0].value
    assert "Prepared 48 of 48 images." in log and "ERROR" in log
    assert "History" in [h.value for h in at.subheader]
    assert at.dataframe[0].value.iloc[0]["Status"] == "failed"


@pytest.mark.slow
def test_a_succeeded_run_shows_its_charts_and_model(console, launched, trained_template) -> None:
    model_id = clone_trained(trained_template, console)
    at = open_page("training.py")

    text = all_text(at)
    assert "Succeeded" in text and f"Model `{model_id}` is stored and active" in text
    [progress] = at.get("progress")
    assert progress.value == 100
    specs = " ".join(chart.proto.spec for chart in at.get("vega_lite_chart"))
    assert "Loss per epoch" in specs and "Accuracy per trait" in specs
    assert "Finished after 2 epochs" in at.code[0].value
    history = at.dataframe[0].value
    assert list(history["Status"]) == ["succeeded"] and list(history["By"]) == ["test"]
    assert not start_button(at).disabled
