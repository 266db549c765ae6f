"""The Review predictions page under AppTest, against the embedded MongoDB."""

from __future__ import annotations

from pymongo.database import Database

from core.db.predictions import PredictionRepository
from core.db.training_images import ImageFilter, TrainingImageRepository
from tests.console_helpers import all_text, open_page, page_test, run_ok, widget
from tests.prediction_helpers import add_review_set


def test_the_page_needs_a_session(console: Database) -> None:
    at = run_ok(page_test("review.py"))
    assert [i.value for i in at.info] == ["Please sign in to use the Cat Identifier console."]
    assert not at.title and not at.button


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
