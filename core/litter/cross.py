"""The cross: Punnett squares locus by locus, then kitten phenotypes with their odds by sex.

Loci are inherited independently, and each parent's loci are independent under the prior, so
a kitten's odds are the product of the per-locus odds. Orange is on the X chromosome: sons get
their mother's X only, daughters one X from each parent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import product

from core.litter.loci import LOCUS, MALE, Locus, notation, summary_notation, visible_class
from core.litter.naming import KittenCoat, name_kitten
from core.litter.parents import Distribution, Parent


@dataclass(frozen=True)
class KittenRow:
    """One kitten phenotype of one sex, with its odds among the kittens of that sex."""

    sex: str
    name: str  # breeder words, "black tortie tabby bicolour (calico)"
    colour: str  # the colour alone, "black tortie"
    ems: str  # FIFe EMS code, "f 03 21"
    genotype: str  # what these kittens share, "X^O X^o B- D- Aa Ss C-"; hidden loci left out
    probability: float
    genotypes: dict[str, dict[str, float]]  # locus -> notation -> odds within this phenotype


def gametes(locus: Locus, parent: Distribution) -> dict[str, float]:
    """The odds of each allele in the parent's egg or sperm at this locus (X only, for O)."""
    odds: dict[str, float] = defaultdict(float)
    for genotype, probability in parent.items():
        for allele in genotype:
            odds[allele] += probability / len(genotype)
    return dict(odds)


def kitten_genotypes(locus: Locus, sire: Parent, dam: Parent, sex: str) -> Distribution:
    """The Punnett square at one locus for a kitten of this sex."""
    from_dam = gametes(locus, dam.loci[locus.name])
    if locus.is_sex_linked and sex == MALE:  # the sire gives his sons a Y
        return {(allele,): odds for allele, odds in from_dam.items()}
    from_sire = gametes(locus, sire.loci[locus.name])
    odds: Distribution = defaultdict(float)
    for (sire_allele, sire_odds), (dam_allele, dam_odds) in product(
        from_sire.items(), from_dam.items()
    ):
        odds[locus.sort([sire_allele, dam_allele])] += sire_odds * dam_odds
    return dict(odds)


def cross(sire: Parent, dam: Parent, loci: tuple[str, ...], sex: str) -> list[KittenRow]:
    """Every kitten phenotype of this sex with its odds (summing to 1), the likeliest first."""
    by_class: list[list[tuple[str, float, Distribution]]] = []
    for name in loci:
        locus = LOCUS[name]
        grouped: dict[str, Distribution] = defaultdict(dict)
        for genotype, odds in kitten_genotypes(locus, sire, dam, sex).items():
            grouped[visible_class(locus, genotype)][genotype] = odds
        by_class.append([(cls, sum(members.values()), members) for cls, members in grouped.items()])
    totals: dict[KittenCoat, float] = defaultdict(float)
    shares: dict[KittenCoat, dict[str, Distribution]] = {}
    for combination in product(*by_class):
        probability = 1.0
        for _, odds, _ in combination:
            probability *= odds
        coat = name_kitten({name: cls for name, (cls, _, _) in zip(loci, combination, strict=True)})
        totals[coat] += probability
        per_locus = shares.setdefault(coat, {name: defaultdict(float) for name in loci})
        for name, (_, odds, members) in zip(loci, combination, strict=True):
            for genotype, member_odds in members.items():
                per_locus[name][genotype] += probability * member_odds / odds
    return sorted(
        (_row(sex, coat, totals[coat], shares[coat], loci) for coat in totals),
        key=lambda row: (-row.probability, row.name),
    )


def _row(
    sex: str,
    coat: KittenCoat,
    probability: float,
    shares: dict[str, Distribution],
    loci: tuple[str, ...],
) -> KittenRow:
    """One table row: the shared genotype line and each locus' genotype odds in the row."""
    parts = []
    genotypes: dict[str, dict[str, float]] = {}
    for name in loci:
        locus = LOCUS[name]
        present = list(shares[name])
        genotypes[name] = {
            notation(locus, genotype): shares[name][genotype] / probability
            for genotype in sorted(present, key=lambda g: tuple(locus.rank(a) for a in g))
        }
        part = summary_notation(locus, present)
        if part and part != "ww":
            parts.append(part)
    return KittenRow(sex, coat.name, coat.colour, coat.ems, " ".join(parts), probability, genotypes)
