"""The identify API's JSON shapes and request checks, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import ObjectId

from core import genetics
from core.db.models import ModelRecord
from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED, LabelSchema
from core.ml.prediction import PredictionResult, TraitPrediction
from core.services.identify_json import identify_response, model_json
from core.services.identify_requests import (
    MissingApiKeyError,
    UploadTooLargeError,
    check_api_key,
    check_content_length,
    parse_feedback,
    parse_flag,
)

MB = 1024 * 1024


def record(schema: LabelSchema, **changes) -> ModelRecord:
    values = {
        "id": "6b0c2dd3e6f7cbd0849edfb4",
        "schema": schema,
        "backbone": "small_cnn",
        "image_size": 48,
        "resize_mode": "pad",
        "hyper_parameters": {"epochs": 2},
        "metrics": {t: {"val_accuracy": 0.5} for t in schema.trait_names},
        "confusion": {},
        "thresholds": {},
        "validation_image_ids": [],
        "training_set_size": 48,
        "training_started": datetime(2026, 11, 29, 13, 0, tzinfo=UTC),
        "training_ended": "2026-11-29 13:05:00.500000",  # how nx-27017 returns a $set date
        "is_active": True,
        "created_at": datetime(2026, 11, 29, 13, 5, tzinfo=UTC),
        "file_id": ObjectId(),
    }
    return ModelRecord(**{**values, **changes})


def yes_no(name: str, value: bool, probability: float, *, unsure: bool = False):
    other = round(1 - probability, 4)
    yes, no = (probability, other) if value else (other, probability)
    return TraitPrediction(
        name,
        value,
        probability,
        {"no": no, "yes": yes},
        unsure,
        [("no" if value else "yes", other)],
    )


def categorical(name: str, probabilities: dict[str, float], *, unsure: bool = False):
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    best, probability = ranked[0]
    return TraitPrediction(name, best, probability, probabilities, unsure, ranked[1:4])


def result(traits: list[TraitPrediction], passes_gate: bool | None, shown: list[str] | None = None):
    shown_traits = {t.trait: t for t in traits if shown is None or t.trait in shown}
    return PredictionResult(
        label={name: t.value for name, t in shown_traits.items()},
        traits=shown_traits,
        passes_gate=passes_gate,
        unsure=[name for name, t in shown_traits.items() if t.is_unsure],
        probabilities={t.trait: t.probabilities for t in traits},
    )


def blue_tabby_bicolour(*, colour_unsure: bool = False) -> PredictionResult:
    colours = dict.fromkeys(CAT_PHENOTYPE.trait("colour").values, 0.0)
    colours.update(blue=0.86, lilac=0.08, black=0.04, cream=0.01, white=0.01)
    return result(
        [
            yes_no("is_cat", True, 0.99),
            categorical("colour", colours, unsure=colour_unsure),
            yes_no("is_tabby", True, 0.91),
            categorical("pattern", {"self": 0.15, "bicolour": 0.78, "van": 0.07}),
            yes_no("is_pointed", False, 0.95),
        ],
        passes_gate=True,
    )


def test_cat_answer_speaks_breeder_words_and_details_every_trait() -> None:
    answer = identify_response(record(CAT_PHENOTYPE), blue_tabby_bicolour(), prediction_id="p1")

    assert answer["success"] is True and answer["prediction_id"] == "p1"
    assert answer["model_id"] == "6b0c2dd3e6f7cbd0849edfb4" and answer["schema"] == "cat_phenotype"
    assert answer["is_cat"] is True
    assert answer["name"] == "blue tabby bicolour" and answer["genotype"] == "B- dd A- Ss C-"
    assert answer["flags"] == [] and answer["unsure"] == []
    assert answer["label"] == {
        "is_cat": True,
        "colour": "blue",
        "is_tabby": True,
        "pattern": "bicolour",
        "is_pointed": False,
    }
    assert answer["traits"]["colour"] == {
        "title": "Colour",
        "value": "blue",
        "probability": 0.86,
        "unsure": False,
        "alternatives": [
            {"value": "lilac", "probability": 0.08},
            {"value": "black", "probability": 0.04},
            {"value": "cream", "probability": 0.01},
        ],
        "probabilities": answer["traits"]["colour"]["probabilities"],
    }
    assert answer["traits"]["is_pointed"]["value"] is False
    assert answer["traits"]["is_pointed"]["alternatives"] == [{"value": True, "probability": 0.05}]
    assert "predictions" not in answer


def test_an_unsure_colour_is_flagged_and_shows_in_the_genotype() -> None:
    prediction = blue_tabby_bicolour(colour_unsure=True)

    answer = identify_response(record(CAT_PHENOTYPE), prediction, prediction_id=None)

    assert answer["unsure"] == ["colour"] and answer["traits"]["colour"]["unsure"] is True
    assert answer["genotype"] == genetics.genotype(prediction.label, ["colour"]).line
    assert answer["genotype"].startswith("?")


def test_a_non_cat_answer_has_only_the_gate() -> None:
    not_cat = result([yes_no("is_cat", False, 0.93)], passes_gate=False)

    answer = identify_response(record(CAT_PHENOTYPE), not_cat, prediction_id=None)

    assert answer["is_cat"] is False and answer["label"] == {"is_cat": False}
    assert answer["name"] == "not a cat" and answer["genotype"] is None
    assert answer["flags"] == [] and list(answer["traits"]) == ["is_cat"]


def test_white_with_markings_carries_the_genetics_flags() -> None:
    colours = dict.fromkeys(CAT_PHENOTYPE.trait("colour").values, 0.0)
    colours["white"] = 1.0
    white_tabby = result(
        [
            yes_no("is_cat", True, 0.99),
            categorical("colour", colours),
            yes_no("is_tabby", True, 0.8),
            categorical("pattern", {"self": 0.9, "bicolour": 0.05, "van": 0.05}),
            yes_no("is_pointed", False, 0.9),
        ],
        passes_gate=True,
    )

    answer = identify_response(record(CAT_PHENOTYPE), white_tabby, prediction_id=None)

    assert answer["name"] == "white" and answer["genotype"] == "W-"
    assert [flag["kind"] for flag in answer["flags"]] == ["ruled_out"]
    assert "white cat shows no tabby markings" in answer["flags"][0]["message"]


def test_a_single_trait_schema_also_gets_the_breed_predictions_list() -> None:
    dogs = DOG_BREED.with_values("breed", ["beagle", "corgi", "pug"])
    breed = categorical("breed", {"beagle": 0.2, "corgi": 0.7, "pug": 0.1})

    answer = identify_response(record(dogs), result([breed], None), prediction_id="p2")

    assert answer["predictions"] == [
        {"breed": "corgi", "probability": 0.7},
        {"breed": "beagle", "probability": 0.2},
        {"breed": "pug", "probability": 0.1},
    ]
    assert "is_cat" not in answer
    assert answer["name"] == "corgi" and answer["genotype"] is None and answer["flags"] == []
    assert answer["label"] == {"breed": "corgi"} and answer["traits"]["breed"]["probability"] == 0.7


def test_model_json_gives_dates_as_iso_text_whatever_the_server_returned() -> None:
    described = model_json(record(CAT_PHENOTYPE))

    assert described["training_started"] == "2026-11-29T13:00:00+00:00"
    assert described["training_ended"] == "2026-11-29T13:05:00.500000+00:00"
    assert described["schema"]["name"] == "cat_phenotype" and described["mean_val_accuracy"] == 0.5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"correct": true}', (True, None)),
        (b'{"correct": false}', (False, None)),
        (b'{"correct": false, "correction": {}}', (False, None)),
        (b'{"correct": false, "correction": {"colour": " Blue "}}', (False, {"colour": "blue"})),
        (b'{"correct": false, "correction": {"is_cat": "no"}}', (False, {"is_cat": False})),
    ],
)
def test_feedback_bodies_that_are_accepted(body: bytes, expected: tuple) -> None:
    assert parse_feedback(body, CAT_PHENOTYPE) == expected


def test_feedback_refuses_bad_utf8() -> None:
    with pytest.raises(UserError, match=r"not valid JSON \(not UTF-8\)"):
        parse_feedback(b'{"correct": "\xff"}', CAT_PHENOTYPE)


def test_api_key_checks() -> None:
    check_api_key(None, None, None)  # no key configured: everything passes
    check_api_key("s3cret", "s3cret", None)
    check_api_key("s3cret", None, "Bearer s3cret")
    check_api_key("s3cret", None, "bearer  s3cret ")
    with pytest.raises(MissingApiKeyError, match="needs a key"):
        check_api_key("s3cret", None, "Basic czNjcmV0")
    with pytest.raises(MissingApiKeyError, match="needs a key"):
        check_api_key("s3cret", "", None)
    with pytest.raises(MissingApiKeyError, match="not valid"):
        check_api_key("s3cret", "s3cre", None)
    with pytest.raises(MissingApiKeyError, match="not valid"):
        check_api_key("s3cret", None, "Bearer nope")


def test_content_length_checks_name_the_size_and_the_limit() -> None:
    check_content_length(None, 20 * MB, 20 * MB)
    check_content_length(str(20 * MB), 20 * MB, 20 * MB)
    with pytest.raises(UploadTooLargeError) as caught:
        check_content_length(str(50 * MB), 20 * MB + 65536, 20 * MB)
    assert str(caught.value) == (
        "The upload is 50 MB, over the 20 MB limit (MAX_UPLOAD_MB); "
        "send a smaller or more compressed photo."
    )
    with pytest.raises(UserError, match="Content-Length 'lots' is not a number"):
        check_content_length("lots", MB, MB)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, True), ("", True), ("false", False), ("0", False), ("No", False), ("TRUE", True)],
)
def test_flags(raw: str | None, expected: bool) -> None:
    assert parse_flag("store", raw, default=True) is expected


def test_a_flag_that_is_not_yes_or_no_is_refused() -> None:
    with pytest.raises(UserError, match=r"store='later' is not a yes/no value"):
        parse_flag("store", "later", default=True)


def test_an_unfamiliar_photo_gets_the_sentence_even_where_the_gate_said_not_a_cat() -> None:
    from dataclasses import replace

    from core.services.breeder import result_view
    from core.services.predictions import unfamiliar_sentence

    gated_out = result([yes_no("is_cat", False, 0.51)], passes_gate=False)
    unfamiliar = replace(gated_out, is_unfamiliar=True, unfamiliarity=1.7, unsure=["is_cat"])

    view = result_view(unfamiliar, CAT_PHENOTYPE)
    assert view.is_unfamiliar and view.headline == unfamiliar_sentence(CAT_PHENOTYPE)
    assert view.passes_gate is False and view.traits == [] and view.name == ""
    answer = identify_response(record(CAT_PHENOTYPE), unfamiliar, prediction_id=None)
    assert answer["message"] == unfamiliar_sentence(CAT_PHENOTYPE) and answer["name"] is None
    assert answer["is_cat"] is False
    assert result_view(gated_out, CAT_PHENOTYPE).headline == "This does not look like a cat"
