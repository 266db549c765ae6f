"""jobs.bench.phone_import end to end on a few photos: what it stores and the numbers it reports."""

from __future__ import annotations

from pymongo.database import Database

from core.config import Settings
from core.db.files import is_embedded_server
from jobs.bench.phone_import import measure_phone_import


def test_phone_import_bench_stores_every_photo_and_reports_both_processes(
    settings: Settings, mongo_db: Database
) -> None:
    numbers = measure_phone_import(settings, count=3)

    assert (numbers["photos"], numbers["stored"]) == (3, 3)
    assert numbers["summary"].startswith("Added 3 images")
    assert 0 < numbers["peak_rss_mb"] < 500  # the import's own, not the bench's drawing peak
    assert numbers["cpu_ms_per_photo"] > 0
    if is_embedded_server(mongo_db):  # the test session's nx-27017 runs on this machine
        assert numbers["server_cpu_ms_per_photo"] is not None
