"""A parent's coat as the breeder gives it: words ("blue tabby, carries chocolate") or a photo.

Both become a ``Coat``: what is seen (colour, tortie, tabby and its pattern, white, points) and
what the parent is known to carry. When the words name a colour they describe the whole cat:
no "tabby" means solid, no white word means no white, no point word means full colour.
Without a colour word only what is named is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import UserError, unknown_choice
from core.labels import CAT_COLOURS, CAT_PATTERNS

BASE_COLOURS = ("black", "blue", "chocolate", "lilac", "cinnamon", "fawn")
ORANGE_COLOURS = ("red", "cream")
TABBY_PATTERNS = ("mackerel", "classic", "ticked")
POINTS = ("full", "sepia", "mink", "colourpoint")

COLOUR_WORDS = {
    **{colour: colour for colour in CAT_COLOURS},
    "seal": "black",
    "brown": "black",  # "brown tabby" is the usual name of a black tabby
    "ebony": "black",
    "lavender": "lilac",
    "sorrel": "cinnamon",
    "orange": "red",
    "ginger": "red",
}
PATTERN_WORDS = {"self": "self", "bicolour": "bicolour", "bicolor": "bicolour", "van": "van"}
PATTERN_WORDS["harlequin"] = "van"
TABBY_WORDS = {"mackerel": "mackerel", "classic": "classic", "blotched": "classic"}
TABBY_WORDS["ticked"] = "ticked"
POINT_WORDS = {
    **dict.fromkeys(("colourpoint", "colorpoint", "point", "pointed", "himalayan"), "colourpoint"),
    **dict.fromkeys(("siamese",), "colourpoint"),
    **dict.fromkeys(("sepia", "burmese"), "sepia"),
    **dict.fromkeys(("mink", "tonkinese"), "mink"),
}
NOT_PREDICTED_WORDS = {
    "silver": "the silver inhibitor I",
    "smoke": "the silver inhibitor I",
    "shaded": "wide band Wb",
    "chinchilla": "wide band Wb",
    "shell": "wide band Wb",
    "tipped": "wide band Wb",
    "golden": "wide band Wb",
    "caramel": "the dilute modifier Dm",
    "apricot": "the dilute modifier Dm",
    "spotted": "the spotted-tabby modifiers",
}
FILLER_WORDS = frozenset(
    {"a", "an", "the", "cat", "male", "female", "tom", "queen", "sire", "dam", "kitten", "with"}
)
PHRASES = (  # read before the words, so that one idea is one word
    ("tortoiseshell", "tortie"),
    ("tortie and white", "calico"),
    ("and white", "bicolour"),
    ("with white", "bicolour"),
    ("blue-cream", "blue tortie"),
    ("blue cream", "blue tortie"),
    ("lilac-cream", "lilac tortie"),
    ("lilac cream", "lilac tortie"),
    ("dilute calico", "blue calico"),
    ("non agouti", "non-agouti"),
    ("non carrier of", "clear of"),
    ("non-carrier of", "clear of"),
    ("not carrying", "clear of"),
    ("free of", "clear of"),
    ("&", "and"),
)

# what a parent can be known to carry, by the word a lab report or a breeder uses
CARRIED_ALLELES: dict[str, tuple[str, str]] = {
    "chocolate": ("B", "b"),
    "cinnamon": ("B", "bl"),
    "dilute": ("D", "d"),
    "non-agouti": ("A", "a"),
    "solid": ("A", "a"),
    "classic": ("Mc", "mc"),
    "colourpoint": ("C", "cs"),
    "colorpoint": ("C", "cs"),
    "pointed": ("C", "cs"),
    "siamese": ("C", "cs"),
    "sepia": ("C", "cb"),
    "burmese": ("C", "cb"),
}


def allele_word(word: object, problem: str) -> str:
    """The word as CARRIED_ALLELES spells it; UserError (problem, then the words) if unknown."""
    key = str(word).strip().lower()
    if key not in CARRIED_ALLELES:
        known = ", ".join(sorted(set(CARRIED_ALLELES) - {"colorpoint", "siamese"}))  # synonyms
        raise UserError(f"{problem}; use one of: {known}.")
    return key


LAB_VALUES = {
    "carrier": True,
    "non-carrier": False,
    "noncarrier": False,
    "clear": False,
    "unknown": None,
    "": None,
}


@dataclass(frozen=True)
class Coat:
    """What is seen of a parent's coat; None where it is not known."""

    colour: str | None = None  # black..fawn, red, cream or white
    is_tortie: bool = False  # colour is then the tortie's non-orange colour
    is_tabby: bool | None = None
    tabby_pattern: str | None = None  # mackerel, classic or ticked
    pattern: str | None = None  # self, bicolour or van
    point: str | None = None  # full, sepia, mink or colourpoint
    carries: dict[str, bool] = field(default_factory=dict)  # carried word -> carrier?
    notes: tuple[str, ...] = ()

    @property
    def is_orange(self) -> bool:
        """Red or cream all over: orange hides the B series and the agouti gene."""
        return self.colour in ORANGE_COLOURS

    def name(self) -> str:
        """The coat in breeder words, e.g. "blue tortie tabby bicolour", "" when unknown."""
        if self.colour == "white":
            return "white"
        words = []
        if self.colour:
            colour = (
                "seal"
                if self.colour == "black" and self.point not in (None, "full")
                else self.colour
            )
            words.append(f"{colour} tortie" if self.is_tortie else colour)
        if self.is_tabby:
            words.append(f"{self.tabby_pattern} tabby" if self.tabby_pattern else "tabby")
        if self.pattern and self.pattern != "self":
            words.append(self.pattern)
        if self.point and self.point != "full":
            words.append(self.point)
        if len(words) == 1 and self.colour and not self.is_tortie and self.pattern == "self":
            words.append("self")
        return " ".join(words)


def parse_coat_words(text: str, role: str) -> Coat:
    """The coat a breeder describes, e.g. "seal point", "blue, carries chocolate", "calico"."""
    spaced = re.sub(r"([,;&])", r" \1 ", str(text).lower().replace("color", "colour"))
    lowered = f" {' '.join(spaced.split())} "
    for phrase, word in PHRASES:
        lowered = lowered.replace(f" {phrase} ", f" {word} ")
    tokens = re.findall(r"[a-z][a-z-]*|,|;", lowered)
    values: dict[str, Any] = {"carries": {}}
    notes: list[str] = []
    colours: list[str] = []
    mode = "coat"
    for index, token in enumerate(tokens):
        if token in {",", ";"}:
            mode = "coat"
        elif token == "carries" or token == "carrier":
            mode = "carrier"
        elif token == "clear" and index + 1 < len(tokens) and tokens[index + 1] == "of":
            mode = "clear"
        elif token in {"of", "and"} or (token in FILLER_WORDS and mode == "coat"):
            continue
        elif mode != "coat":
            key = allele_word(
                token,
                f"The {role}'s {text!r} says it carries {token!r}, which is not an allele "
                "we predict",
            )
            values["carries"][key] = mode == "carrier"
        elif token in COLOUR_WORDS:
            colours.append(COLOUR_WORDS[token])
        elif token in ("tortie", "torbie", "calico"):
            values["is_tortie"] = True
            if token == "torbie":
                values["is_tabby"] = True
            if token == "calico":
                values["pattern"] = "bicolour"
        elif token in ("tabby", "agouti"):
            values["is_tabby"] = True
        elif token in TABBY_WORDS:
            values["is_tabby"], values["tabby_pattern"] = True, TABBY_WORDS[token]
        elif token in ("solid", "non-agouti"):
            values["is_tabby"] = False
        elif token in PATTERN_WORDS:
            values["pattern"] = PATTERN_WORDS[token]
        elif token in POINT_WORDS:
            values["point"] = POINT_WORDS[token]
        elif token in NOT_PREDICTED_WORDS:
            values["is_tabby"] = True if token == "spotted" else values.get("is_tabby")
            notes.append(
                f"The {role}'s {token!r} is read but not predicted: "
                f"{NOT_PREDICTED_WORDS[token]} has no DNA test or disputed genetics."
            )
        else:
            raise UserError(
                f"The {role}'s {text!r} has the word {token!r}, which is not a coat word we know; "
                "use words like black, blue tabby, seal point, tortie, bicolour or "
                "'carries chocolate'."
            )
    if len(set(colours)) > 1:
        raise UserError(
            f"The {role}'s {text!r} names the colours {' and '.join(dict.fromkeys(colours))}; "
            "give one colour (a tortie's non-orange colour with 'tortie', such as 'blue tortie')."
        )
    coat = Coat(notes=tuple(notes), **values)
    colour = colours[0] if colours else None
    if coat.is_tortie:
        colour = colour or "black"
        if colour not in BASE_COLOURS:
            raise UserError(
                f"The {role}'s {text!r} is a tortie of {colour}; name the tortie by its "
                f"non-orange colour ({', '.join(BASE_COLOURS)}), such as 'blue tortie'."
            )
    if colour is None:
        return coat
    return replace(  # a named colour describes the whole cat: what is not named is not there
        coat,
        colour=colour,
        is_tabby=bool(coat.is_tabby),
        pattern=coat.pattern or "self",
        point=coat.point or "full",
    )


def coat_from_prediction(prediction: Mapping[str, Any], role: str) -> Coat:
    """The coat of a photo's prediction: a label dict, or ``result_to_json``'s dict.

    Traits the model is unsure of (``unsure``) are left unknown rather than guessed.
    """
    label = prediction.get("label", prediction)
    if not isinstance(label, Mapping):
        raise UserError(f"The {role}'s prediction {label!r} is not a coat; give words instead.")
    is_cat = prediction.get("is_cat", label.get("is_cat"))
    if is_cat is False:
        raise UserError(
            f"The {role}'s photo is not a cat, as the model reads it; use another photo or "
            "describe the coat in words."
        )
    unsure = set(prediction.get("unsure") or ())

    def known(trait: str) -> Any:
        return None if trait in unsure else label.get(trait)

    colour, pattern = known("colour"), known("pattern")
    if colour is not None and colour not in CAT_COLOURS:
        raise unknown_choice(f"The {role}'s colour {colour!r}", CAT_COLOURS)
    if pattern is not None and pattern not in CAT_PATTERNS:
        raise unknown_choice(f"The {role}'s pattern {pattern!r}", CAT_PATTERNS)
    pointed = known("is_pointed")
    tabby = known("is_tabby")
    return Coat(
        colour=colour,
        is_tabby=None if tabby is None else bool(tabby),
        pattern=pattern,
        point=None if pointed is None else ("colourpoint" if pointed else "full"),
    )


def parse_lab_results(results: Mapping[str, str] | None, role: str) -> dict[str, bool | None]:
    """Lab results per carried allele ("dilute": "carrier"), checked; unknown ones kept None."""
    parsed: dict[str, bool | None] = {}
    for word, value in (results or {}).items():
        key = allele_word(word, f"The {role}'s lab result for {word!r} is for no allele we predict")
        status = str(value or "").strip().lower().replace(" ", "-").replace("_", "-")
        if status not in LAB_VALUES:
            words = ("carrier", "non-carrier", "unknown")
            raise unknown_choice(f"The {role}'s lab result {value!r} for {word}", words)
        parsed[key] = LAB_VALUES[status]
    return parsed
