"""A parent's possible genotypes: what its coat allows, its stated genotype and lab results.

Each locus ends as a probability over genotypes. Where the coat leaves alleles open, the prior
decides: equal odds over the genotypes the coat allows, or Hardy-Weinberg odds from population
allele frequencies when they are given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import UserError
from core.litter.coats import CARRIED_ALLELES, Coat
from core.litter.loci import (
    LOCI,
    LOCUS,
    MALE,
    TABBY_PATTERN_LOCI,
    Genotype,
    Locus,
    notation,
    summary_notation,
    visible_class,
)

AlleleFrequencies = Mapping[str, Mapping[str, float]]  # locus -> allele -> frequency
Distribution = dict[Genotype, float]

WILDCARDS = frozenset({"-", "_"})
GENOTYPE_SYMBOLS: dict[str, tuple[str, str]] = {  # what people type -> (locus, allele)
    "XO": ("O", "O"),
    "Xo": ("O", "o"),
    "O": ("O", "O"),
    "o": ("O", "o"),
    "Y": ("O", "Y"),
    **{allele: (locus.name, allele) for locus in LOCI[1:] for allele in locus.alleles},
}
UNPREDICTED_SYMBOLS = {"Dm": "the dilute modifier", "Wb": "wide band", "I": "the silver inhibitor"}
UNICODE = {"ˡ": "l", "ˢ": "s", "ᵇ": "b", "ᴼ": "O", "ᵒ": "o", "^": "", "/": " ", ",": " "}
UNSURE = "?"  # the breeder page's mark for a trait the model is unsure of: nothing stated


@dataclass(frozen=True)
class Parent:
    """One parent: its sex, coat words, and a probability over genotypes at each locus."""

    role: str  # "sire" or "dam"
    sex: str
    coat: str  # breeder words, "" when the coat is not known
    loci: dict[str, Distribution]
    names_tabby_pattern: bool  # the breeder said something about Ti or Mc

    def genotype_line(self, loci: tuple[str, ...] | None = None) -> str:
        """The parent's genotype as far as it is known, e.g. "X^o Y B- D- aa ss C-"."""
        parts = []
        for name in loci or tuple(self.loci):
            locus = LOCUS[name]
            part = summary_notation(locus, list(self.loci[name]))
            if part and part != "ww":
                parts.append(part)
        return " ".join(parts)


def parse_genotype(text: str, role: str, sex: str) -> dict[str, set[Genotype]]:
    """The genotypes a stated genotype allows per locus, e.g. "B- dd Ss cs cs" or "X^O Y".

    A "-" stands for an unknown second allele below the first in dominance ("B-": BB, Bb, Bb^l).
    """
    cleaned = str(text)
    for old, new in UNICODE.items():
        cleaned = cleaned.replace(old, new)
    alleles: dict[str, list[str]] = {}
    last: str | None = None
    for chunk in cleaned.replace(UNSURE, " ").split():
        position = 0
        while position < len(chunk):
            symbol = next(
                (
                    chunk[position : position + size]
                    for size in (2, 1)
                    if chunk[position : position + size] in GENOTYPE_SYMBOLS
                    or chunk[position : position + size] in WILDCARDS
                    or chunk[position : position + size] in UNPREDICTED_SYMBOLS
                ),
                None,
            )
            if symbol is None:
                raise UserError(
                    f"The {role}'s genotype {text!r} has {chunk[position:]!r}, which is no allele "
                    "we know; write loci like 'X^o Y Bb dd A- Ss cs cs ww'."
                )
            if symbol in UNPREDICTED_SYMBOLS:
                raise UserError(
                    f"The {role}'s genotype {text!r} names {symbol}, "
                    f"{UNPREDICTED_SYMBOLS[symbol]}, which is not predicted; leave it out."
                )
            position += len(symbol)
            if symbol in WILDCARDS:
                if last is None:
                    raise UserError(
                        f"The {role}'s genotype {text!r} starts with {symbol!r}; put the known "
                        "allele first, as in 'B-'."
                    )
                alleles[last].append(symbol)
                continue
            last, allele = GENOTYPE_SYMBOLS[symbol]
            alleles.setdefault(last, []).append(allele)
    return {name: _allowed(LOCUS[name], given, text, role, sex) for name, given in alleles.items()}


def _allowed(locus: Locus, given: list[str], text: str, role: str, sex: str) -> set[Genotype]:
    """The genotypes one locus of a stated genotype allows."""
    if locus.is_sex_linked:
        x_alleles = [allele for allele in given if allele != "Y"]
        if sex == MALE and len(x_alleles) != 1:
            raise UserError(
                f"The {role}'s genotype {text!r} has {len(x_alleles)} O alleles, but a male has "
                "one X chromosome; write X^O Y (red) or X^o Y (not red)."
            )
        if sex != MALE and "Y" in given:
            raise UserError(
                f"The {role}'s genotype {text!r} has a Y chromosome, but the {role} is female; "
                "write two X alleles such as X^O X^o."
            )
        given = x_alleles
        if sex != MALE and len(given) == 1:  # the breeder page writes a red cat's X^O alone
            given = [*given, "-"]
    expected = 1 if locus.is_sex_linked and sex == MALE else 2
    if len(given) != expected or given[0] in WILDCARDS:
        example = notation(locus, locus.alleles[:expected])
        count = f"{len(given)} allele{'' if len(given) == 1 else 's'}"
        raise UserError(
            f"The {role}'s genotype {text!r} gives {count} at {locus.name}; write {expected}, "
            f"as in {example!r}."
        )
    if given[-1] in WILDCARDS:
        return {genotype for genotype in locus.genotypes(sex) if genotype[0] == given[0]}
    return {locus.sort(given)}


def coat_classes(coat: Coat, sex: str, role: str) -> dict[str, set[str]]:
    """The visible classes (``visible_class``) each locus may have for this coat."""
    if coat.is_tortie and sex == MALE:
        raise UserError(
            f"The {role} is a tortie, but a tortie tom is an XXY rarity and almost always "
            "sterile; check the sex or give the coat without 'tortie'."
        )
    if coat.colour is None:
        classes: dict[str, set[str]] = {}
    elif coat.colour == "white":
        return {"W": {"W"}}  # dominant white masks every other colour gene
    else:
        classes = {"W": {"w"}}
        if coat.is_tortie:
            classes["O"] = {"Oo"}
        else:
            classes["O"] = {"O"} if coat.is_orange else {"o"}
        if not coat.is_orange:
            classes["B"] = {
                {"black": "B", "blue": "B", "chocolate": "b", "lilac": "b"}.get(coat.colour, "bl")
            }
        classes["D"] = {"d" if coat.colour in ("blue", "lilac", "fawn", "cream") else "D"}
        if coat.is_tabby is not None and not coat.is_orange:
            classes["A"] = {"A" if coat.is_tabby else "a"}
    if coat.is_tabby and coat.tabby_pattern:
        classes["Ti"] = {"Ti" if coat.tabby_pattern == "ticked" else "ti"}
        if coat.tabby_pattern != "ticked":
            classes["Mc"] = {"Mc" if coat.tabby_pattern == "mackerel" else "mc"}
    if coat.pattern is not None:
        classes["S"] = {{"self": "ss", "bicolour": "Ss", "van": "SS"}[coat.pattern]}
    if coat.point is not None:
        classes["C"] = {"C" if coat.point == "full" else coat.point}
    return classes


def build_parent(
    role: str,
    sex: str,
    coat: Coat,
    *,
    genotype: str | None = None,
    lab_results: Mapping[str, bool | None] | None = None,
    allele_frequencies: AlleleFrequencies | None = None,
) -> Parent:
    """The parent's genotype odds per locus from its coat, stated genotype and lab results."""
    classes = coat_classes(coat, sex, role)
    stated = parse_genotype(genotype, role, sex) if genotype else {}
    carries = {**coat.carries, **{k: v for k, v in (lab_results or {}).items() if v is not None}}
    loci: dict[str, Distribution] = {}
    coat_name = coat.name() or "unknown coat"
    for locus in LOCI:
        allowed = [
            g
            for g in locus.genotypes(sex)
            if visible_class(locus, g) in classes.get(locus.name, {visible_class(locus, g)})
        ]
        if locus.name in stated:
            narrowed = [g for g in allowed if g in stated[locus.name]]
            if not narrowed:
                needs = summary_notation(locus, allowed) or " or ".join(
                    notation(locus, g) for g in allowed
                )
                raise UserError(
                    f"The {role}'s genotype {genotype!r} contradicts its coat {coat_name!r}, "
                    f"which needs {needs} at {locus.name}; correct one of the two."
                )
            allowed = narrowed
        for word, is_carrier in carries.items():
            locus_name, allele = CARRIED_ALLELES[word]
            if locus_name != locus.name:
                continue
            narrowed = [g for g in allowed if (allele in g) == is_carrier]
            if not narrowed:
                status = "a carrier" if is_carrier else "clear"
                given = f"coat {coat_name!r}" + (f" and genotype {genotype!r}" if genotype else "")
                raise UserError(
                    f"The {role} cannot be {status} of {word}, as its {given} rule that out; "
                    "check the lab result."
                )
            allowed = narrowed
        loci[locus.name] = _weigh(locus, allowed, allele_frequencies)
    names_tabby_pattern = (
        any(name in stated for name in TABBY_PATTERN_LOCI)
        or bool(coat.tabby_pattern)
        or any(CARRIED_ALLELES[word][0] in TABBY_PATTERN_LOCI for word in carries)
    )
    return Parent(role, sex, coat.name(), loci, names_tabby_pattern)


def _weigh(
    locus: Locus, genotypes: list[Genotype], frequencies: AlleleFrequencies | None
) -> Distribution:
    """Prior odds over the allowed genotypes: equal, or Hardy-Weinberg from allele frequencies."""
    given = dict((frequencies or {}).get(locus.name) or {})
    if not given:
        return {genotype: 1 / len(genotypes) for genotype in genotypes}
    missing = [allele for allele in locus.alleles if allele not in given]
    rest = max(0.0, 1 - sum(float(value) for value in given.values()))
    given.update({allele: rest / len(missing) for allele in missing})  # "D:d=0.3" means D 0.7
    weights = {}
    for genotype in genotypes:
        weight = 1.0
        for allele in genotype:
            weight *= float(given.get(allele, 0.0))
        weights[genotype] = weight * (2 if len(set(genotype)) == 2 else 1)
    total = sum(weights.values())
    if total <= 0:
        raise UserError(
            f"The allele frequencies {given!r} at {locus.name} give every genotype the coat "
            "allows a zero chance; give each allele a frequency above 0."
        )
    return {genotype: weight / total for genotype, weight in weights.items() if weight > 0}


def check_frequencies(frequencies: AlleleFrequencies | None) -> None:
    """Refuse allele frequencies for unknown loci or alleles, or below 0."""
    for name, given in (frequencies or {}).items():
        if name not in LOCUS:
            raise UserError(
                f"Allele frequencies are given for {name!r}, which is no locus we predict; use "
                f"one of: {', '.join(LOCUS)}."
            )
        for allele, value in given.items():
            if allele not in LOCUS[name].alleles or float(value) < 0:
                raise UserError(
                    f"The frequency {value!r} of {allele!r} at {name} is not usable; give each of "
                    f"{', '.join(LOCUS[name].alleles)} a number of at least 0."
                )
