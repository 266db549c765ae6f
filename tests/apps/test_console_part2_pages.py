"""The Training, Models and Review predictions pages under AppTest, against the embedded
MongoDB. The job launcher is the one fake (an edge: it would start a process); the slow tests
use a tiny real model trained once per session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.clock import utcnow
from core.config import Settings
from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.labels import CAT_PHENOTYPE
from core.services import training
from core.services.demo import add_demo_images
from core.services.model_registry import confusion_cells
from core.services.training import start_training_run
from tests.console2_support import (  # noqa: F401  (fixture)
    TINY,
    add_review_set,
    clone_trained,
    copy_model,
    trained_template_fixture,
)
from tests.console_support import add_user, console_env, page_test, signed_in


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def all_text(at: AppTest) -> str:
    parts = [
        e.value for e in (*at.markdown, *at.success, *at.error, *at.warning, *at.info, *at.caption)
    ]
    return "\n".join(str(part) for part in parts)


def widget(elements, label: str):
    [found] = [element for element in elements if element.label == label]
    return found


@pytest.fixture
def console(settings: Settings, mongo_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    console_env(monkeypatch, settings)
    add_user(mongo_db, "ann")
    return mongo_db


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The Training page's job launcher, recording what it would start."""
    calls: list[list[str]] = []
    monkeypatch.setattr(training, "detached_launcher", lambda settings, uri: calls.append)
    return calls


def open_page(page: str, username: str = "ann") -> AppTest:
    return run_ok(signed_in(page_test(page), username))


@pytest.mark.parametrize("page", ["training.py", "models.py", "review.py"])
def test_pages_need_a_session(console: Database, page: str) -> None:
    at = run_ok(page_test(page))
    assert [i.value for i in at.info] == ["Please sign in to use the Cat Identifier console."]
    assert not at.title and not at.button


# ----- Training ---------------------------------------------------------------------------


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


# ----- Models -----------------------------------------------------------------------------


def test_models_page_without_models_says_what_to_do(console) -> None:
    at = open_page("models.py")
    assert at.title[0].value == "Models"
    assert "No model has been trained yet" in at.info[0].value


@pytest.mark.slow
def test_models_page_activate_compare_delete_and_open_a_cell(console, trained_template) -> None:
    models = ModelRepository(console)
    first = clone_trained(trained_template, console)
    record = models.get(first)
    worse = {
        name: {**values, "val_accuracy": values["val_accuracy"] / 2}
        for name, values in record.metrics.items()
    }
    second = copy_model(models, record, models.model_file(record), metrics=worse)
    at = open_page("models.py")

    table = at.dataframe[0].value
    assert list(table["Active"]) == [False, True] and list(table["Id"]) == [second, first]
    assert at.selectbox(key="models_chosen").value == first
    assert widget(at.button, "Activate").disabled and widget(at.button, "Delete…").disabled

    # a confusion cell opens the validation images behind it
    true, predicted, count = confusion_cells(record, "is_cat")[0]
    at.selectbox(key=f"cell_{first}_is_cat").set_value(f"{true}\u2192{predicted}")
    run_ok(at)
    assert f"**True {true}, predicted {predicted}:** {count} images" in all_text(at)
    assert len(at.get("image")) == count

    # roll back to the other model, then delete the one that is no longer active
    at.selectbox(key="models_chosen").set_value(second)
    run_ok(at)
    widget(at.button, "Activate").click()
    run_ok(at)
    assert "is now active" in at.success[0].value
    assert models.active_id() == second
    assert console["prediction_models"].count_documents({"is_active": True}) == 1

    compared = at.dataframe[-1].value.set_index("Trait")
    assert set(compared["Better"]) <= {"A", "same"}  # A: the original, B: its worse copy

    at.selectbox(key="models_chosen").set_value(first)
    run_ok(at)
    widget(at.button, "Delete…").click()
    run_ok(at)
    assert "for good?" in at.warning[0].value
    widget(at.button, "Delete model").click()
    run_ok(at)
    assert "Deleted model" in at.success[0].value
    assert [m.id for m in models.list()] == [second]


# ----- Review predictions -----------------------------------------------------------------


def test_review_page_without_predictions(console) -> None:
    at = open_page("review.py")
    assert at.title[0].value == "Review predictions"
    assert "No public prediction yet" in at.info[0].value


def test_review_grid_is_least_confident_first_and_filters(console) -> None:
    named = add_review_set(console)
    at = open_page("review.py")

    assert "**5** of 5 predictions match" in all_text(at)
    boxes = [box.key for box in at.checkbox]
    assert boxes[0] == f"review_pick_{named['unsure_blue']}"
    assert boxes[-1] == f"review_pick_{named['sure_blue']}"
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Awaiting review"], metrics["Owner said wrong"]) == ("5", "2")
    assert "1 stored without a photo" in widget(at.metric, "Awaiting review").help

    at.selectbox(key="review_user_feedback").set_value("rejected")
    run_ok(at)
    assert "**2** of 5 predictions match" in all_text(at)
    at.selectbox(key="review_filter_colour").set_value("red")
    run_ok(at)
    assert [box.key for box in at.checkbox] == [f"review_pick_{named['wrong_tabby']}"]


def test_review_accept_set_label_and_promote_once(console) -> None:
    named = add_review_set(console)
    predictions = PredictionRepository(console)
    images = TrainingImageRepository(console)
    at = open_page("review.py")

    at.checkbox(key=f"review_pick_{named['wrong_tabby']}").check()
    run_ok(at)
    # one selected: the label widgets start from the owner's correction
    assert at.selectbox(key="review_label_colour").value == "cream"
    assert at.selectbox(key="review_label_pattern").value == "bicolour"
    at.selectbox(key="review_label_is_tabby").set_value(False)
    run_ok(at)
    widget(at.button, "Set label on 1 selected").click()
    run_ok(at)
    assert at.success[0].value == "Labelled 1 prediction."
    assert predictions.get(named["wrong_tabby"]).admin_label["colour"] == "cream"

    at.selectbox(key="review_status").set_value("reviewed")
    run_ok(at)
    assert "**1** of 5 predictions match" in all_text(at)
    widget(at.button, "Select page").click()
    run_ok(at)
    widget(at.button, "Promote 1 selected to the training set").click()
    run_ok(at)
    assert at.success[0].value == "Added 1 image to the training set."
    [image] = images.find(ImageFilter(source="prediction_review"))
    assert image.label["colour"] == "cream" and image.label["is_tabby"] is False

    widget(at.button, "Select page").click()
    run_ok(at)
    widget(at.button, "Promote 1 selected to the training set").click()
    run_ok(at)
    assert "1 already there (not added again)" in at.success[0].value
    assert images.count() == 1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["In training set"] == "1"
    assert "Accuracy in the wild" in [h.value for h in at.subheader]
    assert at.dataframe[-1].value.set_index("Trait").loc["Colour", "Right"] == 0


def test_review_a_prediction_without_photo_cannot_be_promoted(console) -> None:
    named = add_review_set(console)
    at = open_page("review.py")

    at.checkbox(key=f"review_pick_{named['no_photo']}").check()
    run_ok(at)
    widget(at.button, "Accept predicted label").click()
    run_ok(at)
    assert at.success[0].value == "Accepted 1 prediction."

    at.selectbox(key="review_status").set_value("accepted")
    run_ok(at)
    widget(at.button, "Select page").click()
    run_ok(at)
    widget(at.button, "Promote 1 selected to the training set").click()
    run_ok(at)

    assert at.success[0].value.startswith("Added 0 images to the training set, 1 not promoted")
    assert "did not agree to keep it" in at.warning[0].value
    assert TrainingImageRepository(console).count() == 0


def test_review_actions_without_a_selection_are_disabled(console) -> None:
    add_review_set(console)
    at = open_page("review.py")
    for label in ("Accept predicted label", "Reject", "Set label on 0 selected"):
        assert widget(at.button, label).disabled
    assert widget(at.button, "Promote all 0 ready").disabled
