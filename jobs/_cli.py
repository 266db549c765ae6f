"""What every command-line job shares: settings, error handling, a text progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable

from core.errors import UserError


def run_cli(main: Callable[[], int | None]) -> None:
    """Run a job's main(); a UserError is printed as one sentence with exit code 2."""
    try:
        code = main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("stopped.", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)


class ProgressBar:
    """A one-line progress bar on stderr, e.g. `[#####.....] 120/240 demo images`."""

    def __init__(self, total: int, what: str, *, width: int = 30) -> None:
        self.total, self.what, self.width = max(total, 1), what, width
        self._last = -1

    def __call__(self, done: int, total: int | None = None) -> None:
        if total:
            self.total = total
        filled = int(self.width * done / self.total)
        if filled == self._last and done < self.total:
            return
        self._last = filled
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= self.total else ""
        print(f"\r[{bar}] {done}/{self.total} {self.what}", end=end, file=sys.stderr, flush=True)
