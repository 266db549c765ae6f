"""Run the benchmark sections, print their table and write every number to benchmarks.json."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from dataclasses import replace
from typing import Any

from core.config import Settings
from jobs._cli import run_cli
from jobs.bench import Row
from jobs.bench import __doc__ as PACKAGE_DOC
from jobs.bench.scratch import bench_settings, scratch_database
from jobs.bench.training import DEFAULT_IMAGES

SECTIONS: dict[str, str] = {  # --only name: module in jobs/bench/ whose bench_rows() runs it
    "training": "training",
    "held-out": "held_out",  # the model the training section left active
    "prediction": "prediction",
    "import": "zip_import",
    "console": "console",
    "reporting": "reporting",
    "api": "api",
    "breeder": "breeder",
    "phone": "phone",
    "phone_import": "phone_import",
    "phone_training": "phone_training",  # 1,000 stored 12 MP photos: the longest section
}


def run_section(name: str, settings: Settings, images: int) -> tuple[list[Row], dict[str, Any]]:
    """Import one section's module and run its bench_rows()."""
    bench_rows = importlib.import_module(f"jobs.bench.{SECTIONS[name]}").bench_rows
    return bench_rows(settings, images=images) if name == "training" else bench_rows(settings)


def print_table(rows: list[Row]) -> None:
    """Print the rows as three left-aligned columns under a header."""
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    header = ("benchmark", "measured", "goal")
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections (all by default) in a throwaway database."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.bench",
        description=PACKAGE_DOC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument(
        "--images", type=int, default=DEFAULT_IMAGES, help="demo images to train on"
    )
    args = parser.parse_args(argv)
    if args.images < 50:
        parser.error(f"--images {args.images} is too few to train on; use at least 50.")
    chosen = [name for name in SECTIONS if name in (args.only or SECTIONS)]
    settings = bench_settings()
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "when": time.ctime()}
    rows: list[Row] = []
    with scratch_database(settings, f"{settings.mongo_db}_bench") as database:
        in_scratch = replace(settings, mongo_db=database.name)
        for name in chosen:
            print(f"Running the {name} benchmarks…", flush=True)
            section_rows, results[name] = run_section(name, in_scratch, args.images)
            rows += section_rows
    if rows:
        print()
        print_table(rows)
    out = settings.data_dir / "benchmarks.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nAll numbers: {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
