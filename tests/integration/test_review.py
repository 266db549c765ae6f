"""Reviewing public predictions against the embedded MongoDB: filters, least-confident order,
counts, bulk reviews, promotion to the training set (once), accuracy in the wild."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from bson import ObjectId
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.db.reviews import flag
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.errors import UserError
from core.labels import CAT_PHENOTYPE
from core.services.review import NO_PHOTO_REASON, PredictionReview, skip_notes
from core.services.review_accuracy import accuracy_in_the_wild
from core.services.review_filter import build_review_filter
from tests.console_helpers import jpeg_bytes
from tests.label_helpers import BLUE, CREAM_POINTED, NOT_CAT, RED_TABBY
from tests.prediction_helpers import add_prediction, add_review_set

MODEL = "6b0c00000000000000000001"


@pytest.fixture
def review(mongo_db: Database) -> PredictionReview:
    return PredictionReview(mongo_db, CAT_PHENOTYPE)


@pytest.fixture
def named(mongo_db: Database) -> dict[str, str]:
    return add_review_set(mongo_db, MODEL)


def ids_of(review: PredictionReview, **filters) -> list[str]:
    page = review.page(build_review_filter(CAT_PHENOTYPE, **filters), page_size=48)
    return [p.id for p in page.predictions]


def test_default_order_is_least_confident_first(review, named) -> None:
    assert ids_of(review) == [
        named["unsure_blue"],
        named["wrong_tabby"],
        named["no_photo"],
        named["middling"],
        named["sure_blue"],
    ]
    newest = review.page(build_review_filter(CAT_PHENOTYPE), order="newest first").predictions
    assert newest[0].id == named["middling"]


def test_filters_by_feedback_review_status_trait_model_and_date(review, named) -> None:
    assert ids_of(review, user_feedback="rejected") == [named["wrong_tabby"], named["no_photo"]]
    assert ids_of(review, user_feedback="accepted") == [named["unsure_blue"]]
    assert ids_of(review, user_feedback="none") == [named["middling"], named["sure_blue"]]
    assert ids_of(review, traits={"colour": "red"}) == [named["wrong_tabby"]]
    assert ids_of(review, traits={"is_tabby": False, "colour": None}) == [
        named["unsure_blue"],
        named["no_photo"],
        named["middling"],
        named["sure_blue"],
    ]
    assert ids_of(review, model_id=MODEL) == ids_of(review)
    assert ids_of(review, model_id="6b0c00000000000000000002") == []
    today = date.today()
    assert len(ids_of(review, created_from=today, created_to=today)) == 5
    assert ids_of(review, created_to=today - timedelta(days=1)) == []

    review.accept([named["sure_blue"]], by="ann")
    assert named["sure_blue"] not in ids_of(review, review_status="not reviewed")
    assert ids_of(review, review_status="accepted") == [named["sure_blue"]]
    assert ids_of(review, review_status="reviewed") == [named["sure_blue"]]
    assert ids_of(review, review_status="ready to promote") == [named["sure_blue"]]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"user_feedback": "maybe"}, "User feedback 'maybe' is not known"),
        ({"review_status": "done"}, "Review status 'done' is not known"),
        ({"traits": {"colour": "purple"}}, "Colour 'purple' is not known"),
        ({"traits": {"whiskers": "long"}}, "Trait 'whiskers' is not part of"),
        (
            {"created_from": date(2026, 5, 2), "created_to": date(2026, 5, 1)},
            "The start date 2026-05-02 is after the end date 2026-05-01",
        ),
    ],
)
def test_bad_filter_values_are_refused(filters, message) -> None:
    with pytest.raises(UserError, match=message):
        build_review_filter(CAT_PHENOTYPE, **filters)


def test_bad_page_requests_are_refused(review) -> None:
    everything = build_review_filter(CAT_PHENOTYPE)
    with pytest.raises(UserError, match="Order 'random' is not known"):
        review.page(everything, order="random")
    with pytest.raises(UserError, match="Page size 7 is not offered"):
        review.page(everything, page_size=7)
    assert review.page(everything, page=99).page == 1  # past the end: the last page


def test_counts_of_what_awaits_review(review, named) -> None:
    stats = review.stats()
    assert (stats.total, stats.awaiting, stats.reviewed) == (5, 5, 0)
    assert stats.awaiting_user_rejected == 2 and stats.awaiting_user_accepted == 1
    assert stats.awaiting_no_feedback == 2 and stats.awaiting_without_photo == 1

    review.accept([named["sure_blue"], named["no_photo"]], by="ann")
    review.reject([named["middling"]], by="ann")
    stats = review.stats()
    assert (stats.awaiting, stats.reviewed, stats.accepted, stats.rejected) == (2, 3, 2, 1)
    assert stats.ready_to_promote == 1  # the other accepted one has no photo


def test_accept_reject_and_set_label_in_bulk(mongo_db, review, named) -> None:
    predictions = PredictionRepository(mongo_db)

    outcome = review.accept([named["sure_blue"], named["unsure_blue"]], by="ann")
    assert outcome.summary() == "Accepted 2 predictions."
    accepted = predictions.get(named["sure_blue"])
    assert accepted.admin_has_reviewed and flag(accepted.admin_feedback) is True
    assert accepted.admin_label == BLUE

    review.reject([named["middling"]], by="ann")
    rejected = predictions.get(named["middling"])
    assert flag(rejected.admin_feedback) is False and rejected.admin_label is None

    # the owner's correction is the starting point; the admin's choice goes on top
    outcome = review.set_label([named["wrong_tabby"]], {"is_tabby": False}, by="bob")
    assert outcome.changed == 1
    corrected = predictions.get(named["wrong_tabby"])
    assert flag(corrected.admin_feedback) is False
    assert corrected.admin_label == {**CREAM_POINTED, "is_tabby": False}
    doc = mongo_db["predictions"].find_one({"_id": ObjectId(named["wrong_tabby"])})
    assert doc["admin_review"] == "corrected" and doc["admin_reviewed_by"] == "bob"

    # setting exactly the predicted label counts as accepting it
    review.set_label([named["middling"]], {}, by="ann")
    assert flag(predictions.get(named["middling"]).admin_feedback) is True


def test_set_label_to_not_a_cat_clears_the_cat_traits(mongo_db, review, named) -> None:
    review.set_label([named["sure_blue"], named["middling"]], {"is_cat": False}, by="ann")
    for key in ("sure_blue", "middling"):
        assert PredictionRepository(mongo_db).get(named[key]).admin_label == NOT_CAT


def test_incomplete_or_bad_label_changes_nothing(mongo_db, review, named) -> None:
    not_cat = add_prediction(mongo_db, label=NOT_CAT, confidence=0.5, seed=30)
    with pytest.raises(UserError, match=f"The label of prediction {not_cat} would miss Colour"):
        review.set_label([named["sure_blue"], not_cat], {"is_cat": True}, by="ann")
    with pytest.raises(UserError, match="Colour 'purple' is not known"):
        review.set_label([named["sure_blue"]], {"colour": "purple"}, by="ann")
    assert review.stats().reviewed == 0


def test_review_of_nothing_or_unknown_ids_is_refused(review, named) -> None:
    with pytest.raises(UserError, match="No prediction is selected"):
        review.accept([], by="ann")
    with pytest.raises(UserError, match="'6b0c00000000000000000099' no longer exists"):
        review.reject([named["sure_blue"], "6b0c00000000000000000099"], by="ann")
    with pytest.raises(UserError, match="not a valid prediction id"):
        review.promote(["../etc"], by="ann")
    assert review.stats().reviewed == 0


def test_promote_adds_the_photo_with_the_admin_label_once(mongo_db, review, named) -> None:
    images = TrainingImageRepository(mongo_db)
    review.set_label([named["wrong_tabby"]], {}, by="ann")
    review.accept([named["sure_blue"]], by="ann")

    report = review.promote([named["wrong_tabby"], named["sure_blue"]], by="bob")

    assert report.summary() == "Added 2 images to the training set."
    assert images.count() == 2
    added = dict(report.added)
    image = images.get(added[named["wrong_tabby"]])
    # the owner's correction on top of the prediction: cream, bicolour, pointed, still tabby
    assert image.source == "prediction_review" and image.label == {
        **CREAM_POINTED,
        "is_tabby": True,
    }
    assert image.is_labelled and image.labelled_by == "bob"
    assert images.image_bytes(image) == jpeg_bytes(13)
    assert (
        PredictionRepository(mongo_db).get(named["sure_blue"]).promoted_image_id
        == (added[named["sure_blue"]])
    )

    again = review.promote([named["wrong_tabby"], named["sure_blue"]], by="bob")

    assert again.added == [] and len(again.already) == 2
    assert "2 already there (not added again)" in again.summary()
    assert images.count() == 2
    assert review.stats().promoted == 2 and review.stats().ready_to_promote == 0
    # a promoted prediction's label now lives with the training image
    outcome = review.reject([named["sure_blue"]], by="ann")
    assert outcome.changed == 0 and "1 already in the training set" in outcome.summary()


def test_promote_of_a_photo_already_in_the_training_set_adds_nothing(
    mongo_db, review, named
) -> None:
    images = TrainingImageRepository(mongo_db)
    twin = add_prediction(mongo_db, confidence=0.3, seed=11)  # the same photo as sure_blue
    review.accept([named["sure_blue"], twin], by="ann")

    report = review.promote([named["sure_blue"], twin], by="ann")

    assert len(report.added) == 1 and len(report.already) == 1
    assert report.already[0] == (twin, report.added[0][1])  # linked to the existing image
    assert images.count() == 1


def test_what_cannot_be_promoted_says_why(mongo_db, review, named) -> None:
    review.accept([named["no_photo"]], by="ann")
    review.reject([named["middling"]], by="ann")

    report = review.promote([named["no_photo"], named["middling"], named["unsure_blue"]], by="ann")

    reasons = dict(report.skipped)
    assert reasons[named["no_photo"]] == NO_PHOTO_REASON
    assert "rejected without the right label" in reasons[named["middling"]]
    assert "not reviewed yet" in reasons[named["unsure_blue"]]
    assert report.added == [] and TrainingImageRepository(mongo_db).count() == 0
    assert skip_notes(report.skipped)[0] == f"1 prediction left as it was: {NO_PHOTO_REASON}."
    assert review.ready_to_promote_ids() == []


def test_promote_all_ready(mongo_db, review, named) -> None:
    review.accept([named["sure_blue"], named["no_photo"], named["middling"]], by="ann")
    assert sorted(review.ready_to_promote_ids()) == sorted([named["sure_blue"], named["middling"]])

    report = review.promote(review.ready_to_promote_ids(), by="ann")

    assert len(report.added) == 2
    images = TrainingImageRepository(mongo_db)
    assert images.count(ImageFilter(source="prediction_review")) == 2


def test_starting_label_prefers_the_admin_then_the_owner(mongo_db, review, named) -> None:
    predictions = PredictionRepository(mongo_db)
    assert review.starting_label(predictions.get(named["wrong_tabby"])) == {
        **CREAM_POINTED,
        "is_tabby": True,
    }
    assert review.starting_label(predictions.get(named["sure_blue"])) == BLUE
    review.set_label([named["sure_blue"]], {"colour": "lilac"}, by="ann")
    assert review.starting_label(predictions.get(named["sure_blue"]))["colour"] == "lilac"


def test_detail_rows_show_prediction_owner_and_admin(mongo_db, review, named) -> None:
    review.set_label([named["wrong_tabby"]], {"is_tabby": False}, by="ann")
    rows = review.detail_rows(PredictionRepository(mongo_db).get(named["wrong_tabby"]))
    colour = rows.set_index("Trait").loc["Colour"]
    assert (colour["Predicted"], colour["Owner says"], colour["Admin says"]) == (
        "red",
        "cream",
        "cream",
    )
    assert colour["Probability"] == 0.55
    assert rows.set_index("Trait").loc["Tabby", "Admin says"] == "no"


def test_accuracy_in_the_wild_per_trait_and_model(mongo_db, review) -> None:
    other = "6b0c00000000000000000002"
    ids = [
        add_prediction(mongo_db, label=BLUE, seed=40),
        add_prediction(mongo_db, label=BLUE, seed=41),
        add_prediction(mongo_db, label=RED_TABBY, seed=42),
        add_prediction(mongo_db, label=BLUE, seed=43, model_id=other),
        add_prediction(mongo_db, label=BLUE, seed=44),  # not reviewed: not counted
    ]
    review.accept(ids[:2], by="ann")
    review.set_label([ids[2]], {"colour": "cream"}, by="ann")  # colour wrong, rest right
    review.reject([ids[3]], by="ann")  # wrong, the right label unknown
    models = ModelRepository(mongo_db)

    frame = accuracy_in_the_wild(review.facts(), CAT_PHENOTYPE, {})
    table = frame.set_index(["model_id", "trait"])

    assert table.loc[(MODEL, "Whole label"), "reviewed"] == 3
    assert table.loc[(MODEL, "Whole label"), "accuracy"] == pytest.approx(2 / 3)
    assert table.loc[(MODEL, "Colour"), "correct"] == 2
    assert table.loc[(MODEL, "Colour"), "accuracy"] == pytest.approx(2 / 3)
    assert table.loc[(MODEL, "Tabby"), "accuracy"] == 1.0
    assert table.loc[(other, "Whole label"), "accuracy"] == 0.0
    assert (other, "Colour") not in table.index  # a plain rejection says nothing per trait
    assert set(frame["model"]) == {f"deleted model {MODEL}", f"deleted model {other}"}
    assert models.count() == 0
    assert list(frame[frame["model_id"] == MODEL]["trait"])[:2] == ["Whole label", "Cat"]


def test_accuracy_in_the_wild_is_empty_without_reviews(review, named) -> None:
    assert accuracy_in_the_wild(review.facts(), CAT_PHENOTYPE, {}).empty
