"""Import a folder tree, a .zip or one image: python -m jobs.import_images PATH [--schema S].

Images in folders named like labels (blue/, red_tabby_van/, not_cat/, or breed folders for the
dog schema) are imported labelled; the rest unlabelled. See docs/importing.md.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from core.config import Settings
from core.db.database import get_database
from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import is_image_filename
from core.labels import get_schema
from core.services.archive_import import import_uploads, import_zip
from core.services.folder_import import import_folder
from core.services.import_batch import ArchiveReport
from jobs._cli import ProgressBar, run_cli


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "command line"


def print_report(report: ArchiveReport) -> None:
    """The report as text: a summary, then near-duplicates, rejected files and notes."""
    print(report.summary())
    near = [o for o in report.outcomes if o.status == "added" and o.near_duplicate_of]
    if near:
        print(f"Possible duplicates ({len(near)}), imported and flagged:")
        for outcome in near:
            print(f"  {outcome.filename}: looks like image {outcome.near_duplicate_of}")
    if report.rejected:
        print(f"Rejected ({len(report.rejected)}):")
        for outcome in report.rejected:
            print(f"  {outcome.filename}: {outcome.reason}")
    for note in report.notes:
        print(f"Note: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.import_images", description=__doc__)
    parser.add_argument("path", type=Path, help="a folder of images, a .zip file or one image")
    parser.add_argument("--schema", help="label schema (default: LABEL_SCHEMA or cat_phenotype)")
    parser.add_argument("--by", default=_default_user(), help="who labelled (default: you)")
    args = parser.parse_args(argv)
    path: Path = args.path.expanduser()
    if not path.exists():
        raise UserError(f"{str(path)!r} does not exist; give a folder of images or a .zip file.")
    is_zip = path.is_file() and path.suffix.lower() == ".zip"
    if path.is_file() and not is_zip and not is_image_filename(path.name):
        raise UserError(
            f"{str(path)!r} is neither a folder, a .zip file nor an image; give one of those."
        )
    settings = Settings.from_env()
    schema = get_schema(args.schema or settings.label_schema)
    repository = TrainingImageRepository(get_database(settings))
    bar = ProgressBar(0, "files")

    def progress(done: int, total: int, _name: str) -> None:
        bar(done, total)

    common = {"schema": schema, "by": args.by, "progress": progress}
    if path.is_dir():
        report = import_folder(repository, path, max_bytes=settings.max_upload_bytes, **common)
    elif is_zip:
        report = import_zip(repository, path, max_bytes=settings.max_upload_bytes, **common)
    else:
        with path.open("rb") as handle:
            report = import_uploads(
                repository, [(path.name, handle)], max_bytes=settings.max_upload_bytes, **common
            )
    print_report(report)
    return 0


if __name__ == "__main__":
    run_cli(main)
