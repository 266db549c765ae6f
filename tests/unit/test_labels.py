"""Label schemas: validation, partial labels, gates, folder names and flat records."""

import pytest

from core.errors import UserError
from core.labels import (
    CAT_PHENOTYPE,
    DOG_BREED,
    LabelSchema,
    folder_name_for,
    get_schema,
    label_from_folder_name,
)

BLUE_TABBY = {
    "is_cat": True,
    "colour": "blue",
    "is_tabby": True,
    "pattern": "bicolour",
    "is_pointed": False,
}


def test_complete_label_is_parsed_from_user_words() -> None:
    raw = {"is_cat": "yes", "colour": " Blue ", "is_tabby": "true", "pattern": "bicolour"}
    label = CAT_PHENOTYPE.validate({**raw, "is_pointed": "no"})
    assert label == BLUE_TABBY


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ({**BLUE_TABBY, "colour": "purple"}, "Colour 'purple' is not known"),
        ({**BLUE_TABBY, "eyes": "green"}, "Trait 'eyes' is not part of the cat_phenotype schema"),
        ({**BLUE_TABBY, "is_tabby": "maybe"}, "Tabby must be yes or no, not 'maybe'"),
        (
            {"is_cat": False, "colour": "blue"},
            "Colour cannot be set on an image whose is_cat is no",
        ),
        ({"is_cat": True, "colour": "blue"}, "misses Tabby, Pattern, Colourpoint"),
        ("blue", "must be a mapping"),
    ],
)
def test_bad_labels_are_refused_with_a_clear_message(label, message: str) -> None:
    with pytest.raises(UserError, match=message):
        CAT_PHENOTYPE.validate(label)


def test_non_cat_label_sets_only_the_gate() -> None:
    assert CAT_PHENOTYPE.validate({"is_cat": "no"}) == {"is_cat": False}
    assert CAT_PHENOTYPE.is_complete({"is_cat": False})
    assert CAT_PHENOTYPE.describe({"is_cat": False}) == "not cat"


def test_partial_label_merges_and_a_false_gate_clears_cat_traits() -> None:
    partial = CAT_PHENOTYPE.merge({"is_cat": True, "colour": "red"}, {"pattern": "van"})
    assert partial == {"is_cat": True, "colour": "red", "pattern": "van"}
    assert not CAT_PHENOTYPE.is_complete(partial)
    assert CAT_PHENOTYPE.merge(BLUE_TABBY, {"is_cat": False}) == {"is_cat": False}


def test_flat_record_round_trip_marks_unlabelled() -> None:
    flat = CAT_PHENOTYPE.to_flat(BLUE_TABBY)
    assert flat == {"is_unlabelled": False, **BLUE_TABBY}
    assert CAT_PHENOTYPE.from_flat(flat) == BLUE_TABBY
    assert CAT_PHENOTYPE.to_flat({})["is_unlabelled"] is True
    assert CAT_PHENOTYPE.to_flat({"is_cat": True, "colour": "red"})["is_unlabelled"] is True


def test_schema_document_round_trip_keeps_traits() -> None:
    dogs = DOG_BREED.with_values("breed", ["corgi", "beagle", "corgi"])
    for schema in (CAT_PHENOTYPE, dogs):
        assert LabelSchema.from_document(schema.to_document()) == schema
    assert dogs.trait("breed").values == ("beagle", "corgi")


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("blue", {"colour": "blue", "is_tabby": False, "pattern": "self", "is_pointed": False}),
        ("Red_Tabby_Van", {"colour": "red", "is_tabby": True, "pattern": "van"}),
        ("lilac_bicolour_pointed", {"colour": "lilac", "pattern": "bicolour", "is_pointed": True}),
        ("fawn-tabby", {"colour": "fawn", "is_tabby": True}),
    ],
)
def test_folder_names_become_complete_labels(folder: str, expected: dict) -> None:
    label = label_from_folder_name(CAT_PHENOTYPE, folder)
    assert CAT_PHENOTYPE.is_complete(label)
    assert label["is_cat"] is True
    assert {key: label[key] for key in expected} == expected
    assert label_from_folder_name(CAT_PHENOTYPE, folder_name_for(CAT_PHENOTYPE, label)) == label


def test_not_cat_and_dog_folders() -> None:
    assert label_from_folder_name(CAT_PHENOTYPE, "not_cat") == {"is_cat": False}
    assert label_from_folder_name(DOG_BREED, "golden_retriever") == {"breed": "golden retriever"}


@pytest.mark.parametrize(
    ("folder", "message"),
    [("holiday", "does not start with a colour"), ("blue_spotted", "unknown word 'spotted'")],
)
def test_folders_that_are_not_labels_are_refused(folder: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        label_from_folder_name(CAT_PHENOTYPE, folder)


def test_unknown_schema_lists_the_presets() -> None:
    with pytest.raises(UserError, match="cat_phenotype, dog_breed"):
        get_schema("horse_colour")


def test_every_cat_value_of_the_design_is_in_the_preset() -> None:
    colours = CAT_PHENOTYPE.trait("colour").values
    assert {
        "black",
        "blue",
        "chocolate",
        "lilac",
        "cinnamon",
        "fawn",
        "red",
        "cream",
        "white",
    } == set(colours)
    assert CAT_PHENOTYPE.trait("pattern").values == ("self", "bicolour", "van")
    assert CAT_PHENOTYPE.gate.name == "is_cat"
