"""The breeder page's litter planner under AppTest: words, a parent's photo, and bad input.

Real embedded MongoDB and real (fixed-output) Keras models, as in test_breeder_app.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from breeder_litter import GENOTYPE, WORDS
from core.config import Settings, free_port
from core.db.predictions import PredictionRepository
from tests.breeder_helpers import (
    add_fixed_model,
    breeder_app,
    breeder_env,
    cat_outputs,
    demo_photo,
    texts,
)

JPEG = "image/jpeg"
XXY_NOTE = "a tortie tom needs two X chromosomes (XXY)"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, settings: Settings, mongo_db: Database):
    """A function (model outputs) -> the breeder page on this test's database, run once, with
    an active fixed model that always says those outputs (by default `cat_outputs()`)."""

    def open_page(outputs: Mapping[str, Any] | None = None) -> AppTest:
        add_fixed_model(mongo_db, cat_outputs() if outputs is None else outputs)
        breeder_env(monkeypatch, settings)
        return breeder_app()

    return open_page


def describe(at: AppTest, role: str, *, words: str = "", genotype: str = "") -> AppTest:
    """Give a parent in words or by genotype, through the page's own widgets."""
    at.segmented_control(key=f"litter_{role}_mode").set_value(GENOTYPE if genotype else WORDS)
    at.run()
    if genotype:
        at.text_input(key=f"litter_{role}_genotype").input(genotype)
    else:
        at.text_input(key=f"litter_{role}_words").input(words)
    return at.run()


def plan(at: AppTest) -> AppTest:
    at.button(key="litter_plan_button").click()
    return at.run()


def tables(at: AppTest) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The male and the female kitten tables, as shown."""
    males, females = (frame.value for frame in at.dataframe)
    return males, females


def share(table: pd.DataFrame, first_words: tuple[str, ...]) -> float:
    """The odds of a kitten whose name starts with one of these words."""
    return float(table.loc[table["kitten"].str.startswith(first_words), "probability"].sum())


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_words_give_tables_by_sex_the_chart_and_the_notes(page, mongo_db) -> None:
    at = page()
    describe(at, "sire", words="black")
    describe(at, "dam", words="tortie")
    at = plan(at)

    assert_no_exception(at)
    assert not at.error
    males, females = tables(at)
    assert males["probability"].sum() == pytest.approx(1)
    assert females["probability"].sum() == pytest.approx(1)
    assert share(males, ("red", "cream")) == pytest.approx(0.5)
    assert not males["kitten"].str.contains("tortie").any()
    assert share(females, tuple(f"{c} tortie" for c in ("black", "blue", "chocolate", "lilac")))
    assert "ems" not in males.columns
    shown = texts(at)
    assert "Kittens of a black self sire and a black tortie dam" in shown
    assert XXY_NOTE in shown and "Assumption: " in shown
    assert "the silver inhibitor (silver, smoke): no DNA test" in shown
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")

    at.toggle(key="litter_ems").set_value(True).run()
    males, _ = tables(at)
    assert set(males.loc[males["kitten"] == "red self", "ems"]) == {"d"}


def test_known_cross_by_genotype_gives_the_textbook_numbers(page, mongo_db) -> None:
    at = page()
    describe(at, "sire", genotype="X^o Y BB DD aa ss CC ww")
    describe(at, "dam", genotype="X^O X^o BB DD aa ss CC ww")
    at = plan(at)

    assert_no_exception(at)
    males, females = tables(at)
    assert dict(zip(males["kitten"], males["probability"], strict=True)) == {
        "black self": pytest.approx(0.5),
        "red self": pytest.approx(0.5),
    }
    assert dict(zip(females["kitten"], females["probability"], strict=True)) == {
        "black self": pytest.approx(0.5),
        "black tortie": pytest.approx(0.5),
    }


def test_carries_and_lab_results_narrow_the_odds(page, mongo_db) -> None:
    at = page()
    describe(at, "sire", words="black")
    describe(at, "dam", words="black")
    for role in ("sire", "dam"):
        at.multiselect(key=f"litter_{role}_carries").select("chocolate")
        at.segmented_control(key=f"litter_{role}_lab_dilute").set_value("non-carrier")
    at = plan(at)

    assert_no_exception(at)
    males, _ = tables(at)
    assert share(males, ("chocolate",)) == pytest.approx(0.25)
    assert share(males, ("blue", "lilac", "fawn")) == 0


def test_bad_input_is_one_sentence_and_changes_nothing(page, mongo_db) -> None:
    at = page()
    describe(at, "sire", words="tortie")
    describe(at, "dam", words="blue")
    at = plan(at)

    assert_no_exception(at)
    (error,) = at.error
    assert error.value.startswith("The sire is a tortie, but a tortie tom is an XXY rarity")
    assert not at.dataframe

    describe(at, "sire", words="blue")
    at = plan(at)
    assert not at.error
    before = [frame.value for frame in at.dataframe]
    describe(at, "sire", words="blue stripey")
    at = plan(at)

    assert_no_exception(at)
    (error,) = at.error
    assert error.value == (
        "The sire's 'blue stripey' has the word 'stripey', which is not a coat word we know; "
        "use words like black, blue tabby, seal point, tortie, bicolour or 'carries chocolate'."
    )
    after = [frame.value for frame in at.dataframe]
    assert len(after) == 2 and all(a.equals(b) for a, b in zip(after, before, strict=True))
    assert "Kittens of a blue self sire and a blue self dam" in texts(at)


def test_a_parent_photo_fills_the_form_and_every_value_stays_editable(page, mongo_db) -> None:
    at = page(cat_outputs(colour="blue", is_tabby=0.1, pattern="bicolour"))
    at.file_uploader(key="litter_sire_upload").set_value(("tom.jpg", demo_photo(0), JPEG))
    at.run()

    assert_no_exception(at)
    form = {name: at.selectbox(key=f"litter_sire_{name}").value for name in ("colour", "tabby")}
    form |= {name: at.selectbox(key=f"litter_sire_{name}").value for name in ("white", "points")}
    assert form == {"colour": "blue", "tabby": "no", "white": "bicolour", "points": "full colour"}
    at.selectbox(key="litter_sire_colour").select("black")
    at.selectbox(key="litter_sire_tabby").select("classic")
    describe(at, "dam", words="blue")
    at = plan(at)

    assert_no_exception(at)
    assert "Kittens of a black classic tabby bicolour sire and a blue self dam" in texts(at)
    assert PredictionRepository(mongo_db).recent(5) == []  # a parent's photo is not kept


def test_a_parent_photo_that_is_not_a_cat_is_refused_in_one_sentence(page, mongo_db) -> None:
    at = page(cat_outputs(is_cat=0.05))
    at.file_uploader(key="litter_dam_upload").set_value(("queen.jpg", demo_photo(0), JPEG))
    at.run()

    assert_no_exception(at)
    (error,) = at.error
    assert error.value == (
        "The dam's photo is not a cat, as the model reads it; use another photo or describe "
        "the coat in words."
    )
    assert not [box for box in at.selectbox if box.key.startswith("litter_dam_")]


def test_without_a_model_parents_are_given_in_words_or_genotype(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    breeder_env(monkeypatch, settings)  # no model trained yet: nothing to read a photo with
    at = breeder_app()
    assert "not ready yet" in at.info[0].value
    assert at.segmented_control(key="litter_sire_mode").options == ["Words", "Genotype"]
    assert not at.file_uploader

    describe(at, "sire", words="blue")
    describe(at, "dam", genotype="X^o X^o BB dd aa ss CC ww")  # no b, cs or W
    at = plan(at)

    assert_no_exception(at)
    males, females = tables(at)
    assert share(males, ("blue",)) == pytest.approx(1)  # dilute x dilute: all dilute
    assert share(females, ("blue",)) == pytest.approx(1)


def test_with_the_database_down_the_planner_still_plans_from_words(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    breeder_env(monkeypatch, settings, MONGO_URI=f"mongodb://127.0.0.1:{free_port()}")
    at = breeder_app()
    assert "cannot reach its database" in at.error[0].value
    describe(at, "sire", words="black")
    describe(at, "dam", words="red")
    at = plan(at)

    assert_no_exception(at)
    males, females = tables(at)
    assert share(males, ("red", "cream")) == pytest.approx(1)  # a son's only X is his mother's
    assert females["kitten"].str.contains("tortie").all()


def test_a_dog_page_without_a_model_offers_no_litter_planner(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    breeder_env(monkeypatch, settings, LABEL_SCHEMA="dog_breed")
    at = breeder_app()
    assert_no_exception(at)
    assert "not ready yet" in at.info[0].value
    assert "Plan a litter" not in [header.value for header in at.header]


def test_litter_section_source_is_thin() -> None:
    source = (Path(__file__).resolve().parents[2] / "breeder_litter.py").read_text()
    for word in ("find(", "insert_one", "keras", "tensorflow", "decode_image", "cross("):
        assert word not in source
    assert source.count("plan_litter(") == 1
