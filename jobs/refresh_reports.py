"""Reporting warehouse snapshots: python -m jobs.refresh_reports [--date YYYY-MM-DD [--replace]]
[--delete-before YYYY-MM-DD | --delete-all --yes].

Without options it takes (or retakes) today's snapshot: run it from cron once a day, e.g.
`15 2 * * * cd /srv/cat-identifier && .venv/bin/python -m jobs.refresh_reports`.
"""

from __future__ import annotations

import argparse
import sys

from core.config import Settings
from core.db.database import get_database
from core.db.sql import get_engine
from core.errors import UserError
from core.services import reporting
from jobs._cli import run_cli


class TextProgress:
    """Progress of a refresh on stderr, one line per step."""

    def __init__(self) -> None:
        self._last = ""

    def __call__(self, fraction: float, message: str) -> None:
        if message != self._last:
            self._last = message
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.refresh_reports",
        description="Take today's reporting snapshot, backfill a past day, or delete snapshots.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--date", help="backfill this past day (YYYY-MM-DD) instead of today")
    action.add_argument("--delete-before", help="delete the snapshots of days before YYYY-MM-DD")
    action.add_argument("--delete-all", action="store_true", help="delete every snapshot")
    parser.add_argument("--replace", action="store_true", help="with --date: rebuild that day")
    parser.add_argument("--yes", action="store_true", help="with --delete-all: confirm it")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)

    day = reporting.parse_day(args.date) if args.date else None
    before = (
        reporting.parse_day(args.delete_before, "--delete-before date")
        if args.delete_before
        else None
    )
    if args.replace and day is None:
        raise UserError("--replace only applies with --date; add --date YYYY-MM-DD or drop it.")
    if args.delete_all and not args.yes:
        raise UserError("--delete-all deletes every reporting snapshot; add --yes to confirm it.")

    settings = Settings.from_env()
    engine = get_engine(settings)
    schema = settings.schema
    if args.delete_all or before is not None:
        deleted = reporting.delete_reports(engine, schema, before=before)
        print(reporting.deleted_message(deleted, before))
        return 0
    database = get_database(settings)
    progress = reporting.no_progress if args.quiet else TextProgress()
    if day is not None:
        result = reporting.backfill(
            engine, database, schema, day, replace=args.replace, progress=progress
        )
    else:
        result = reporting.refresh_now(engine, database, schema, progress=progress)
    print(result.summary())
    return 0


if __name__ == "__main__":
    run_cli(main)
