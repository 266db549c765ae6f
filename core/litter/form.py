"""A parent's coat as an editable form: four choices a photo's prediction fills in.

The breeder page shows one select box per field; a photo sets them from what the model saw
(a trait it is unsure of stays "not sure"), and the breeder may change any of them, including
to what a photo model cannot tell (tortie, the tabby pattern, sepia and mink).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import unknown_choice
from core.labels import CAT_COLOURS
from core.litter.coats import BASE_COLOURS, Coat

NOT_SURE = "not sure"
NO_WHITE, FULL_COLOUR = "no white", "full colour"
CHOICES: dict[str, tuple[str, ...]] = {
    "colour": (NOT_SURE, *CAT_COLOURS, *(f"{colour} tortie" for colour in BASE_COLOURS)),
    "tabby": (NOT_SURE, "no", "yes", "mackerel", "classic", "ticked"),
    "white": (NOT_SURE, NO_WHITE, "bicolour", "van"),
    "points": (NOT_SURE, FULL_COLOUR, "colourpoint", "sepia", "mink"),
}
TITLES = {"colour": "Colour", "tabby": "Tabby", "white": "White", "points": "Points"}
HELP = {
    "colour": "A tortie is named by its non-orange colour: a blue tortie is a blue-cream.",
    "tabby": "Say the pattern if you know it: it adds the tabby pattern to the kittens.",
    "white": "Bicolour: some white (Ss); van: white with colour on the head and tail (SS).",
    "points": "Colourpoint (Siamese), sepia (Burmese) or mink (Tonkinese) points.",
}


@dataclass(frozen=True)
class CoatForm:
    """The four choices of the form, each one of ``CHOICES[field]``."""

    colour: str = NOT_SURE
    tabby: str = NOT_SURE
    white: str = NOT_SURE
    points: str = NOT_SURE

    @classmethod
    def from_coat(cls, coat: Coat) -> CoatForm:
        """The form showing this coat; what the coat leaves open is "not sure"."""
        colour = NOT_SURE if coat.colour is None else coat.colour
        if coat.is_tortie:
            colour = f"{coat.colour} tortie"
        tabby = {None: NOT_SURE, False: "no", True: coat.tabby_pattern or "yes"}[coat.is_tabby]
        white = {None: NOT_SURE, "self": NO_WHITE}.get(coat.pattern, coat.pattern)
        points = {None: NOT_SURE, "full": FULL_COLOUR}.get(coat.point, coat.point)
        return cls(colour, tabby, str(white), str(points))

    @classmethod
    def from_choices(cls, choices: Mapping[str, str | None]) -> CoatForm:
        """The form from the page's select boxes (None, an empty box, is "not sure")."""
        return cls(**{name: choices.get(name) or NOT_SURE for name in CHOICES})

    def to_coat(self, role: str) -> Coat:
        """The coat these choices describe; UserError for a choice that is not offered."""
        for name, options in CHOICES.items():
            value = getattr(self, name)
            if value not in options:
                raise unknown_choice(f"The {role}'s {TITLES[name].lower()} {value!r}", options)
        colour, _, tortie = self.colour.partition(" ")
        tabby = self.tabby
        return Coat(
            colour=None if self.colour == NOT_SURE else colour,
            is_tortie=bool(tortie),
            is_tabby=None if tabby == NOT_SURE else tabby != "no",
            tabby_pattern=tabby if tabby in ("mackerel", "classic", "ticked") else None,
            pattern={NOT_SURE: None, NO_WHITE: "self"}.get(self.white, self.white),
            point={NOT_SURE: None, FULL_COLOUR: "full"}.get(self.points, self.points),
        )


CARRIER_CHOICES = (  # one word per allele a lab tests for
    "chocolate",
    "cinnamon",
    "dilute",
    "non-agouti",
    "classic",
    "colourpoint",
    "sepia",
)
LAB_CHOICES = ("unknown", "carrier", "non-carrier")
