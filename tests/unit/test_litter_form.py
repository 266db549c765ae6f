"""The breeder page's coat form and "known to carry": what a photo fills in, what is edited."""

from __future__ import annotations

import pytest

from core.errors import UserError
from core.litter.coats import coat_from_prediction, parse_coat_words
from core.litter.form import CHOICES, NOT_SURE, CoatForm
from core.services.litter import ParentSpec, plan_litter

PREDICTION = {
    "label": {
        "is_cat": True,
        "colour": "blue",
        "is_tabby": True,
        "pattern": "bicolour",
        "is_pointed": False,
    },
    "unsure": ["is_tabby"],
}


def test_a_prediction_fills_the_form_and_unsure_traits_stay_not_sure() -> None:
    form = CoatForm.from_coat(coat_from_prediction(PREDICTION, "sire"))

    assert form == CoatForm("blue", NOT_SURE, "bicolour", "full colour")
    assert form.to_coat("sire") == coat_from_prediction(PREDICTION, "sire")


@pytest.mark.parametrize(
    "words", ["blue tortie mackerel tabby van", "seal mink", "cream classic tabby", "white"]
)
def test_what_a_photo_cannot_tell_can_be_chosen_in_the_form(words: str) -> None:
    coat = parse_coat_words(words, "dam")

    form = CoatForm.from_coat(coat)

    assert all(getattr(form, name) in options for name, options in CHOICES.items())
    assert form.to_coat("dam").name() == coat.name()


def test_the_form_plans_like_the_same_words() -> None:
    form = CoatForm.from_choices({"colour": "blue tortie", "tabby": "no", "white": "no white"})
    form = CoatForm.from_choices({**vars(form), "points": "full colour"})

    by_form = plan_litter("black", ParentSpec(form))
    by_words = plan_litter("black", "blue tortie")

    assert by_form.rows == by_words.rows


def test_a_choice_the_form_does_not_offer_is_one_sentence() -> None:
    known = r"^The sire's colour 'tabby' is not known; use one of: not sure, black, blue,"
    with pytest.raises(UserError, match=known):
        plan_litter(ParentSpec(CoatForm(colour="tabby")), "blue")


def test_known_to_carry_is_a_carrier_lab_result() -> None:
    carries = plan_litter(ParentSpec("black", carries=("dilute",)), "blue")
    lab = plan_litter(ParentSpec("black", lab_results={"dilute": "carrier"}), "blue")

    assert carries.rows == lab.rows
    assert carries.sire.genotypes["D"] == {"Dd": 1.0}


def test_carrier_and_non_carrier_of_the_same_allele_is_refused() -> None:
    sire = ParentSpec("black", carries=("dilute",), lab_results={"dilute": "non-carrier"})

    with pytest.raises(UserError) as caught:
        plan_litter(sire, "blue")

    assert str(caught.value) == (
        "The sire is said to carry dilute, but its lab result says non-carrier; correct one of "
        "the two."
    )


def test_a_missing_parent_is_one_sentence() -> None:
    with pytest.raises(UserError, match=r"^No dam is given; choose a photo of it"):
        plan_litter("black", None)
