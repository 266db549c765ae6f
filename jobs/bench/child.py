"""Run a command and measure what it alone used: python -m jobs.bench.child USAGE_JSON -- CMD...

The peak RSS that `wait4` reports for a child is at least its parent's peak at the moment the
child started: Linux hands the parent's high-water mark over to the child at exec. A benchmark
that has drawn 12 MP photos or loaded a model would so measure itself. `run_measured` starts the
command from this small runner instead (standard library only, so its small peak is all the
command can inherit), which writes the command's wall time, CPU time, peak RSS and exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class ChildUsage:
    """What one child process used, from its start (its imports included) to its exit."""

    seconds: float
    cpu_s: float  # user + system
    peak_rss_mb: float
    exit_code: int


def measure(command: list[str]) -> ChildUsage:
    """Run command as a child of this process and wait for it; what it used."""
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _pid, status, usage = os.wait4(child.pid, 0)
    return ChildUsage(
        seconds=time.perf_counter() - started,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        exit_code=os.waitstatus_to_exitcode(status),
    )


def run_measured(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
) -> ChildUsage:
    """Run command through the small runner; what the command alone used."""
    with tempfile.TemporaryDirectory() as folder:
        usage_file = Path(folder) / "usage.json"
        runner = [sys.executable, "-m", "jobs.bench.child", str(usage_file), "--", *command]
        subprocess.run(runner, env=env, cwd=cwd, stdout=stdout, stderr=stderr, check=False)
        try:
            return ChildUsage(**json.loads(usage_file.read_text()))
        except (OSError, ValueError) as err:
            raise RuntimeError(f"the measuring runner wrote no usage for {command!r}") from err


def main(argv: list[str]) -> int:
    """Run the command after `--` and write what it used to the JSON file given first."""
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    usage = measure(argv[2:])
    Path(argv[0]).write_text(json.dumps(asdict(usage)))
    return usage.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
