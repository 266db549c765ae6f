"""Plan a litter: python -m jobs.litter --sire "black tabby" --dam "blue, carries chocolate".

Prints the kittens' coats with their odds, males and females apart, the assumption behind the
odds, and the loci not predicted; --json prints the same as the API answers.
"""

from __future__ import annotations

import argparse
import json

from core.errors import UserError
from core.litter.loci import SEXES
from core.services.litter import LitterPlan, ParentSpec, plan_litter
from jobs._cli import run_cli


def lab_results(pairs: list[str], role: str) -> dict[str, str]:
    """--sire-lab dilute=carrier pairs as a dict."""
    results = {}
    for pair in pairs:
        word, sep, value = pair.partition("=")
        if not sep:
            raise UserError(
                f"The {role} lab result {pair!r} has no '='; write it like dilute=carrier."
            )
        results[word.strip()] = value.strip()
    return results


def frequencies(pairs: list[str]) -> dict[str, dict[str, float]]:
    """--frequency D:d=0.3 pairs as locus -> allele -> frequency."""
    found: dict[str, dict[str, float]] = {}
    for pair in pairs:
        locus, _, rest = pair.partition(":")
        allele, sep, value = rest.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not allele or number is None:
            raise UserError(
                f"The allele frequency {pair!r} is not LOCUS:ALLELE=NUMBER; write it like D:d=0.3."
            )
        found.setdefault(locus.strip(), {})[allele.strip()] = number
    return found


def describe(plan: LitterPlan, *, with_ems: bool) -> str:
    """The plan as text: parents, one table per sex, then the notes."""
    lines = [
        f"Sire: {plan.sire.coat or 'coat not given'} ({plan.sire.genotype})",
        f"Dam:  {plan.dam.coat or 'coat not given'} ({plan.dam.genotype})",
    ]
    for sex in SEXES:
        lines.append("")
        lines.append(f"{sex.capitalize()} kittens:")
        for row in plan.table(sex):
            ems = f"  [{row.ems}]" if with_ems else ""
            lines.append(f"  {row.probability:7.2%}  {row.name}{ems}  {row.genotype}")
    lines.append("")
    lines.append(plan.assumption)
    lines.extend(plan.notes)
    lines.append("Not predicted: " + "; ".join(plan.not_predicted) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.litter", description=__doc__)
    for role in ("sire", "dam"):
        parser.add_argument(f"--{role}", default="", help=f"the {role}'s coat in breeder words")
        parser.add_argument(
            f"--{role}-genotype", default="", help="e.g. 'X^o Y Bb dd A- ss C-' ('-': unknown)"
        )
        parser.add_argument(
            f"--{role}-lab",
            action="append",
            default=[],
            metavar="ALLELE=RESULT",
            help="a lab result, e.g. dilute=carrier or chocolate=non-carrier (repeatable)",
        )
    parser.add_argument(
        "--frequency",
        action="append",
        default=[],
        metavar="LOCUS:ALLELE=NUMBER",
        help="population allele frequency instead of equal odds, e.g. D:d=0.3 (repeatable)",
    )
    parser.add_argument("--ems", action="store_true", help="show FIFe EMS codes")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)
    parents = {}
    for role in ("sire", "dam"):
        coat, genotype = getattr(args, role), getattr(args, f"{role}_genotype")
        if not coat.strip() and not genotype.strip():
            raise UserError(
                f"No {role} was given; describe it with --{role} 'black tabby' or give "
                f"--{role}-genotype."
            )
        parents[role] = ParentSpec(
            coat=coat,
            genotype=genotype,
            lab_results=lab_results(getattr(args, f"{role}_lab"), role),
        )
    plan = plan_litter(
        parents["sire"], parents["dam"], allele_frequencies=frequencies(args.frequency) or None
    )
    print(json.dumps(plan.to_json(), indent=2) if args.json else describe(plan, with_ems=args.ems))
    return 0


if __name__ == "__main__":
    run_cli(main)
