"""Identify photos with the active model: python -m jobs.identify IMAGE... [--json]."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.config import Settings
from core.db.database import get_database
from core.db.models import ModelRepository
from core.errors import UserError
from core.services.predictions import ActiveModelCache, decode_for, identify, result_to_json
from jobs._cli import run_cli


def describe(result: dict) -> str:
    if result.get("unfamiliar"):  # before the gate: on such a photo the gate is a guess too
        return f"{result['message']} (unfamiliarity {result['unfamiliarity']:.2f})"
    if result.get("is_cat") is False:
        return "probably not a cat"
    parts = []
    for trait, value in result["label"].items():
        probability = max(result["probabilities"][trait].values())
        unsure = " (not sure)" if trait in result["unsure"] else ""
        parts.append(f"{trait}={value} {probability:.0%}{unsure}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.identify", description=__doc__)
    parser.add_argument("images", nargs="+", type=Path, help="image files")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one per file")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    loaded = ActiveModelCache(ModelRepository(get_database(settings))).get()
    answers: list[dict] = []
    for path in args.images:
        try:
            data = path.read_bytes()
        except OSError as err:
            answers.append({"file": str(path), "error": f"{path} cannot be read: {err.strerror}."})
            continue
        try:
            image = decode_for(loaded, data, path.name, max_bytes=settings.max_upload_bytes)
        except UserError as err:
            answers.append({"file": str(path), "error": str(err)})
            continue
        answers.append(
            {"file": str(path), **result_to_json(identify(loaded, image), loaded.record.schema)}
        )
    if args.json:
        print(json.dumps(answers, indent=2))
    else:
        for answer in answers:
            print(f"{answer['file']}: {answer.get('error') or describe(answer)}")
    return 0 if all("error" not in answer for answer in answers) else 1


if __name__ == "__main__":
    run_cli(main)
