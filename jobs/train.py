"""Train a model: python -m jobs.train [options] [--wait], or run a queued run with --run-id.

Without --run-id it queues a run and starts the training job detached (it outlives this
command); with --wait it then follows the run's log and exits 0 only if the run succeeded.
The job needs only MONGO_URI (and MONGO_DB), so it can run on another host.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from core.config import Settings
from core.db.database import get_database
from core.db.mongo import mongo_uri_for
from core.db.training_runs import FINISHED_STATUSES, TrainingRunRepository
from core.ml.hyperparameters import help_texts
from core.services.run_defaults import run_defaults
from core.services.training import detached_launcher, run_training_job, start_training_run
from jobs._cli import run_cli


def follow(runs: TrainingRunRepository, run_id: str, *, poll_s: float = 1.0) -> str:
    """Print the run's log as it grows; return its final status."""
    shown = 0
    while True:
        entries = runs.log_entries(run_id, skip=shown)
        for entry in entries:
            print(f"{entry.timestamp:%H:%M:%S} {entry.level:7} {entry.message}", flush=True)
        shown += len(entries)
        run = runs.get(run_id)
        if run.status in FINISHED_STATUSES and not entries:
            return run.status
        if run.status == "running":
            runs.fail_stale()
        time.sleep(poll_s)


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    default = run_defaults(settings)
    parser = argparse.ArgumentParser(prog="python -m jobs.train", description=__doc__)
    parser.add_argument("--run-id", help="run this queued run in this process (the job itself)")
    parser.add_argument("--wait", action="store_true", help="follow the run until it ends")
    parser.add_argument("--follow", metavar="RUN_ID", help="print a run's log until it ends")
    parser.add_argument("--cancel", metavar="RUN_ID", help="ask a running run to stop")
    parser.add_argument("--activate", action="store_true", help="activate the new model anyway")
    helps = help_texts(default)
    for name, value in default.to_dict().items():  # one flag per hyper-parameter
        shown = f"{value:g}" if isinstance(value, float) else str(value).lower()
        text = f"{helps[name]} (default {shown})".replace("%", "%%")  # argparse formats help
        parser.add_argument(f"--{name.replace('_', '-')}", help=text)
    args = parser.parse_args(argv)
    database = get_database(settings)
    runs = TrainingRunRepository(database)

    if args.run_id:
        status = run_training_job(database, args.run_id, schema=settings.schema, settings=settings)
        return 0 if status == "succeeded" else 1
    if args.follow:
        status = follow(runs, args.follow)
        print(f"Run {args.follow} {status}.")
        return 0 if status == "succeeded" else 1
    if args.cancel:
        runs.request_cancel(args.cancel)
        print(f"Asked run {args.cancel} to stop at its next batch.")
        return 0

    chosen = {
        name: getattr(args, name) for name in default.to_dict() if getattr(args, name) is not None
    }
    options = {**default.to_dict(), **chosen}
    launcher = detached_launcher(settings, mongo_uri_for(settings))
    run_id = start_training_run(
        runs,
        launcher,
        options,
        requested_by=f"{getpass.getuser()} (command line)",
        activate=args.activate,
    )
    print(f"Queued training run {run_id}; the job runs in the background.", flush=True)
    if not args.wait:
        print(
            "Follow it on the console's Training page or with: "
            f"python -m jobs.train --follow {run_id}"
        )
        return 0
    status = follow(runs, run_id)
    print(f"Run {run_id} {status}.", file=sys.stderr if status != "succeeded" else sys.stdout)
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    run_cli(main)
