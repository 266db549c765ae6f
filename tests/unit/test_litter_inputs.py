"""Parents as words, photos' predictions, genotypes and lab results; bad input in one sentence."""

from __future__ import annotations

from types import SimpleNamespace

import altair as alt
import pytest

from core import genetics
from core.errors import UserError
from core.litter.charts import COLUMNS, litter_chart, litter_frame
from core.litter.coats import parse_coat_words
from core.litter.parents import parse_genotype
from core.services.litter import ParentSpec, plan_litter

BLUE_PHOTO = {"is_cat": True, "colour": "blue", "is_tabby": False, "pattern": "self"}
BLUE_PHOTO["is_pointed"] = False


@pytest.mark.parametrize(
    ("words", "name"),
    [
        ("black tabby", "black tabby"),
        ("Blue, carries chocolate", "blue self"),
        ("seal point", "seal colourpoint"),
        ("brown mackerel tabby and white", "black mackerel tabby bicolour"),
        ("blue-cream, carries chocolate", "blue tortie"),
        ("Tortie and White;carries dilute & chocolate", "black tortie bicolour"),
        ("calico", "black tortie bicolour"),
        ("torbie", "black tortie tabby"),
        ("ginger van", "red van"),
        ("lilac colorpoint", "lilac colourpoint"),
        ("white", "white"),
    ],
)
def test_breeder_words_are_read_as_the_coat_they_name(words: str, name: str) -> None:
    assert parse_coat_words(words, "sire").name() == name


def test_carrier_words_and_lab_results_narrow_the_genotype() -> None:
    coat = parse_coat_words(
        "black tabby, carries dilute and chocolate; clear of colourpoint", "dam"
    )

    assert coat.carries == {"dilute": True, "chocolate": True, "colourpoint": False}
    plan = plan_litter(
        ParentSpec("black", lab_results={"dilute": "carrier", "chocolate": "non-carrier"}),
        "blue",
    )
    assert plan.sire.genotypes["D"] == {"Dd": 1.0}
    assert "Bb" not in plan.sire.genotypes["B"]
    assert plan.sire.genotype.startswith("X^o Y B- Dd")


def test_a_photos_prediction_is_a_parent_in_one_call() -> None:
    from_words = plan_litter("blue self", "blue self")
    from_photos = plan_litter(BLUE_PHOTO, {"label": BLUE_PHOTO, "unsure": [], "is_cat": True})

    assert [(r.name, r.probability) for r in from_photos.rows] == [
        (r.name, r.probability) for r in from_words.rows
    ]


def test_a_prediction_result_object_is_read_like_its_dict() -> None:
    result = SimpleNamespace(label=BLUE_PHOTO, unsure=["is_pointed"], passes_gate=True)

    plan = plan_litter(result, ParentSpec(coat=BLUE_PHOTO, genotype="CC"))

    assert plan.sire.coat == "blue self"
    assert len(plan.sire.genotypes["C"]) == 6  # the unsure colourpoint is left open, not guessed
    assert not any("colourpoint" in row.name for row in plan.rows)  # the dam is CC


def test_unsure_traits_of_a_photo_stay_open() -> None:
    photo = {"label": BLUE_PHOTO, "unsure": ["colour"], "is_cat": True}

    plan = plan_litter(photo, "blue")

    assert plan.sire.genotypes["D"] == {
        "DD": pytest.approx(1 / 3),
        "Dd": pytest.approx(1 / 3),
        "dd": pytest.approx(1 / 3),
    }


def test_an_api_style_dict_gives_coat_genotype_and_lab_results() -> None:
    plan = plan_litter(
        {"coat": "black", "genotype": "BB DD CC", "lab_results": {}},
        {"coat": BLUE_PHOTO, "genotype": "BB CC"},
    )

    assert [(r.sex, r.name) for r in plan.rows] == [
        ("male", "black self"),
        ("female", "black self"),
    ]


@pytest.mark.parametrize(
    ("text", "sex", "expected"),
    [
        ("B- dd", "male", {"B": {("B", "B"), ("B", "b"), ("B", "bl")}, "D": {("d", "d")}}),
        ("X^O Y", "male", {"O": {("O",)}}),
        ("XᴼXᵒ bˡbˡ", "female", {"O": {("O", "o")}, "B": {("bl", "bl")}}),
        ("cb cs Ti-", "female", {"C": {("cb", "cs")}, "Ti": {("Ti", "Ti"), ("Ti", "ti")}}),
        ("Mc/mc ww Ss", "female", {"Mc": {("Mc", "mc")}, "W": {("w", "w")}, "S": {("S", "s")}}),
    ],
)
def test_genotype_notation_is_read_per_locus(text: str, sex: str, expected) -> None:
    assert parse_genotype(text, "sire", sex) == expected


@pytest.mark.parametrize(
    ("sire", "dam", "message"),
    [
        (ParentSpec("black", "X^O X^o"), "black", "has 2 O alleles, but a male has one X"),
        ("purple", "black", "has the word 'purple', which is not a coat word we know"),
        ("tortie", "black", "a tortie tom is an XXY rarity"),
        (ParentSpec("blue", "D-"), "black", "contradicts its coat 'blue self', which needs dd"),
        (ParentSpec("black", "bb"), "black", "which needs B- at B"),
        (ParentSpec("blue", lab_results={"dilute": "clear"}), "black", "cannot be clear of dilute"),
        (ParentSpec("blue", lab_results={"dilute": "maybe"}), "black", "'maybe' for dilute"),
        (ParentSpec("blue", lab_results={"lilac": "carrier"}), "black", "for 'lilac' is for no"),
        (ParentSpec("blue", "Dm dd"), "black", "names Dm, the dilute modifier"),
        (ParentSpec("blue", "B dd"), "black", "gives 1 allele at B"),
        (ParentSpec("blue", "Qq"), "black", "has 'Qq', which is no allele"),
        ("black", ParentSpec("black", "X^o Y"), "has a Y chromosome, but the dam is female"),
        ("black", "blue, carries lilac", "says it carries 'lilac'"),
        ("black", "red tortie", "name the tortie by its non-orange colour"),
        ("black", "blue lilac", "names the colours blue and lilac"),
        ("black", {"is_cat": False}, "The dam's photo is not a cat"),
        ("black", {"is_cat": True, "colour": "green"}, "colour 'green' is not known"),
        ("black", {"coat": "blue", "sex": "f"}, "unknown field 'sex'"),
        ("black", 42, "The dam 42 is not a parent we can read"),
    ],
)
def test_bad_input_is_refused_in_one_sentence_naming_the_value(sire, dam, message: str) -> None:
    with pytest.raises(UserError, match=message) as caught:
        plan_litter(sire, dam)
    text = str(caught.value)
    assert text.endswith(".") and text.count(". ") == 0, text


@pytest.mark.parametrize(
    ("frequencies", "message"),
    [
        ({"Z": {"z": 1}}, "given for 'Z', which is no locus"),
        ({"D": {"q": 0.5}}, "'q' at D is not usable"),
        ({"D": {"D": -1}}, "-1 of 'D' at D is not usable"),
        ({"D": {"D": 1, "d": 0}}, "give every genotype the coat allows a zero chance"),
    ],
)
def test_bad_allele_frequencies_are_refused(frequencies, message: str) -> None:
    with pytest.raises(UserError, match=message):
        plan_litter("blue", "blue", allele_frequencies=frequencies)


def test_frame_is_one_row_per_coat_and_sex_summing_to_one() -> None:
    frame = litter_frame(plan_litter("black tabby", "blue, carries chocolate"))

    assert list(frame.columns) == COLUMNS
    assert frame.groupby("sex")["probability"].sum().to_dict() == {
        "female": pytest.approx(1),
        "male": pytest.approx(1),
    }


def test_chart_shows_each_sex_with_the_rest_in_one_bar() -> None:
    plan = plan_litter("red", "black")
    chart = litter_chart(plan, top=5)

    assert isinstance(chart, alt.FacetChart)
    spec = chart.to_dict()
    assert spec["facet"]["row"]["field"] == "sex"
    assert spec["title"]["text"] == "Kittens to expect"
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 12  # 5 coats and "other coats" per sex
    for sex in ("male", "female"):
        assert sum(r["probability"] for r in rows if r["sex"] == sex) == pytest.approx(1)
    tooltips = {tip["title"] for tip in spec["spec"]["encoding"]["tooltip"]}
    assert {"Kitten", "Probability", "Genotype"} <= tooltips


@pytest.mark.parametrize("colour", ["black", "blue", "lilac", "fawn", "red", "cream", "white"])
@pytest.mark.parametrize("pattern", ["self", "bicolour", "van"])
def test_the_breeder_pages_genotype_line_is_a_parent_genotype(colour: str, pattern: str) -> None:
    label = {"is_cat": True, "colour": colour, "is_tabby": True, "pattern": pattern}
    label["is_pointed"] = pattern == "van"
    line = genetics.genotype(label, unsure=["is_tabby"]).line  # "B- dd ? Ss cs cs"

    plan = plan_litter(ParentSpec(label, genotype=line), ParentSpec(label, genotype=line))

    assert plan.table("female")[0].probability > 0
    assert plan.sire.coat == plan.dam.coat
