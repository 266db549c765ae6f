"""The breeder page's service against the embedded MongoDB and real (tiny) models."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from pymongo import MongoClient
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.errors import ServiceUnavailableError, UserError
from core.images import ImageError, decode_image
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.services.breeder import (
    DISPLAY_SIDE,
    active_model_id,
    build_correction,
    display_photo,
    identify_upload,
    percent,
    recent_gallery,
    result_view,
)
from core.services.predictions import (
    ActiveModelCache,
    FeedbackNotAllowedError,
    identify,
    load_model,
    record_feedback,
    store_prediction,
)
from tests.breeder_helpers import (
    add_fixed_model,
    cat_outputs,
    demo_photo,
    spread,
)


def feedback_of(prediction) -> bool | None:
    """The owner's answer (nx-27017 reads a boolean set by $set back as 0 or 1)."""
    return None if prediction.user_feedback is None else bool(prediction.user_feedback)


BREEDS = ("beagle", "corgi", "dalmatian", "poodle", "pug")


@pytest.fixture(scope="module")
def trained(trained_db: Database):
    return ActiveModelCache(ModelRepository(trained_db)).get()


def fixed(database: Database, outputs, **kwargs):
    add_fixed_model(database, outputs, **kwargs)
    return ActiveModelCache(ModelRepository(database)).get()


def png_bytes(size: tuple[int, int], colour=(90, 110, 150)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


# ----- identify_upload with the trained model --------------------------------------------


@pytest.mark.slow
def test_identify_upload_stores_the_prediction_with_the_photo(trained_db, trained) -> None:
    predictions = PredictionRepository(trained_db)
    photo = demo_photo(0)
    steps: list[str] = []

    found = identify_upload(
        trained, predictions, photo, "tom.jpg", keep_photo=True, on_step=steps.append
    )

    stored = predictions.get(found.prediction_id)
    assert stored.channel == "breeder_app" and stored.model_id == trained.record.id
    assert predictions.image_bytes(stored) == photo and stored.thumbnail_file is not None
    assert CAT_PHENOTYPE.validate(stored.label, partial=True) == stored.label
    assert stored.user_has_reviewed is False and stored.user_feedback is None
    assert steps == ["Reading your photo…", "Looking at your cat…", "Writing down the result…"]
    assert found.is_photo_kept and 0 < found.seconds < 30
    view = found.view
    if view.passes_gate:  # a 2-epoch model may say anything: check the shape, not the answer
        assert [row.title for row in view.traits] == ["Colour", "Tabby", "Pattern", "Colourpoint"]
        assert view.genotype_line and view.name.startswith(stored.label["colour"])
    else:
        assert view.traits == [] and view.name == "not a cat"


@pytest.mark.slow
def test_identify_upload_without_consent_keeps_no_photo(trained_db, trained) -> None:
    predictions = PredictionRepository(trained_db)

    found = identify_upload(trained, predictions, demo_photo(1), "a.jpg", keep_photo=False)

    stored = predictions.get(found.prediction_id)
    assert stored.has_image is False and stored.thumbnail_file is None
    assert predictions.thumbnail_bytes(stored) is None
    assert found.is_photo_kept is False and found.photo  # still shown to its owner


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"just some words, not a picture", "is not an image (a text file)"),
        (demo_photo(2)[:600], "truncated or corrupt"),
        (png_bytes((20, 20)), "is only 20x20 pixels"),
        (b"\xff\xd8" + b"0" * 3000, "not an image"),
    ],
)
def test_a_bad_file_gets_one_sentence_and_stores_nothing(
    trained_db, trained, data: bytes, message: str
) -> None:
    predictions = PredictionRepository(trained_db)
    before = predictions.count()

    with pytest.raises(ImageError, match=re.escape(message)) as raised:
        identify_upload(trained, predictions, data, "upload.jpg", keep_photo=True)

    assert "'upload.jpg'" in str(raised.value) and str(raised.value).count("\n") == 0
    assert predictions.count() == before


@pytest.mark.slow
def test_a_file_over_the_limit_is_refused(trained_db, trained) -> None:
    with pytest.raises(ImageError, match="over the 1 KB limit"):
        identify_upload(
            trained,
            PredictionRepository(trained_db),
            demo_photo(0),
            "big.jpg",
            keep_photo=True,
            max_bytes=1024,
        )


@pytest.mark.slow
def test_recent_gallery_never_shows_photos_whose_owners_said_no(trained_db, trained) -> None:
    predictions = PredictionRepository(trained_db)
    kept = identify_upload(trained, predictions, demo_photo(3), "k.jpg", keep_photo=True)
    private = identify_upload(trained, predictions, demo_photo(4), "p.jpg", keep_photo=False)
    record_feedback(
        predictions,
        CAT_PHENOTYPE,
        kept.prediction_id,
        is_correct=True,
        feedback_secret=kept.feedback_secret,
    )

    items = recent_gallery(predictions, CAT_PHENOTYPE)

    ids = [item.prediction_id for item in items]
    assert kept.prediction_id in ids and private.prediction_id not in ids
    newest = items[ids.index(kept.prediction_id)]
    assert newest.feedback == "confirmed by its owner"
    assert Image.open(io.BytesIO(newest.thumbnail)).size[0] <= 256
    assert len(recent_gallery(predictions, CAT_PHENOTYPE, limit=1)) <= 1


# ----- views from models whose outputs we choose ------------------------------------------


def test_a_confident_blue_bicolour_is_named_and_explained(mongo_db: Database) -> None:
    loaded = fixed(mongo_db, cat_outputs(colour="blue", colour_p=0.9, pattern="bicolour"))
    found = identify_upload(
        loaded, PredictionRepository(mongo_db), demo_photo(0), "b.jpg", keep_photo=True
    )

    view = found.view
    assert view.passes_gate and view.name == "blue bicolour"
    assert view.headline == "Probably a blue bicolour" and view.not_sure == []
    assert view.genotype_line == "B- dd aa Ss C-"
    rows = {row.title: row for row in view.traits}
    assert [(t, r.value) for t, r in rows.items()] == [
        ("Colour", "blue"),
        ("Tabby", "no"),
        ("Pattern", "bicolour"),
        ("Colourpoint", "no"),
    ]
    assert rows["Colour"].probability == pytest.approx(0.9, abs=1e-3)
    assert rows["Tabby"].probability == pytest.approx(0.9, abs=1e-3)
    assert rows["Colour"].genotype == "B- dd" and "dilute black" in rows["Colour"].explanation
    assert rows["Colour"].alternatives[0][0] != "blue" and len(rows["Colour"].alternatives) == 3
    assert view.flags == []


def test_a_photo_that_is_probably_not_a_cat_gets_no_coat(mongo_db: Database) -> None:
    loaded = fixed(mongo_db, cat_outputs(is_cat=0.08))
    predictions = PredictionRepository(mongo_db)
    found = identify_upload(loaded, predictions, demo_photo(0, cat=False), "g.jpg", keep_photo=True)

    view = found.view
    assert view.passes_gate is False and view.traits == [] and view.genotype_line == ""
    assert view.headline == "This does not look like a cat"
    assert view.gate_probability == pytest.approx(0.92, abs=1e-3)
    assert predictions.get(found.prediction_id).label == {"is_cat": False}  # no "blue self"


def test_unsure_traits_are_said_and_give_question_marks(mongo_db: Database) -> None:
    outputs = cat_outputs(colour="lilac", colour_p=0.42, pattern="van", pattern_p=0.9)
    loaded = fixed(mongo_db, outputs, thresholds={"colour": 0.6, "pattern": 0.6})
    predictions = PredictionRepository(mongo_db)

    found = identify_upload(loaded, predictions, demo_photo(0), "u.jpg", keep_photo=True)

    view = found.view
    assert view.not_sure == ["Colour"] and view.genotype_line == "? aa SS C-"
    colour = view.traits[0]
    assert colour.is_unsure and colour.value == "lilac" and colour.genotype == "?"
    assert predictions.get(found.prediction_id).unsure == ["colour"]


def test_genetically_impossible_white_van_is_flagged(mongo_db: Database) -> None:
    loaded = fixed(mongo_db, cat_outputs(colour="white", pattern="van", is_pointed=0.8))
    view = identify_upload(
        loaded, PredictionRepository(mongo_db), demo_photo(0), "w.jpg", keep_photo=True
    ).view
    assert view.name == "white" and view.genotype_line == "W-"
    assert [flag.kind for flag in view.flags] == ["ruled_out", "ruled_out"]


def test_dog_schema_shows_the_breed_and_its_runners_up(mongo_db: Database) -> None:
    schema = DOG_BREED.with_values("breed", BREEDS)
    loaded = fixed(mongo_db, {"breed": spread("corgi", 0.7, BREEDS)}, schema=schema)

    view = identify_upload(
        loaded, PredictionRepository(mongo_db), demo_photo(0), "d.jpg", keep_photo=True
    ).view

    assert view.subject == "dog" and view.passes_gate and view.name == "corgi"
    assert view.headline == "Probably a corgi" and view.genotype_line == ""
    (breed,) = view.traits
    assert breed.title == "Breed" and breed.probability == pytest.approx(0.7, abs=1e-3)
    assert [value for value, _ in breed.alternatives][:1] == ["beagle"]


def test_result_view_of_a_direct_prediction_matches_identify_upload(mongo_db) -> None:
    loaded = fixed(mongo_db, cat_outputs(colour="red", is_tabby=0.9, pattern="self"))
    result = identify(loaded, decode_image(demo_photo(0)))
    view = result_view(result, loaded.record.schema)
    assert view.name == "red tabby" and view.genotype_line == "X^O D- ss C-"


# ----- the photo shown ------------------------------------------------------------------


@pytest.mark.parametrize("size", [(3000, 4000), (4000, 1000), (300, 200)])
def test_display_photo_keeps_the_aspect_ratio(size: tuple[int, int]) -> None:
    data, shown = display_photo(Image.new("RGB", size, (200, 120, 40)))
    image = Image.open(io.BytesIO(data))
    assert image.size == shown
    assert abs(shown[0] / shown[1] - size[0] / size[1]) < 0.01
    assert max(shown) == min(DISPLAY_SIDE, max(size))


def test_percent_never_claims_certainty() -> None:
    assert [percent(p) for p in (0.999, 0.92, 0.005, 0.5)] == [">99%", "92%", "<1%", "50%"]


# ----- feedback -----------------------------------------------------------------------------


@pytest.fixture
def stored_blue(mongo_db: Database) -> tuple[PredictionRepository, str, str]:
    """The repository, the prediction id and its feedback secret."""
    loaded = fixed(mongo_db, cat_outputs(colour="blue", pattern="bicolour"))
    predictions = PredictionRepository(mongo_db)
    found = identify_upload(loaded, predictions, demo_photo(0), "b.jpg", keep_photo=True)
    return predictions, found.prediction_id, found.feedback_secret


def test_yes_is_stored_on_the_prediction(stored_blue) -> None:
    predictions, prediction_id, secret = stored_blue
    record_feedback(
        predictions, CAT_PHENOTYPE, prediction_id, is_correct=True, feedback_secret=secret
    )
    stored = predictions.get(prediction_id)
    assert stored.user_has_reviewed and feedback_of(stored) is True
    assert stored.user_correction is None


def test_no_with_a_correction_stores_just_the_wrong_traits(stored_blue) -> None:
    predictions, prediction_id, secret = stored_blue
    label = predictions.get(prediction_id).label
    chosen = {"is_cat": None, "colour": "lilac", "is_tabby": "no", "pattern": None}
    correction = build_correction(CAT_PHENOTYPE, label, chosen)
    record_feedback(
        predictions, CAT_PHENOTYPE, prediction_id, is_correct=False, feedback_secret=secret
    )
    record_feedback(
        predictions,
        CAT_PHENOTYPE,
        prediction_id,
        is_correct=False,
        feedback_secret=secret,
        correction=correction,
    )

    stored = predictions.get(prediction_id)
    assert feedback_of(stored) is False and stored.user_correction == {"colour": "lilac"}
    assert predictions.count() == 1  # a second answer never adds a record


def test_feedback_for_an_unknown_prediction_says_so(mongo_db: Database) -> None:
    with pytest.raises(UserError, match="No prediction with id"):
        record_feedback(
            PredictionRepository(mongo_db),
            CAT_PHENOTYPE,
            "0123456789abcdef01234567",
            is_correct=True,
        )
    with pytest.raises(UserError, match="not a valid prediction id"):
        record_feedback(PredictionRepository(mongo_db), CAT_PHENOTYPE, "nope", is_correct=True)


def test_feedback_needs_the_secret_given_with_the_prediction(stored_blue, mongo_db) -> None:
    predictions, prediction_id, secret = stored_blue

    for guess in (None, "", secret[:-1], "x" * len(secret)):
        with pytest.raises(FeedbackNotAllowedError, match="feedback_secret"):
            record_feedback(
                predictions, CAT_PHENOTYPE, prediction_id, is_correct=False, feedback_secret=guess
            )

    assert predictions.get(prediction_id).user_has_reviewed is False
    stored = mongo_db["predictions"].find_one({})  # the secret itself is never stored
    assert secret not in str(stored) and stored["feedback_secret_sha256"]


def test_a_photo_its_owner_said_no_to_leaves_nothing_derived_from_it(mongo_db) -> None:
    loaded = fixed(mongo_db, cat_outputs(colour="blue"))
    predictions = PredictionRepository(mongo_db)
    found = identify_upload(loaded, predictions, demo_photo(0), "secret.jpg", keep_photo=False)

    stored = mongo_db["predictions"].find_one({})
    assert stored["sha256"] is None and stored["image"] is None and stored["thumbnail"] is None
    assert "secret.jpg" not in str(stored)
    assert "fs.files" not in mongo_db.list_collection_names()  # no photo, no thumbnail
    assert stored["label"]["colour"] == "blue" and stored["probabilities"]["colour"]
    assert predictions.get(found.prediction_id).sha256 == ""


def test_recent_gallery_never_shows_photos_sent_to_the_api(mongo_db: Database) -> None:
    loaded = fixed(mongo_db, cat_outputs(colour="blue"))
    predictions = PredictionRepository(mongo_db)
    image = decode_image(demo_photo(1), "api.jpg")
    store_prediction(
        predictions, loaded, image, identify(loaded, image), channel="api", keep_photo=True
    )
    page = identify_upload(loaded, predictions, demo_photo(2), "page.jpg", keep_photo=True)

    assert [item.prediction_id for item in recent_gallery(predictions, CAT_PHENOTYPE)] == [
        page.prediction_id
    ]


CAT = {"is_cat": True, "colour": "blue", "is_tabby": False, "pattern": "self", "is_pointed": False}


@pytest.mark.parametrize(
    ("predicted", "chosen", "correction"),
    [
        (CAT, {"colour": "blue", "pattern": None}, {}),
        (CAT, {"colour": "cream", "is_pointed": "yes"}, {"colour": "cream", "is_pointed": True}),
        (CAT, {"is_cat": "no", "colour": "red"}, {"is_cat": False}),
        ({"is_cat": False}, {"is_cat": "yes"}, {"is_cat": True}),
        ({"is_cat": False}, {"colour": "red"}, {"is_cat": True, "colour": "red"}),
        ({"is_cat": False}, {"is_cat": "", "colour": None}, {}),
    ],
)
def test_build_correction_keeps_just_what_changed(predicted, chosen, correction) -> None:
    assert build_correction(CAT_PHENOTYPE, predicted, chosen) == correction


def test_build_correction_refuses_an_unknown_value() -> None:
    with pytest.raises(UserError, match="Colour 'purple' is not known"):
        build_correction(CAT_PHENOTYPE, CAT, {"colour": "purple"})


# ----- readiness and outages ----------------------------------------------------------------


def test_no_active_model_reads_as_none(mongo_db: Database) -> None:
    assert active_model_id(ModelRepository(mongo_db)) is None
    model_id = add_fixed_model(mongo_db, cat_outputs())
    assert active_model_id(ModelRepository(mongo_db)) == model_id


def test_a_newly_activated_model_is_noticed_by_its_id(mongo_db: Database) -> None:
    first = add_fixed_model(mongo_db, cat_outputs(colour="blue"))
    second = add_fixed_model(mongo_db, cat_outputs(colour="cream"), activate=False)
    models = ModelRepository(mongo_db)
    assert active_model_id(models) == first
    models.activate(second)
    assert active_model_id(models) == second
    loaded = load_model(models, models.get(second))
    assert identify(loaded, decode_image(demo_photo(0))).label["colour"] == "cream"


def test_a_database_that_does_not_answer_is_a_clear_error(tmp_path: Path) -> None:
    from core.config import free_port

    with MongoClient(f"mongodb://127.0.0.1:{free_port()}", serverSelectionTimeoutMS=300) as dead:
        database = dead["nothing_here"]
        with pytest.raises(ServiceUnavailableError, match="The database did not answer"):
            active_model_id(ModelRepository(database))
        with pytest.raises(ServiceUnavailableError, match="please try again in a minute"):
            recent_gallery(PredictionRepository(database), CAT_PHENOTYPE)
