"""The breeder page under AppTest, against the embedded MongoDB and real (tiny) models.

AppTest drives `file_uploader` and `camera_input` with bytes (streamlit 1.67), so every flow
goes through the page's own widgets: no upload handling is called behind its back.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.config import Settings, free_port
from core.db.models import ModelRepository
from core.db.predictions import Prediction, PredictionRepository
from core.labels import DOG_BREED
from tests.breeder_helpers import (
    add_fixed_model,
    breeder_app,
    breeder_env,
    cat_outputs,
    demo_photo,
    spread,
    texts,
)

JPEG = "image/jpeg"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, settings: Settings, mongo_db: Database):
    """A function (**env) -> the page pointed at this test's database, run once."""

    def open_page(**env: str) -> AppTest:
        breeder_env(monkeypatch, settings, **env)
        return breeder_app()

    return open_page


def upload(at: AppTest, data: bytes, name: str = "tom.jpg", mime: str = JPEG) -> AppTest:
    at.file_uploader[0].set_value((name, data, mime))
    return at.run()


def click(at: AppTest, label: str) -> AppTest:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0].click().run()


def stored(database: Database) -> list[Prediction]:
    return PredictionRepository(database).recent(100)


def feedback_of(prediction: Prediction) -> bool | None:
    """The owner's answer (nx-27017 reads a boolean set by $set back as 0 or 1)."""
    return None if prediction.user_feedback is None else bool(prediction.user_feedback)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# ----- before any upload ---------------------------------------------------------------------


def test_welcome_says_what_it_does_and_for_which_cats(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = page()

    assert_no_exception(at)
    shown = texts(at)
    assert at.title[0].value == "Cat Identifier"
    assert "breeder words" in shown and "kitten-colour calculator" in shown
    assert "British Shorthairs older than 8 weeks" in shown
    assert at.file_uploader[0].label == "Choose a photo of your cat"
    assert set(at.file_uploader[0].allowed_type) >= {".jpg", ".jpeg", ".png", ".webp", ".tiff"}


def test_keep_photo_is_off_by_default_and_stated_plainly(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = page()
    (keep,) = at.checkbox
    assert keep.label == "Keep my photo to help improve the model" and keep.value is False


def test_a_photo_sent_without_ticking_the_box_is_not_kept(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = upload(page(), demo_photo(0))

    assert_no_exception(at)
    (prediction,) = stored(mongo_db)
    assert not prediction.has_image and prediction.thumbnail_file is None
    assert prediction.sha256 == ""  # not even a fingerprint of the photo
    assert "Your photo was not kept; only the result is stored." in texts(at)


def test_no_model_yet_says_not_ready_instead_of_an_error(page) -> None:
    at = page()
    assert_no_exception(at)
    assert "not ready yet" in at.info[0].value and not at.error
    assert not at.file_uploader  # nothing to upload to yet


def test_a_database_that_is_down_gets_a_clear_message(page) -> None:
    at = page(MONGO_URI=f"mongodb://127.0.0.1:{free_port()}")
    assert_no_exception(at)
    assert "cannot reach its database" in at.error[0].value
    assert "does not answer" not in texts(at)  # the detail names the host: server log only


def test_a_bad_setting_is_one_sentence(page) -> None:
    at = page(LABEL_SCHEMA="horses")
    assert_no_exception(at)
    assert at.error[0].value.startswith("The identifier is not set up correctly yet")


# ----- the result ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_photo_gets_a_stored_result_from_the_trained_model(
    monkeypatch, settings, trained_db: Database
) -> None:
    module_settings = Settings(
        mongo_uri=settings.mongo_uri, mongo_db=trained_db.name, data_dir=settings.data_dir
    )
    breeder_env(monkeypatch, module_settings)
    before = len(stored(trained_db))
    at = breeder_app()
    at.checkbox[0].check().run()  # the owner lets us keep the photo
    at = upload(at, demo_photo(0))

    assert_no_exception(at)
    assert not at.error and len(at.image) == 1  # the photo, beside the result
    (prediction,) = stored(trained_db)[: len(stored(trained_db)) - before]
    assert prediction.has_image and prediction.channel == "breeder_app"
    shown = texts(at)
    if prediction.label["is_cat"]:  # a 2-epoch model may say anything: check the page's shape
        assert [p.text.split(":**")[0] for p in at.get("progress")] == [
            "**Colour",
            "**Tabby",
            "**Pattern",
            "**Colourpoint",
        ]
        assert "For breeders" in shown and at.code[0].value
    else:
        assert "This does not look like a cat" in shown and not at.code
    assert "Is this right?" in shown


def test_every_trait_is_shown_with_its_confidence_and_genotype(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs(colour="blue", is_tabby=0.92, pattern="bicolour"))
    at = page()
    at.checkbox[0].check().run()
    at = upload(at, demo_photo(0))

    assert_no_exception(at)
    assert at.subheader[0].value == "Blue tabby bicolour"
    assert [p.text for p in at.get("progress")] == [
        "**Colour:** blue · 90%",
        "**Tabby:** yes · 92%",
        "**Pattern:** bicolour · 85%",
        "**Colourpoint:** no · 95%",
    ]
    shown = texts(at)
    assert "Other colours it could be: black 6%" in shown
    assert at.code[0].value == "B- dd A- Ss C-"
    assert "**Colour** — Blue (B- dd): dilute black" in shown
    assert "**Colourpoint** — Not colourpoint (C-)" in shown
    assert "Your photo is kept to help improve the model." in shown


def test_a_photo_that_is_probably_not_a_cat_gets_a_clear_message(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs(is_cat=0.05))
    at = upload(page(), demo_photo(0, cat=False), "gorilla.jpg")

    assert_no_exception(at)
    shown = texts(at)
    assert at.subheader[0].value == "This does not look like a cat"
    assert "95% sure there is no cat in this photo" in shown
    assert not at.get("progress") and not at.code and "blue" not in shown.lower()
    assert stored(mongo_db)[0].label == {"is_cat": False}


def test_unsure_traits_say_not_sure(page, mongo_db) -> None:
    outputs = cat_outputs(colour="lilac", colour_p=0.45, pattern="van", pattern_p=0.9)
    add_fixed_model(mongo_db, outputs, thresholds={"colour": 0.6})
    at = upload(page(), demo_photo(0))

    assert_no_exception(at)
    shown = texts(at)
    assert "**Colour:** not sure (maybe lilac) · 45%" in shown
    assert "Not sure about: colour" in shown
    assert at.code[0].value == "? aa SS C-"
    assert "**Colour** — Not sure from this photo (maybe lilac)" in shown


def test_genetically_odd_results_are_flagged(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs(colour="cinnamon", pattern="van", is_pointed=0.9))
    at = upload(page(), demo_photo(0))
    assert_no_exception(at)
    flags = " ".join(info.value for info in at.info)
    assert "Cinnamon is rare in British Shorthairs" in flags
    assert "A van colourpoint is unusual" in flags


def test_dog_schema_shows_the_breed_and_its_runners_up(page, mongo_db) -> None:
    breeds = ("beagle", "corgi", "dalmatian", "poodle")
    schema = DOG_BREED.with_values("breed", breeds)
    add_fixed_model(mongo_db, {"breed": spread("corgi", 0.8, breeds)}, schema=schema)
    at = upload(page(LABEL_SCHEMA="dog_breed"), demo_photo(0), "rex.jpg")

    assert_no_exception(at)
    assert at.title[0].value == "Dog Breed Identifier"
    assert at.subheader[0].value == "Corgi"
    assert [p.text for p in at.get("progress")] == ["**Breed:** corgi · 80%"]
    assert "Other breeds it could be: beagle 12%, dalmatian 4%, poodle 4%" in texts(at)
    assert not at.code  # no genotype for dogs


def test_camera_photo_is_identified_like_an_upload(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = page()
    at.segmented_control[0].set_value(":material/photo_camera: Take a photo").run()
    at.camera_input[0].set_value(("photo.jpg", demo_photo(1), JPEG)).run()

    assert_no_exception(at)
    assert at.subheader[0].value == "Blue bicolour" and len(stored(mongo_db)) == 1


# ----- bad uploads and privacy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.jpg", b"dear diary, today the cat", "File 'notes.jpg' is not an image (a text"),
        ("half.jpg", demo_photo(2)[:700], "Image 'half.jpg' is truncated or corrupt"),
        ("empty.png", b"", "Image 'empty.png' is empty (0 bytes); upload the file again."),
    ],
)
def test_a_bad_file_gets_one_clear_sentence_and_nothing_is_stored(
    page, mongo_db, name: str, data: bytes, message: str
) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = upload(page(), data, name)

    assert_no_exception(at)
    (error,) = at.error
    assert error.value.startswith(message) and "\n" not in error.value
    assert not at.get("progress") and stored(mongo_db) == []


def test_a_file_name_with_markdown_and_html_shows_literally(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    name = "**bold** <img src=x onerror=alert(1)> [link](http://x).jpg"
    at = upload(page(), b"not a photo", name)

    assert_no_exception(at)
    (error,) = at.error
    rendered = MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(error.value)
    assert name in html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert not re.search(r"<(strong|em|a|img)\b", rendered)
    assert stored(mongo_db) == []


def test_a_file_over_the_configured_limit_is_refused(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    big = demo_photo(0) + b"\0" * (1024 * 1024)  # a JPEG with junk after it, just over 1 MB
    at = upload(page(MAX_UPLOAD_MB="1"), big, "big.jpg")

    assert_no_exception(at)
    assert "over the 1 MB limit" in at.error[0].value and stored(mongo_db) == []


def test_unticked_keep_photo_stores_the_result_without_the_photo(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = page()
    at.checkbox[0].uncheck().run()
    at = upload(at, demo_photo(0))

    assert_no_exception(at)
    (prediction,) = stored(mongo_db)
    assert not prediction.has_image and prediction.thumbnail_file is None
    assert "Your photo was not kept; only the result is stored." in texts(at)
    assert len(at.image) == 1  # its owner still sees it
    assert at.checkbox[0].disabled  # cannot change once the result is stored


def test_reruns_do_not_identify_the_same_photo_again(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = upload(page(), demo_photo(0))
    at.run()
    at.run()
    assert len(stored(mongo_db)) == 1


# ----- feedback -----------------------------------------------------------------------------


def test_yes_is_stored_once_and_thanked(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = click(upload(page(), demo_photo(0)), "Yes, that's right")

    assert_no_exception(at)
    assert "Thank you!" in at.success[0].value
    (prediction,) = stored(mongo_db)
    assert prediction.user_has_reviewed and feedback_of(prediction) is True
    assert prediction.user_correction is None
    assert not [b for b in at.button if b.label.startswith(("Yes", "No"))]  # no second click
    at.run()
    assert len(stored(mongo_db)) == 1


def test_no_with_a_correction_stores_just_the_wrong_traits(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs(colour="blue", pattern="bicolour"))
    at = click(upload(page(), demo_photo(0)), "No, something is wrong")

    assert_no_exception(at)
    assert feedback_of(stored(mongo_db)[0]) is False  # the "no" counts even without details
    labels = [box.label for box in at.selectbox]
    assert labels == ["Is it a cat?", "Colour", "Tabby", "Pattern", "Colourpoint"]
    at.selectbox(key=at.selectbox[1].key).select("lilac")
    at.selectbox(key=at.selectbox[3].key).select("bicolour")  # the same as predicted
    at.form_submit_button[0].click().run()

    assert_no_exception(at)
    assert "Thank you!" in at.success[0].value
    (prediction,) = stored(mongo_db)
    assert feedback_of(prediction) is False and prediction.user_correction == {"colour": "lilac"}


def test_no_then_skip_keeps_the_no_without_a_correction(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = click(click(upload(page(), demo_photo(0)), "No, something is wrong"), "Skip")

    assert_no_exception(at)
    assert "Thank you!" in at.success[0].value
    (prediction,) = stored(mongo_db)
    assert feedback_of(prediction) is False and prediction.user_correction is None


def test_a_not_a_cat_result_can_be_corrected_to_a_cat(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs(is_cat=0.1))
    at = click(upload(page(), demo_photo(0)), "No, something is wrong")
    at.selectbox[1].select("red")
    at.form_submit_button[0].click().run()

    assert_no_exception(at)
    assert stored(mongo_db)[0].user_correction == {"is_cat": True, "colour": "red"}


def test_feedback_after_a_new_upload_goes_to_the_new_prediction(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = click(upload(page(), demo_photo(0)), "Yes, that's right")
    at = click(at, "Identify another cat")
    assert not at.get("progress") and at.file_uploader[0].value is None  # a fresh start
    at = click(upload(at, demo_photo(1), "second.jpg"), "No, something is wrong")

    first, second = sorted(stored(mongo_db), key=lambda p: p.created_at)
    assert feedback_of(first) is True and feedback_of(second) is False


# ----- the model and the gallery -----------------------------------------------------------


def test_a_newly_activated_model_is_used_without_a_restart(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs(colour="blue"))
    at = upload(page(), demo_photo(0))
    assert at.subheader[0].value == "Blue bicolour"

    cream = add_fixed_model(mongo_db, cat_outputs(colour="cream"))
    at = click(click(at, "Yes, that's right"), "Identify another cat")
    at = upload(at, demo_photo(1), "next.jpg")

    assert at.subheader[0].value == "Cream bicolour"
    assert stored(mongo_db)[0].model_id == cream == ModelRepository(mongo_db).active_id()


def test_recent_gallery_is_off_by_default(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = upload(page(), demo_photo(0))
    assert "Recent identifications" not in texts(at)


def test_recent_gallery_never_shows_photos_whose_owners_said_no(page, mongo_db) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    at = page(SHOW_RECENT_GALLERY="true")
    at.checkbox[0].check().run()
    at = click(upload(at, demo_photo(0)), "Yes, that's right")
    at = click(at, "Identify another cat")
    at.checkbox[0].uncheck().run()
    at = upload(at, demo_photo(1), "private.jpg")

    assert_no_exception(at)
    assert "Recent identifications" in texts(at)
    gallery_captions = [c.value for c in at.caption if " · " in c.value]
    assert gallery_captions == ["blue bicolour · confirmed by its owner"]
    assert len(at.image) == 2  # the private photo beside its result, one kept photo below


def test_page_source_is_thin() -> None:
    source = (Path(__file__).resolve().parents[2] / "breeder_app.py").read_text()
    for word in ("find(", "insert_one", "keras", "tensorflow", "decode_image"):
        assert word not in source
