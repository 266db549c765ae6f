"""Breeder words and coat genetics: usual names, genotypes, explanations and flags."""

import pytest

from core.genetics import (
    COLOUR_GENOTYPES,
    UNSURE,
    explain,
    flags,
    genotype,
    usual_name,
    with_article,
)
from core.labels import CAT_COLOURS, CAT_PATTERNS, CAT_PHENOTYPE


def cat(colour: str = "blue", tabby: bool = False, pattern: str = "self", pointed: bool = False):
    return CAT_PHENOTYPE.validate(
        {
            "is_cat": True,
            "colour": colour,
            "is_tabby": tabby,
            "pattern": pattern,
            "is_pointed": pointed,
        }
    )


def flag_kinds(label) -> list[str]:
    return [flag.kind for flag in flags(label)]


# ----- usual names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "name"),
    [
        (cat("blue", True, "bicolour", True), "blue tabby bicolour colourpoint"),
        (cat("blue", True, "bicolour"), "blue tabby bicolour"),
        (cat("red", True, "van"), "red tabby van"),
        (cat("lilac", pointed=True), "lilac colourpoint"),
        (cat("cream", pattern="bicolour"), "cream bicolour"),
        (cat("black", tabby=True), "black tabby"),
        (cat("blue"), "blue self"),
        (cat("chocolate", pattern="van", pointed=True), "chocolate van colourpoint"),
        (cat("white"), "white"),
        ({"is_cat": False}, "not a cat"),
    ],
)
def test_usual_name_reads_colour_tabby_pattern_colourpoint(label, name: str) -> None:
    assert usual_name(label) == name


def test_white_hides_the_other_words_of_the_name() -> None:
    assert usual_name(cat("white", True, "van", True)) == "white"


def test_every_colour_is_named_by_itself_when_self() -> None:
    for colour in CAT_COLOURS:
        expected = "white" if colour == "white" else f"{colour} self"
        assert usual_name(cat(colour)) == expected


def test_article_follows_the_first_sound() -> None:
    assert with_article("blue tabby") == "a blue tabby"
    assert with_article("Afghan hound") == "an Afghan hound"


# ----- genotypes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour", "notation"),
    [
        ("black", "B- D-"),
        ("blue", "B- dd"),
        ("chocolate", "bb D-"),
        ("lilac", "bb dd"),
        ("cinnamon", "b^l b^l D-"),
        ("fawn", "b^l b^l dd"),
        ("red", "X^O D-"),
        ("cream", "X^O dd"),
        ("white", "W-"),
    ],
)
def test_every_colour_has_its_design_genotype(colour: str, notation: str) -> None:
    assert genotype(cat(colour)).parts["colour"] == notation


def test_every_schema_colour_has_a_genotype() -> None:
    assert set(COLOUR_GENOTYPES) == set(CAT_COLOURS)


@pytest.mark.parametrize(
    ("full", "dilute"),
    [("black", "blue"), ("chocolate", "lilac"), ("cinnamon", "fawn"), ("red", "cream")],
)
def test_a_dilute_differs_from_its_full_colour_only_by_dd(full: str, dilute: str) -> None:
    full_notation = genotype(cat(full)).parts["colour"]
    dilute_notation = genotype(cat(dilute)).parts["colour"]
    assert full_notation.endswith("D-") and dilute_notation.endswith("dd")
    assert full_notation.removesuffix("D-") == dilute_notation.removesuffix("dd")


def test_design_example_genotype_line() -> None:
    assert genotype(cat("blue", True, "bicolour", True)).line == "B- dd A- Ss cs cs"


@pytest.mark.parametrize(
    ("label", "line"),
    [
        (cat("black"), "B- D- aa ss C-"),
        (cat("chocolate", True, "van"), "bb D- A- SS C-"),
        (cat("lilac", pattern="bicolour", pointed=True), "bb dd aa Ss cs cs"),
        (cat("fawn", True), "b^l b^l dd A- ss C-"),
    ],
)
def test_genotype_line_covers_agouti_spotting_and_colourpoint(label, line: str) -> None:
    assert genotype(label).line == line


@pytest.mark.parametrize("pattern", CAT_PATTERNS)
def test_pattern_genotypes_are_ss_ss_and_ss(pattern: str) -> None:
    expected = {"self": "ss", "bicolour": "Ss", "van": "SS"}[pattern]
    assert genotype(cat(pattern=pattern)).parts["pattern"] == expected


def test_tabby_is_a_dash_and_not_tabby_is_aa() -> None:
    assert genotype(cat(tabby=True)).parts["is_tabby"] == "A-"
    assert genotype(cat(tabby=False)).parts["is_tabby"] == "aa"


def test_colourpoint_is_cs_cs_and_not_pointed_is_c_dash() -> None:
    assert genotype(cat(pointed=True)).parts["is_pointed"] == "cs cs"
    assert genotype(cat(pointed=False)).parts["is_pointed"] == "C-"


def test_white_masks_every_other_gene() -> None:
    found = genotype(cat("white", True, "van", True))
    assert found.line == "W-"
    assert found.parts == {"colour": "W-", "is_tabby": "", "pattern": "", "is_pointed": ""}


@pytest.mark.parametrize("colour", ["red", "cream"])
@pytest.mark.parametrize("tabby", [True, False])
def test_red_and_cream_leave_the_agouti_gene_out(colour: str, tabby: bool) -> None:
    found = genotype(cat(colour, tabby, "bicolour"))
    assert found.parts["is_tabby"] == ""
    assert found.line == f"{COLOUR_GENOTYPES[colour]} Ss C-"


def test_red_is_written_as_x_linked_orange_everywhere() -> None:
    assert genotype(cat("red")).line.startswith("X^O ")
    assert "X^O Y" in explain(cat("red"), "colour")  # the one-liner explains the notation
    assert "X^O" in explain(cat("cream"), "colour")


def test_unsure_traits_become_question_marks() -> None:
    label = cat("blue", True, "bicolour", True)
    assert genotype(label, unsure=["colour"]).line == f"{UNSURE} A- Ss cs cs"
    assert genotype(label, unsure=["pattern", "is_pointed"]).line == "B- dd A- ? ?"


def test_unsure_white_is_not_allowed_to_hide_the_other_genes() -> None:
    found = genotype(cat("white", True, "van"), unsure=["colour"])
    assert found.line == "? A- SS C-"


def test_missing_traits_are_question_marks() -> None:
    assert genotype({"is_cat": True, "colour": "black"}).line == "B- D- ? ? ?"
    assert genotype({"is_cat": True}).line == "? ? ? ?"


def test_a_non_cat_has_no_genotype() -> None:
    assert genotype({"is_cat": False}) is None


# ----- one line per trait -----------------------------------------------------------------


def test_every_trait_of_every_colour_has_a_one_line_explanation() -> None:
    for colour in CAT_COLOURS:
        for label in (cat(colour), cat(colour, True, "van", True)):
            for trait in ("colour", "is_tabby", "pattern", "is_pointed"):
                line = explain(label, trait)
                assert line.endswith(".") and "\n" not in line and 20 < len(line) < 240


def test_explanations_name_the_notation() -> None:
    label = cat("blue", True, "bicolour", True)
    assert explain(label, "colour").startswith("Blue (B- dd): dilute black")
    assert explain(label, "is_tabby").startswith("Tabby (A-)")
    assert explain(label, "pattern").startswith("Bicolour (Ss)")
    assert explain(label, "is_pointed").startswith("Colourpoint (cs cs)")
    assert explain(cat(), "is_tabby").startswith("Not tabby (aa)")
    assert explain(cat(), "is_pointed").startswith("Not colourpoint (C-)")


def test_white_explains_that_the_other_traits_are_hidden() -> None:
    assert "masks" in explain(cat("white", True), "is_tabby")


def test_red_tabby_explains_that_agouti_cannot_be_told() -> None:
    line = explain(cat("red", True), "is_tabby")
    assert "whatever the agouti gene" in line and "cannot be told apart" in line


def test_unknown_trait_has_no_explanation() -> None:
    assert explain({"is_cat": True, "colour": "blue"}, "pattern") == ""
    assert explain({"is_cat": False}, "colour") == ""


# ----- flags ------------------------------------------------------------------------------


def test_an_ordinary_british_blue_has_no_flags() -> None:
    assert flags(cat("blue")) == []
    assert flags(cat("lilac", True, "bicolour", True)) == []


@pytest.mark.parametrize(
    ("label", "words"),
    [
        (cat("white", tabby=True), "shows no tabby markings"),
        (cat("white", pattern="bicolour"), "cannot show a bicolour pattern"),
        (cat("white", pattern="van"), "cannot show a van pattern"),
        (cat("white", pointed=True), "hides colourpoints"),
    ],
)
def test_white_with_markings_pattern_or_points_is_ruled_out(label, words: str) -> None:
    found = flags(label)
    assert [flag.kind for flag in found] == ["ruled_out"]
    assert words in found[0].message


def test_white_with_everything_gets_three_flags() -> None:
    assert flag_kinds(cat("white", True, "van", True)) == ["ruled_out"] * 3


@pytest.mark.parametrize("colour", ["red", "cream"])
def test_red_or_cream_not_tabby_gets_a_note_about_markings(colour: str) -> None:
    found = flags(cat(colour, tabby=False))
    assert [flag.kind for flag in found] == ["note"]
    assert "always show some tabby markings whatever the agouti gene" in found[0].message
    assert flags(cat(colour, tabby=True)) == []


@pytest.mark.parametrize("colour", ["cinnamon", "fawn"])
def test_cinnamon_and_fawn_are_unusual_in_british_shorthairs(colour: str) -> None:
    found = flags(cat(colour))
    assert [flag.kind for flag in found] == ["unusual"]
    assert "rare in British Shorthairs" in found[0].message


def test_van_colourpoint_is_unusual() -> None:
    found = flags(cat("blue", pattern="van", pointed=True))
    assert [flag.kind for flag in found] == ["unusual"]
    assert "van colourpoint is unusual" in found[0].message
    assert flags(cat("blue", pattern="bicolour", pointed=True)) == []


def test_flags_add_up() -> None:
    assert flag_kinds(cat("fawn", pattern="van", pointed=True)) == ["unusual", "unusual"]


def test_a_non_cat_or_unknown_colour_has_no_flags() -> None:
    assert flags({"is_cat": False}) == []
    assert flags({"is_cat": True}) == []


def test_every_flag_is_one_sentence() -> None:
    labels = [
        cat(c, t, p, pt) for c in CAT_COLOURS for t in (0, 1) for p in CAT_PATTERNS for pt in (0, 1)
    ]
    for label in labels:
        for flag in flags(label):
            assert flag.message.endswith(".") and flag.message.count(". ") == 0
