"""Known crosses from the standard feline genetics references, as a breeder would check them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.litter.coats import BASE_COLOURS
from core.litter.cross import KittenRow
from core.services.litter import LitterPlan, ParentSpec, plan_litter

DILUTE_COLOURS = {"blue", "lilac", "fawn", "cream"}


def share(plan: LitterPlan, sex: str, is_wanted: Callable[[KittenRow], bool]) -> float:
    """The odds of a kitten of this sex being one the predicate picks."""
    return sum(row.probability for row in plan.table(sex) if is_wanted(row))


def names(plan: LitterPlan, sex: str) -> dict[str, float]:
    return {row.name: pytest.approx(row.probability) for row in plan.table(sex)}


def test_black_queen_by_red_tom_gives_black_sons_and_tortie_daughters() -> None:
    plan = plan_litter(
        ParentSpec("red", genotype="BB DD aa CC"), ParentSpec("black", genotype="BB DD CC")
    )

    assert names(plan, "male") == {"black self": 1.0}
    assert names(plan, "female") == {"black tortie": 1.0}


def test_black_queen_by_red_tom_from_words_only_has_no_red_son_and_no_solid_daughter() -> None:
    plan = plan_litter("red", "black")

    assert share(plan, "male", lambda row: row.colour in BASE_COLOURS) == pytest.approx(1)
    assert share(plan, "female", lambda row: row.colour.endswith("tortie")) == pytest.approx(1)
    assert all(row.genotype.startswith("X^o Y") for row in plan.table("male"))
    assert all(row.genotype.startswith("X^O X^o") for row in plan.table("female"))


def test_tortie_queen_by_black_tom_gives_half_red_half_black_sons() -> None:
    plan = plan_litter(
        ParentSpec("black", genotype="BB DD CC"), ParentSpec("tortie", genotype="BB DD CC")
    )

    assert names(plan, "male") == {"black self": 0.5, "red self": 0.5}
    assert names(plan, "female") == {"black self": 0.5, "black tortie": 0.5}


def test_tortie_queen_by_black_tom_from_words_only_gives_half_orange_sons() -> None:
    plan = plan_litter("black", "tortie")

    assert share(plan, "male", lambda row: row.colour in ("red", "cream")) == pytest.approx(0.5)
    assert share(plan, "male", lambda row: row.colour in BASE_COLOURS) == pytest.approx(0.5)


def test_blue_by_blue_gives_only_dilute_kittens() -> None:
    plan = plan_litter("blue", "blue")

    for sex in ("male", "female"):
        assert share(plan, sex, lambda row: row.colour in DILUTE_COLOURS) == pytest.approx(1)
        assert all(" dd " in f" {row.genotype} " for row in plan.table(sex))


def test_black_carrying_chocolate_by_the_same_gives_a_quarter_chocolate() -> None:
    plan = plan_litter("black, carries chocolate", "black, carries chocolate")

    for sex in ("male", "female"):
        chocolate = share(plan, sex, lambda row: row.colour in ("chocolate", "lilac"))
        assert chocolate == pytest.approx(0.25)
    exact = plan_litter(ParentSpec("black", "Bb DD CC"), ParentSpec("black", "Bb DD CC"))
    assert names(exact, "female") == {"black self": 0.75, "chocolate self": 0.25}


def test_seal_point_by_seal_point_gives_only_pointed_kittens() -> None:
    plan = plan_litter("seal point", "seal point")

    for sex in ("male", "female"):
        assert share(plan, sex, lambda row: "colourpoint" in row.name) == pytest.approx(1)
        assert share(plan, sex, lambda row: row.name == "seal colourpoint") > 0.5


def test_dominant_white_parent_ww_gives_half_white_kittens() -> None:
    plan = plan_litter(ParentSpec("white", genotype="Ww"), "black")

    for sex in ("male", "female"):
        assert share(plan, sex, lambda row: row.name == "white") == pytest.approx(0.5)


def test_white_parent_of_unknown_genotype_gives_three_quarters_white_kittens() -> None:
    plan = plan_litter("white", "black")  # WW or Ww at even odds: 1/2 + 1/2 * 1/2

    assert share(plan, "male", lambda row: row.name == "white") == pytest.approx(0.75)


def test_mink_by_mink_gives_sepia_mink_and_colourpoint_as_one_two_one() -> None:
    plan = plan_litter(ParentSpec("seal mink", "BB DD"), ParentSpec("seal mink", "BB DD"))

    assert names(plan, "male") == {"seal sepia": 0.25, "seal mink": 0.5, "seal colourpoint": 0.25}
    points = {row.name: row.genotype.split(" ss ")[1] for row in plan.table("female")}
    assert points == {"seal sepia": "cb cb", "seal mink": "cb cs", "seal colourpoint": "cs cs"}


def test_ticked_is_dominant_over_mackerel_and_classic() -> None:
    plan = plan_litter(
        ParentSpec("black ticked tabby", "Ti Ti AA BB DD CC"),
        ParentSpec("black classic tabby", "AA BB DD CC"),
    )

    assert names(plan, "female") == {"black ticked tabby": 1.0}
    assert all("Ti ti" in row.genotype and "EMS" not in row.ems for row in plan.rows)
    assert {row.ems for row in plan.rows} == {"n 25"}


def test_mackerel_carrying_classic_by_classic_gives_half_of_each() -> None:
    plan = plan_litter(
        ParentSpec("black mackerel tabby", "AA BB DD CC Mc mc"),
        ParentSpec("black classic tabby", "AA BB DD CC"),
    )

    assert names(plan, "male") == {"black mackerel tabby": 0.5, "black classic tabby": 0.5}


def test_tabby_pattern_is_left_out_when_neither_parent_names_it() -> None:
    plan = plan_litter("black tabby", "blue tabby")

    assert "Ti" not in plan.loci and "Mc" not in plan.loci
    assert any("Tabby pattern" in note and "not predicted" in note for note in plan.notes)
    assert all("mackerel" not in row.name for row in plan.rows)


def test_calico_and_tortie_kittens_are_female_with_the_rare_male_note() -> None:
    plan = plan_litter(ParentSpec("cream van", "BB aa CC"), ParentSpec("blue", "BB CC"))

    assert names(plan, "female") == {"blue tortie bicolour (calico)": 1.0}
    assert names(plan, "male") == {"blue bicolour": 1.0}
    assert {row.ems for row in plan.table("female")} == {"g 03"}
    assert any("XXY" in note for note in plan.notes)


def test_red_tabby_agouti_shows_in_red_and_tortie_names_with_ems_codes() -> None:
    plan = plan_litter(ParentSpec("cream tabby", "AA BB CC"), ParentSpec("blue tabby", "AA BB CC"))

    assert names(plan, "female") == {"blue tortie tabby": 1.0}
    assert names(plan, "male") == {"blue tabby": 1.0}
    assert {row.ems for row in plan.table("female")} == {"g 21"}


@pytest.mark.parametrize(
    ("sire", "dam"),
    [
        ("black tabby", "blue, carries chocolate"),
        ("red", "tortie bicolour"),
        ("white", "white"),
        ("", "calico"),
        ("cream van colourpoint", "lilac mackerel tabby, carries dilute"),
        ({"is_cat": True, "colour": "fawn", "is_tabby": True}, "seal mink"),
        (ParentSpec(genotype="X^O Y"), ParentSpec(genotype="B-")),
    ],
)
def test_every_table_sums_to_one_for_each_sex(sire, dam) -> None:
    plan = plan_litter(sire, dam)

    for sex in ("male", "female"):
        assert sum(row.probability for row in plan.table(sex)) == pytest.approx(1)
        for row in plan.table(sex):
            for odds in row.genotypes.values():
                assert sum(odds.values()) == pytest.approx(1)
    assert not any(row.colour.endswith("tortie") for row in plan.table("male"))


def test_population_allele_frequencies_replace_the_equal_odds() -> None:
    equal = plan_litter("black", "black")
    no_chocolate = plan_litter("black", "black", allele_frequencies={"B": {"B": 1, "b": 0}})

    assert share(equal, "male", lambda row: row.colour == "chocolate") > 0
    assert share(no_chocolate, "male", lambda row: row.colour in ("chocolate", "lilac")) == 0
    assert "equally likely" in equal.assumption
    assert "population allele frequencies" in no_chocolate.assumption


def test_plan_names_the_loci_it_does_not_predict() -> None:
    plan = plan_litter("black silver tabby", "blue")

    text = " ".join(plan.not_predicted)
    assert "Dm" in text and "Wb" in text and "silver inhibitor" in text
    assert any("'silver' is read but not predicted" in note for note in plan.notes)


def test_plan_as_json_has_both_sexes_and_the_parents() -> None:
    answer = plan_litter("black", "tortie").to_json()

    assert set(answer["kittens"]) == {"male", "female"}
    assert answer["sire"]["coat"] == "black self"
    assert answer["dam"]["genotype"].startswith("X^O X^o")
    assert answer["assumption"] and answer["not_predicted"]


def test_allele_frequencies_left_out_share_the_rest_hardy_weinberg() -> None:
    frequencies = {"B": {"B": 1}, "C": {"C": 1}, "D": {"d": 0.3}}  # D is then 0.7

    plan = plan_litter("black", "blue", allele_frequencies=frequencies)

    carrier = 2 * 0.7 * 0.3 / (0.7**2 + 2 * 0.7 * 0.3)  # a black cat that carries dilute
    assert names(plan, "male") == {"black self": 1 - carrier / 2, "blue self": carrier / 2}
