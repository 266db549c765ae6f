"""Add synthetic demo images: python -m jobs.demo --images N [--seed S] [--unlabelled K]."""

from __future__ import annotations

import argparse

from core.config import Settings
from core.db.database import get_database
from core.db.training_images import TrainingImageRepository
from core.labels import get_schema
from core.services.demo import add_demo_images
from jobs._cli import ProgressBar, run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.demo", description=__doc__)
    parser.add_argument("--images", type=int, default=300, help="labelled images (default 300)")
    parser.add_argument("--unlabelled", type=int, default=0, help="extra images without label")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--schema", help="label schema (default: LABEL_SCHEMA or cat_phenotype)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    schema = get_schema(args.schema or settings.label_schema)
    repository = TrainingImageRepository(get_database(settings))
    total = args.images + args.unlabelled
    report = add_demo_images(
        repository,
        schema,
        count=args.images,
        seed=args.seed,
        unlabelled=args.unlabelled,
        progress=ProgressBar(total, "demo images"),
    )
    print(report.summary())
    for outcome in report.rejected:
        print(f"  rejected {outcome.filename}: {outcome.reason}")
    return 0


if __name__ == "__main__":
    run_cli(main)
