"""Folder import of 12-megapixel phone photos: python -m jobs.bench.phone_import [--count 500].

Draws a few 4000x3000 photo-like JPEGs at quality 88 (about 3.5 MB each, none shipped), writes
count distinct files into a temporary folder (each copy carries its own JPEG comment, so no file
is a duplicate and each decodes the same), and runs `python -m jobs.import_images FOLDER` in a
child process against a throwaway database. Measured: photos per second from the child's start
to its exit (start-up included), the child's CPU time per photo (the honest number on a busy
machine), the embedded database server's CPU time per photo (when it runs on this machine) and
the child's own peak RSS (measured through `jobs.bench.child`, so not this process's).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo.database import Database

from core.config import Settings
from core.db.files import EMBEDDED_SERVER_PROCESS
from core.db.mongo import mongo_uri_for
from jobs.bench import Row
from jobs.bench.child import run_measured
from jobs.bench.phone import draw_phone_photo
from jobs.bench.scratch import scratch_database

DEFAULT_COUNT = 500
DISTINCT_PHOTOS = 6  # drawing one takes about a second; the others are copies with a comment
GOAL_PHOTOS_PER_S = 10.0
GOAL_PEAK_RSS_MB = 1024.0


def with_comment(data: bytes, text: str) -> bytes:
    """The same JPEG with a comment (COM) segment after its start marker: new bytes, same pixels."""
    body = text.encode()
    return data[:2] + b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body + data[2:]


def write_phone_folder(folder: Path, count: int) -> float:
    """Write count distinct 12 MP JPEGs into folder; return their mean size in MB."""
    photos = [draw_phone_photo(seed) for seed in range(min(count, DISTINCT_PHOTOS))]
    total = 0
    for index in range(count):
        data = with_comment(photos[index % len(photos)], f"bench photo {index}")
        (folder / f"IMG_{index:04d}.jpg").write_bytes(data)
        total += len(data)
    return total / count / 1_000_000


def embedded_server_cpu_s(database: Database) -> float | None:
    """CPU seconds the nx-27017 server behind database has used, if it runs on this machine."""
    info = database.client.admin.command("buildInfo")
    if info.get("process") != EMBEDDED_SERVER_PROCESS:
        return None  # MongoDB: its CPU is not ours to read
    proc = Path(f"/proc/{info.get('pid')}")
    try:
        command_line = (proc / "cmdline").read_bytes()
        if b"nx-27017" not in command_line and b"nx_27017" not in command_line:
            return None  # the pid is another machine's
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_import(folder: Path, settings: Settings, database_name: str) -> dict[str, Any]:
    """Run the folder import job in a child process; its wall time, CPU, peak RSS and summary."""
    env = {**os.environ, "MONGO_URI": mongo_uri_for(settings), "MONGO_DB": database_name}
    command = [sys.executable, "-m", "jobs.import_images", str(folder), "--by", "bench"]
    with tempfile.TemporaryFile("w+") as output:
        usage = run_measured(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        output.seek(0)
        lines = output.read().splitlines()
    summary = next((line for line in lines if line.startswith("Added ")), "")
    if usage.exit_code != 0 or not summary:
        tail = "\n".join(lines[-5:])
        raise RuntimeError(f"the import job failed ({usage.exit_code}):\n{tail}")
    return {"seconds": usage.seconds, "cpu_s": usage.cpu_s, "peak_rss_mb": usage.peak_rss_mb,
            "summary": summary}  # fmt: skip


def measure_phone_import(settings: Settings, count: int = DEFAULT_COUNT) -> dict[str, Any]:
    """Import a folder of count 12 MP JPEGs into a scratch database; the measurements."""
    with (
        tempfile.TemporaryDirectory() as temporary,
        scratch_database(settings, "bench_phone_import") as database,
    ):
        folder = Path(temporary)
        started = time.perf_counter()
        megabytes = write_phone_folder(folder, count)
        write_s = time.perf_counter() - started
        server_before = embedded_server_cpu_s(database)
        numbers = run_import(folder, settings, database.name)
        server_after = embedded_server_cpu_s(database)
        stored = database["training_images"].count_documents({})
    return {
        "photos": count,
        "stored": stored,
        "photo": f"4000x3000 JPEG q88, {megabytes:.1f} MB",
        "seconds": round(numbers["seconds"], 1),
        "photos_per_s": round(count / numbers["seconds"], 1),
        "cpu_ms_per_photo": round(numbers["cpu_s"] * 1000 / count),
        "peak_rss_mb": round(numbers["peak_rss_mb"]),
        "server_cpu_ms_per_photo": (
            None
            if server_before is None or server_after is None
            else round((server_after - server_before) * 1000 / count)
        ),
        "summary": numbers["summary"],
        "write_folder_s": round(write_s, 1),
        "cores": os.cpu_count(),
    }


def bench_rows(settings: Settings, count: int = DEFAULT_COUNT) -> tuple[list[Row], dict[str, Any]]:
    """The rows for `jobs.bench`'s table: photos/s and peak RSS of a 12 MP folder import."""
    numbers = measure_phone_import(settings, count)
    server_ms = numbers["server_cpu_ms_per_photo"]
    server = "" if server_ms is None else f" + {server_ms} ms in the database server"
    rows = [
        (
            f"folder import of {count} 12 MP JPEGs (start-up included)",
            f"{numbers['photos_per_s']:.1f} photos/s, "
            f"{numbers['cpu_ms_per_photo']} ms CPU a photo{server}",
            f">= {GOAL_PHOTOS_PER_S:.0f} photos/s on 2 cores",
        ),
        (
            f"folder import of {count} 12 MP JPEGs, peak RSS",
            f"{numbers['peak_rss_mb']} MB",
            f"< {GOAL_PEAK_RSS_MB:.0f} MB",
        ),
    ]
    return rows, {"phone_import": numbers}


def main(argv: list[str] | None = None) -> int:
    """Print the folder-import numbers and whether they meet their goals."""
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.phone_import", description=__doc__)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="photos to import")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1.")
    numbers = measure_phone_import(Settings.from_env(), args.count)
    for key, value in numbers.items():
        print(f"{key:16s} {value}")
    is_met = (
        numbers["photos_per_s"] >= GOAL_PHOTOS_PER_S and numbers["peak_rss_mb"] < GOAL_PEAK_RSS_MB
    )
    print(
        f"goal: >= {GOAL_PHOTOS_PER_S:.0f} photos/s and peak RSS < {GOAL_PEAK_RSS_MB:.0f} MB: "
        + ("met" if is_met else "missed")
    )
    return 0


if __name__ == "__main__":
    from jobs._cli import run_cli

    run_cli(main)
