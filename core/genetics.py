"""Breeder vocabulary and feline coat genetics for a cat-phenotype label.

Pure functions of a label (``{"is_cat": True, "colour": "blue", "is_tabby": False, ...}``)
and the names of the traits the model is unsure about:

* ``usual_name``: "blue tabby bicolour colourpoint" (colour, tabby, pattern, colourpoint);
* ``genotype``: what a kitten-colour calculator needs, e.g. "B- dd A- Ss cs cs", with "-" for
  the allele a photo cannot tell, "?" where the model is unsure, and the loci that white or
  red hide left out;
* ``explain``: one line per trait saying what the value means genetically;
* ``flags``: combinations genetics rules out or makes unusual.

Orange is X-linked: a red tom is X^O Y and a red queen X^O X^O. A photo does not show the sex,
so a red or cream cat is written "X^O" (one X with the orange allele) in every genotype here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

UNSURE = "?"  # the model is unsure of the trait behind this part of the genotype

COLOUR_GENOTYPES: dict[str, str] = {
    "black": "B- D-",
    "blue": "B- dd",
    "chocolate": "bb D-",
    "lilac": "bb dd",
    "cinnamon": "b^l b^l D-",
    "fawn": "b^l b^l dd",
    "red": "X^O D-",
    "cream": "X^O dd",
    "white": "W-",
}
PATTERN_GENOTYPES = {"self": "ss", "bicolour": "Ss", "van": "SS"}
RED_COLOURS = frozenset({"red", "cream"})  # orange (O) hides the B series and the agouti gene
RARE_IN_BRITISH_SHORTHAIRS = frozenset({"cinnamon", "fawn"})
TRAIT_ORDER = ("colour", "is_tabby", "pattern", "is_pointed")

COLOUR_NOTES: dict[str, str] = {
    "black": "full-strength black pigment; the second alleles may be chocolate or cinnamon (b, "
    "b^l) and dilute (d), which the photo cannot show",
    "blue": "dilute black, as two copies of dilute d turn black into blue-grey",
    "chocolate": "two chocolate alleles b (or b b^l if it carries cinnamon; the photo cannot "
    "tell) give a warm dark brown",
    "lilac": "dilute chocolate, a pinkish dove-grey (or b b^l dd if it carries cinnamon)",
    "cinnamon": "two light-brown alleles b^l, the recessive end of the B series, give a warm "
    "reddish brown",
    "fawn": "dilute cinnamon, a pale warm beige-grey",
    "red": "the orange allele O on the X chromosome turns black pigment red and hides the B "
    "series; written X^O because a photo does not show the sex (a tom is X^O Y, a queen X^O X^O)",
    "cream": "dilute red; written X^O because orange is on the X chromosome and a photo does not "
    "show the sex (a tom is X^O Y, a queen X^O X^O)",
    "white": "dominant white masks every other colour gene, so the photo cannot show what the "
    "cat carries underneath",
}
PATTERN_NOTES = {
    "self": "no white, as there is no white-spotting allele S",
    "bicolour": "one white-spotting allele S gives about a third to a half white, usually chest, "
    "legs and face",
    "van": "two white-spotting alleles S (typically) give a mostly white cat with colour on the "
    "head and tail",
}


@dataclass(frozen=True)
class Genotype:
    """The genotype a kitten-colour calculator needs, whole and per trait."""

    line: str  # e.g. "B- dd A- Ss cs cs"; only white: "W-"
    parts: dict[str, str]  # trait name -> its part of the line; "" where the photo cannot tell


@dataclass(frozen=True)
class Flag:
    """A remark on a combination: ruled out by genetics, unusual, or a note to read with it."""

    kind: str  # "ruled_out", "unusual" or "note"
    message: str


def usual_name(label: Mapping[str, Any]) -> str:
    """The breeder's name of the coat: colour, then tabby, pattern and colourpoint.

    "blue tabby bicolour colourpoint", "red tabby van", "lilac colourpoint", "blue self";
    "white" alone (white hides the rest); "not a cat" for a non-cat.
    """
    if label.get("is_cat") is False:
        return "not a cat"
    colour = label.get("colour")
    if colour is None:
        return "cat"
    if colour == "white":
        return "white"
    words = [str(colour)]
    if label.get("is_tabby"):
        words.append("tabby")
    pattern = label.get("pattern")
    if pattern and pattern != "self":
        words.append(str(pattern))
    if label.get("is_pointed"):
        words.append("colourpoint")
    if len(words) == 1 and pattern == "self":
        words.append("self")  # a solid coat without white or points: "blue self"
    return " ".join(words)


def with_article(name: str) -> str:
    """The name after "a" or "an": "a blue tabby", "an Afghan hound"."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def genotype(label: Mapping[str, Any], unsure: Collection[str] = ()) -> Genotype | None:
    """The genotype for a cat label; None for a non-cat.

    "-" stands for the allele a photo cannot tell (B- may be B, b or b^l underneath), "?" for a
    trait the model is unsure of or that is missing. A white cat is "W-" alone: dominant white
    masks every other gene. Red and cream leave out the agouti gene: it cannot be seen on them.
    When the colour itself is unsure, the other genes are read as if it were neither.
    """
    if label.get("is_cat") is False:
        return None

    def known(trait: str) -> bool:
        return label.get(trait) is not None and trait not in unsure

    colour = label.get("colour") if known("colour") else None
    if colour == "white":
        return Genotype("W-", {"colour": "W-", "is_tabby": "", "pattern": "", "is_pointed": ""})
    if colour in RED_COLOURS:
        agouti = ""
    else:
        agouti = ("A-" if label["is_tabby"] else "aa") if known("is_tabby") else UNSURE
    parts = {
        "colour": COLOUR_GENOTYPES.get(str(colour), UNSURE),
        "is_tabby": agouti,
        "pattern": PATTERN_GENOTYPES.get(str(label["pattern"]), UNSURE)
        if known("pattern")
        else UNSURE,
        "is_pointed": ("cs cs" if label["is_pointed"] else "C-") if known("is_pointed") else UNSURE,
    }
    line = " ".join(parts[t] for t in TRAIT_ORDER if parts[t])
    return Genotype(line, parts)


def explain(label: Mapping[str, Any], trait: str) -> str:
    """One line on what this trait's value means genetically (empty for an unknown trait)."""
    colour = label.get("colour")
    if trait not in label or label.get("is_cat") is False:
        return ""
    value = label[trait]
    if trait == "colour":
        if value not in COLOUR_NOTES:
            return ""
        return f"{str(value).capitalize()} ({COLOUR_GENOTYPES[value]}): {COLOUR_NOTES[value]}."
    if colour == "white":
        return "Hidden: dominant white masks it, so the photo cannot tell."
    if trait == "is_tabby":
        if colour in RED_COLOURS:
            shown = "Tabby markings show" if value else "Only faint markings show"
            return (
                f"{shown}; red and cream show some tabby markings whatever the agouti gene, so "
                "A- and aa cannot be told apart from a photo."
            )
        if value:
            return (
                "Tabby (A-): at least one agouti allele A lets the tabby markings show; the "
                "other allele cannot be told."
            )
        return "Not tabby (aa): two non-agouti alleles give a solid coat without markings."
    if trait == "pattern":
        if value not in PATTERN_NOTES:
            return ""
        return f"{str(value).capitalize()} ({PATTERN_GENOTYPES[value]}): {PATTERN_NOTES[value]}."
    if trait == "is_pointed":
        if value:
            return (
                "Colourpoint (cs cs): two Siamese alleles at the C locus keep the colour to the "
                "cooler points (face, ears, legs, tail), with blue eyes."
            )
        return "Not colourpoint (C-): full colour all over; it may still carry the Siamese cs."
    return ""


def flags(label: Mapping[str, Any]) -> list[Flag]:
    """Combinations in the label that genetics rules out, makes unusual, or needs a note on.

    Leave out the traits the model is unsure of: a flag should rest on what it is sure of.
    """
    if label.get("is_cat") is False:
        return []
    colour = label.get("colour")
    pattern = label.get("pattern")
    found: list[Flag] = []
    if colour == "white":
        if label.get("is_tabby"):
            found.append(
                Flag(
                    "ruled_out",
                    "A white cat shows no tabby markings (dominant white hides them); a cat with "
                    "visible markings is more likely a pale cream or silver tabby.",
                )
            )
        if pattern in ("bicolour", "van"):
            found.append(
                Flag(
                    "ruled_out",
                    f"A dominant white cat cannot show a {pattern} pattern (W covers the whole "
                    "coat); a white cat with coloured patches is a van or bicolour of that "
                    "patch colour.",
                )
            )
        if label.get("is_pointed"):
            found.append(
                Flag(
                    "ruled_out",
                    "Dominant white hides colourpoints; a white-looking cat with visible points "
                    "is a pale colourpoint such as a cream or lilac point, not a white.",
                )
            )
        return found
    if colour in RED_COLOURS and label.get("is_tabby") is False:
        found.append(
            Flag(
                "note",
                f"{str(colour).capitalize()} cats always show some tabby markings whatever "
                f'the agouti gene, so "not tabby" means faint markings (a {colour} self), and '
                "the genotype leaves the agouti gene out.",
            )
        )
    if colour in RARE_IN_BRITISH_SHORTHAIRS:
        found.append(
            Flag(
                "unusual",
                f"{str(colour).capitalize()} is rare in British Shorthairs; check the pedigree, as "
                "chocolate, lilac, red or cream can look similar in a photo.",
            )
        )
    if pattern == "van" and label.get("is_pointed"):
        found.append(
            Flag(
                "unusual",
                "A van colourpoint is unusual: with so much white, little of the points shows; "
                "look at the ears and tail to be sure.",
            )
        )
    return found
