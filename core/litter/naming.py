"""A kitten's visible classes per locus in breeder words and FIFe EMS codes.

"blue tortie tabby bicolour (calico)", "seal colourpoint", "red mackerel tabby", "white";
EMS: colour letter, white (01 van, 03 bicolour), tabby (21 any, 22 classic, 23 mackerel,
25 ticked) and points (31 sepia, 32 mink, 33 colourpoint), e.g. "g 03 21".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BASE_NAMES = {
    ("B", "D"): "black",
    ("B", "d"): "blue",
    ("b", "D"): "chocolate",
    ("b", "d"): "lilac",
    ("bl", "D"): "cinnamon",
    ("bl", "d"): "fawn",
}
EMS_COLOURS = {
    "black": "n",
    "blue": "a",
    "chocolate": "b",
    "lilac": "c",
    "cinnamon": "o",
    "fawn": "p",
    "red": "d",
    "cream": "e",
    "black tortie": "f",
    "blue tortie": "g",
    "chocolate tortie": "h",
    "lilac tortie": "j",
    "cinnamon tortie": "q",
    "fawn tortie": "r",
    "white": "w",
}
EMS_WHITE = {"SS": "01", "Ss": "03"}
EMS_TABBY = {None: "21", "classic": "22", "mackerel": "23", "ticked": "25"}
EMS_POINTS = {"sepia": "31", "mink": "32", "colourpoint": "33"}
WHITE_WORDS = {"Ss": "bicolour", "SS": "van"}


@dataclass(frozen=True)
class KittenCoat:
    """A kitten phenotype: breeder words, the colour alone, and the FIFe EMS code."""

    name: str  # "blue tortie tabby bicolour (calico)"
    colour: str  # "blue tortie", "red", "white"
    ems: str  # "g 03 21"
    is_tortie: bool


def name_kitten(classes: Mapping[str, str]) -> KittenCoat:
    """The kitten's coat from the visible class of each locus (see ``loci.visible_class``).

    Ti and Mc may be missing: the tabby pattern is then not predicted and a tabby is "tabby".
    """
    if classes["W"] == "W":
        return KittenCoat("white", "white", "w", is_tortie=False)
    orange = classes["O"]
    base = BASE_NAMES[classes["B"], classes["D"]]
    is_tortie = orange == "Oo"
    if orange == "O":
        colour = "red" if classes["D"] == "D" else "cream"
    else:
        colour = f"{base} tortie" if is_tortie else base
    is_tabby = classes["A"] == "A"  # red aa still shows faint markings: a "red self"
    tabby_pattern = None
    if is_tabby and "Ti" in classes:
        tabby_pattern = (
            "ticked"
            if classes["Ti"] == "Ti"
            else {"Mc": "mackerel"}.get(classes.get("Mc", ""), "classic")
        )
    point = classes["C"]
    shown = colour
    if point != "C" and colour.startswith("black"):
        shown = colour.replace("black", "seal", 1)  # a pointed black is a seal point
    words = [shown]
    if is_tabby:
        words.append(f"{tabby_pattern} tabby" if tabby_pattern else "tabby")
    if classes["S"] in WHITE_WORDS:
        words.append(WHITE_WORDS[classes["S"]])
    if point != "C":
        words.append(point)
    if len(words) == 1 and not is_tortie:
        words.append("self")
    name = " ".join(words)
    if is_tortie and classes["S"] in WHITE_WORDS:
        name += " (calico)"
    ems = [EMS_COLOURS[colour]]
    if classes["S"] in EMS_WHITE:
        ems.append(EMS_WHITE[classes["S"]])
    if is_tabby:
        ems.append(EMS_TABBY[tabby_pattern])
    if point in EMS_POINTS:
        ems.append(EMS_POINTS[point])
    return KittenCoat(name, colour, " ".join(ems), is_tortie)
