"""The coat loci the litter planner predicts: alleles in dominance order, notation, classes.

A genotype is a tuple of allele symbols sorted by dominance (the expressed allele first):
``("B", "b")``, ``("cb", "cs")``; orange is X-linked, so a male has one allele, ``("O",)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

MALE = "male"
FEMALE = "female"
SEXES = (MALE, FEMALE)

Genotype = tuple[str, ...]


@dataclass(frozen=True)
class Locus:
    """One gene of the coat and its alleles, the most dominant first."""

    name: str  # "B"; also the key in every per-locus mapping
    title: str  # what people read, e.g. "B (black, chocolate b, cinnamon b^l)"
    alleles: tuple[str, ...]
    is_sex_linked: bool = False

    def rank(self, allele: str) -> int:
        """The allele's place in the dominance order (0 is the most dominant)."""
        return self.alleles.index(allele)

    def sort(self, alleles: tuple[str, ...] | list[str]) -> Genotype:
        """The alleles as a genotype: the expressed (most dominant) allele first."""
        return tuple(sorted(alleles, key=self.rank))

    def genotypes(self, sex: str) -> list[Genotype]:
        """Every genotype an animal of this sex can have at this locus."""
        if self.is_sex_linked and sex == MALE:
            return [(allele,) for allele in self.alleles]
        return list(combinations_with_replacement(self.alleles, 2))


LOCI: tuple[Locus, ...] = (
    Locus("O", "O (orange, on the X chromosome)", ("O", "o"), is_sex_linked=True),
    Locus("B", "B (black; chocolate b, cinnamon b^l)", ("B", "b", "bl")),
    Locus("D", "D (dense; dilute d)", ("D", "d")),
    Locus("A", "A (agouti: tabby shows; non-agouti a)", ("A", "a")),
    Locus("Ti", "Ti (ticked tabby, over the other tabby patterns)", ("Ti", "ti")),
    Locus("Mc", "Mc (mackerel tabby; classic mc)", ("Mc", "mc")),
    Locus("S", "S (white spotting: bicolour Ss, van SS)", ("S", "s")),
    Locus("C", "C (full colour; sepia cb, colourpoint cs; cb cs is mink)", ("C", "cb", "cs")),
    Locus("W", "W (dominant white, masks every other colour gene)", ("W", "w")),
)
LOCUS: dict[str, Locus] = {locus.name: locus for locus in LOCI}
TABBY_PATTERN_LOCI = ("Ti", "Mc")

NOT_PREDICTED: tuple[str, ...] = (
    "Dm, the 'dilute modifier' (caramel, apricot): disputed genetics and no DNA test",
    "Wb, 'wide band' (golden, shaded, chinchilla): disputed genetics and no DNA test",
    "I, the silver inhibitor (silver, smoke): no DNA test",
    "spotted tabby: modifiers of mackerel without a known gene",
    "how much white a bicolour or van shows: S sets the range, not the amount",
)

SYMBOLS = {"O": "X^O", "o": "X^o", "bl": "b^l"}  # notation where it differs from the symbol


def allele_notation(allele: str) -> str:
    """The allele as breeders write it: X^O, b^l, cs."""
    return SYMBOLS.get(allele, allele)


def notation(locus: Locus, genotype: Genotype) -> str:
    """One locus as breeders write it: "Bb", "b^l b^l", "cb cs", "X^O Y", "X^O X^o"."""
    parts = [allele_notation(allele) for allele in genotype]
    if locus.is_sex_linked:
        return " ".join(parts + ["Y"] if len(genotype) == 1 else parts)
    return ("" if all(len(part) == 1 for part in parts) else " ").join(parts)


def summary_notation(locus: Locus, genotypes: list[Genotype]) -> str | None:
    """One notation for several genotypes: exact, "B-" when they share the expressed allele.

    None when they differ in the expressed allele (the locus is hidden by another gene).
    """
    if len(set(genotypes)) == 1:
        return notation(locus, genotypes[0])
    expressed = {genotype[0] for genotype in genotypes}
    if len(expressed) == 1 and not locus.is_sex_linked:
        return f"{allele_notation(expressed.pop())}-"
    return None


def visible_class(locus: Locus, genotype: Genotype) -> str:
    """What this genotype shows by itself: the expressed allele, or a blend where it has one.

    Orange: "O", "o" or "Oo" (tortie, females only); white spotting: "ss", "Ss" or "SS";
    the C series: "C", "sepia" (cb cb), "mink" (cb cs) or "colourpoint" (cs cs).
    """
    if locus.name == "O":
        return "Oo" if len(set(genotype)) == 2 else genotype[0]
    if locus.name == "S":
        return "".join(genotype)
    if locus.name == "C":
        return {("cb", "cb"): "sepia", ("cb", "cs"): "mink", ("cs", "cs"): "colourpoint"}.get(
            genotype, "C"
        )
    return genotype[0]
