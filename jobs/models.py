"""The model registry: python -m jobs.models list | activate ID | delete ID | export ID."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.config import Settings
from core.db.database import get_database
from core.db.models import ModelRepository
from core.services.model_export import export_model
from jobs._cli import run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every model with its validation accuracy per trait")
    activate = commands.add_parser("activate", help="make a model the active one (rollback)")
    activate.add_argument("model_id")
    delete = commands.add_parser("delete", help="delete a model that is not active")
    delete.add_argument("model_id")
    export = commands.add_parser(
        "export", help="write a model file and its model.json (labels, thresholds) to a folder"
    )
    export.add_argument("model_id")
    export.add_argument("--format", choices=("keras", "tflite", "savedmodel"), default="keras")
    export.add_argument("--out", required=True, type=Path, help="the folder to write into")
    args = parser.parse_args(argv)
    models = ModelRepository(get_database(Settings.from_env()))
    if args.command == "list":
        records = models.list()
        if not records:
            print("No model yet; train one with: python -m jobs.train --wait")
        for record in records:
            accuracy = ", ".join(
                f"{trait} {m['val_accuracy']:.0%}"
                for trait, m in record.metrics.items()
                if m.get("val_accuracy") is not None
            )
            mark = "*" if record.is_active else " "
            print(
                f"{mark} {record.id}  {record.created_at:%Y-%m-%d %H:%M}  {record.backbone:14} "
                f"{record.training_set_size:6} images  {accuracy}"
            )
    elif args.command == "activate":
        models.activate(args.model_id)
        print(f"Model {args.model_id} is now active.")
    elif args.command == "export":
        for path in export_model(models, args.model_id, args.format, args.out):
            print(f"Wrote {path}")
    else:
        models.delete(args.model_id)
        print(f"Deleted model {args.model_id}.")
    return 0


if __name__ == "__main__":
    run_cli(main)
