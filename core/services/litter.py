"""The litter planner's one call: two parents in, the kittens' coats with their odds by sex out.

The breeder page, the API and ``jobs.litter`` all call ``plan_litter``. A parent is coat words
("blue, carries chocolate"), a photo's prediction (a label dict or ``result_to_json``'s dict,
or a ``PredictionResult``), the breeder page's ``CoatForm``, or a ``ParentSpec`` / dict
with ``coat``, ``genotype``, ``carries`` and ``lab_results``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import UserError
from core.litter.coats import (
    Coat,
    allele_word,
    coat_from_prediction,
    parse_coat_words,
    parse_lab_results,
)
from core.litter.cross import KittenRow, cross
from core.litter.form import CoatForm
from core.litter.loci import (
    FEMALE,
    LOCI,
    LOCUS,
    MALE,
    NOT_PREDICTED,
    SEXES,
    TABBY_PATTERN_LOCI,
    notation,
)
from core.litter.parents import AlleleFrequencies, Parent, build_parent, check_frequencies

SPEC_KEYS = frozenset({"coat", "genotype", "carries", "lab_results"})
RARE_MALE_NOTE = (
    "Tortie and calico kittens are all female: a tortie tom needs two X chromosomes (XXY), "
    "about 1 in 3,000 toms, and is almost always sterile."
)
EQUAL_ODDS = (
    "Assumption: where a parent's coat leaves alleles open, every genotype it allows is equally "
    "likely (a black cat is BB, Bb or B b^l at odds of 1/3 each); give carriers, lab results or "
    "genotypes to narrow it."
)
POPULATION_ODDS = (
    "Assumption: where a parent's coat leaves alleles open, its genotypes follow the population "
    "allele frequencies given (Hardy-Weinberg odds), equal odds at loci without frequencies."
)
TABBY_PATTERN_NOTE = (
    "Tabby pattern (Ti ticked, Mc mackerel, mc classic) is not predicted, as neither parent's is "
    "given; say mackerel, classic or ticked to include it."
)


@dataclass(frozen=True)
class ParentSpec:
    """One parent as the breeder gives it: coat words or a photo's prediction, and/or more."""

    coat: str | Mapping[str, Any] | Coat | CoatForm | None = None  # words, a prediction dict
    genotype: str | None = None  # "X^o Y Bb dd A- ss C-": "-" for an unknown second allele
    lab_results: Mapping[str, str] = field(default_factory=dict)  # "dilute": "carrier"
    carries: tuple[str, ...] = ()  # what it is known to carry: "chocolate", "dilute"


ParentInput = str | Mapping[str, Any] | ParentSpec | Any  # Any: a PredictionResult


@dataclass(frozen=True)
class ParentView:
    """What the plan read of one parent."""

    role: str  # "sire" or "dam"
    coat: str  # breeder words, "" when not given
    genotype: str  # as far as it is known, e.g. "X^o Y B- D- aa ss C-"
    genotypes: dict[str, dict[str, float]]  # locus -> notation -> odds under the assumption


@dataclass(frozen=True)
class LitterPlan:
    """The kittens' coats with their odds, by sex, and how to read them."""

    sire: ParentView
    dam: ParentView
    rows: tuple[KittenRow, ...]  # males then females, each sex summing to 1, likeliest first
    loci: tuple[str, ...]  # the loci predicted, e.g. ("O", "B", "D", "A", "S", "C", "W")
    assumption: str  # the prior, in one line
    notes: tuple[str, ...]  # rare male torties, tabby pattern left out, words read but ignored
    not_predicted: tuple[str, ...]

    def table(self, sex: str) -> list[KittenRow]:
        """The rows of one sex ("male" or "female")."""
        if sex not in SEXES:
            raise ValueError(f"sex must be one of {SEXES}, not {sex!r}")
        return [row for row in self.rows if row.sex == sex]

    def to_json(self) -> dict[str, Any]:
        """The plan as plain JSON for the API and ``--json``."""
        return {
            "sire": vars(self.sire),
            "dam": vars(self.dam),
            "kittens": {
                sex: [
                    {
                        "name": row.name,
                        "colour": row.colour,
                        "ems": row.ems,
                        "genotype": row.genotype,
                        "probability": row.probability,
                        "genotypes": row.genotypes,
                    }
                    for row in self.table(sex)
                ]
                for sex in SEXES
            },
            "loci": [LOCUS[name].title for name in self.loci],
            "assumption": self.assumption,
            "notes": list(self.notes),
            "not_predicted": list(self.not_predicted),
        }


def plan_litter(
    sire: ParentInput,
    dam: ParentInput,
    *,
    allele_frequencies: AlleleFrequencies | None = None,
) -> LitterPlan:
    """The kittens' coats of this pairing with their odds, separately for males and females."""
    check_frequencies(allele_frequencies)
    sire_spec, dam_spec = as_spec(sire, "sire"), as_spec(dam, "dam")
    notes: list[str] = []
    parents = []
    for spec, role, sex in ((sire_spec, "sire", MALE), (dam_spec, "dam", FEMALE)):
        coat = read_coat(spec.coat, role)
        notes.extend(coat.notes)
        parents.append(
            build_parent(
                role,
                sex,
                coat,
                genotype=spec.genotype or None,
                lab_results=known_carriers(spec, role),
                allele_frequencies=allele_frequencies,
            )
        )
    sire_parent, dam_parent = parents
    loci = tuple(locus.name for locus in LOCI)
    if not (sire_parent.names_tabby_pattern or dam_parent.names_tabby_pattern):
        loci = tuple(name for name in loci if name not in TABBY_PATTERN_LOCI)
        notes.append(TABBY_PATTERN_NOTE)
    rows = tuple(row for sex in SEXES for row in cross(sire_parent, dam_parent, loci, sex))
    if any(row.colour.endswith("tortie") for row in rows):
        notes.insert(0, RARE_MALE_NOTE)
    return LitterPlan(
        sire=_view(sire_parent, loci),
        dam=_view(dam_parent, loci),
        rows=rows,
        loci=loci,
        assumption=POPULATION_ODDS if allele_frequencies else EQUAL_ODDS,
        notes=tuple(notes),
        not_predicted=NOT_PREDICTED,
    )


def as_spec(parent: ParentInput, role: str) -> ParentSpec:
    """Any accepted form of a parent as a ParentSpec."""
    if parent is None:
        raise UserError(
            f"No {role} is given; choose a photo of it, describe its coat in words or give its "
            "genotype."
        )
    if isinstance(parent, ParentSpec):
        return parent
    if isinstance(parent, str):
        return ParentSpec(coat=parent)
    if isinstance(parent, Mapping):
        if SPEC_KEYS & set(parent):
            unknown = set(parent) - SPEC_KEYS
            if unknown:
                raise UserError(
                    f"The {role} has the unknown field {sorted(unknown)[0]!r}; give coat, "
                    "genotype, carries and lab_results only."
                )
            return ParentSpec(
                coat=parent.get("coat"),
                genotype=parent.get("genotype"),
                lab_results=parent.get("lab_results") or {},
                carries=tuple(parent.get("carries") or ()),
            )
        return ParentSpec(coat=parent)
    if hasattr(parent, "label") and hasattr(parent, "unsure"):  # a PredictionResult
        return ParentSpec(
            coat={"label": parent.label, "unsure": parent.unsure, "is_cat": parent.passes_gate}
        )
    raise UserError(
        f"The {role} {parent!r} is not a parent we can read; give coat words, a genotype or a "
        "photo's prediction."
    )


def read_coat(coat: str | Mapping[str, Any] | Coat | CoatForm | None, role: str) -> Coat:
    """The coat from words or from a photo's prediction; an unknown coat when not given."""
    if coat is None or (isinstance(coat, str) and not coat.strip()):
        return Coat()
    if isinstance(coat, Coat):
        return coat
    if isinstance(coat, CoatForm):
        return coat.to_coat(role)
    if isinstance(coat, Mapping):
        return coat_from_prediction(coat, role)
    if isinstance(coat, str):
        return parse_coat_words(coat, role)
    raise UserError(f"The {role}'s coat {coat!r} is neither words nor a photo's prediction.")


def known_carriers(spec: ParentSpec, role: str) -> dict[str, bool | None]:
    """The lab results with what the parent is said to carry; UserError where the two disagree."""
    results = parse_lab_results(spec.lab_results, role)
    for word in spec.carries:
        key = allele_word(
            word, f"The {role} is said to carry {word!r}, which is not an allele we predict"
        )
        if results.get(key) is False:
            raise UserError(
                f"The {role} is said to carry {key}, but its lab result says non-carrier; "
                "correct one of the two."
            )
        results[key] = True
    return results


def _view(parent: Parent, loci: tuple[str, ...]) -> ParentView:
    genotypes = {
        name: {notation(LOCUS[name], g): odds for g, odds in parent.loci[name].items()}
        for name in loci
    }
    return ParentView(parent.role, parent.coat, parent.genotype_line(loci), genotypes)
