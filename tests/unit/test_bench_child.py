"""jobs.bench.child: a benchmark's child is measured on its own, not with its parent's peak."""

from __future__ import annotations

import sys

from jobs.bench.child import run_measured

PARENT_PEAK_BYTES = 300 * 1024 * 1024


def test_child_peak_rss_is_its_own_even_after_the_parent_peaked() -> None:
    ballast = bytearray(PARENT_PEAK_BYTES)
    ballast[::4096] = b"\x01" * len(range(0, PARENT_PEAK_BYTES, 4096))  # really resident
    del ballast

    usage = run_measured([sys.executable, "-c", "pass"])

    assert usage.exit_code == 0
    assert usage.peak_rss_mb < 100  # a bare interpreter, not the 300 MB the parent reached


def test_child_exit_code_cpu_and_wall_time_are_reported() -> None:
    busy = (
        "import sys, time\n"
        "end = time.process_time() + 0.3\n"
        "while time.process_time() < end: pass\n"
        "sys.exit(3)"
    )

    usage = run_measured([sys.executable, "-c", busy])

    assert usage.exit_code == 3
    assert usage.cpu_s >= 0.3
    assert usage.seconds >= 0.3  # one thread: no less wall time than CPU time
