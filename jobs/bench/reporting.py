"""Measure the reporting warehouse: python -m jobs.bench.reporting [--images N] [--predictions N]
[--days N] [--sqlite].

Fills a scratch MongoDB database with synthetic documents (insert_many), times a refresh, then
writes a year of synthetic daily snapshots straight into a scratch warehouse (a new PostgreSQL
schema, or a temporary SQLite file) and times every dashboard query over it. Everything it
creates is dropped at the end. Prints the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from pymongo import MongoClient
from pymongo.database import Database
from sqlalchemy import Engine, create_engine, select, text

from core.config import Settings
from core.db.indexes import ensure_all
from core.db.mongo import mongo_uri_for
from core.db.sql import warehouse_url
from core.db.warehouse import queries
from core.db.warehouse.schema import Warehouse, date_id, date_row, ensure_warehouse
from core.labels import CAT_COLOURS, CAT_PATTERNS, CAT_PHENOTYPE
from core.services import reporting
from jobs._cli import run_cli
from jobs.bench import Row

SOURCES = ("upload", "folder", "web_search", "prediction_review", "demo")
GOAL_REFRESH_S = 10.0
GOAL_QUERY_MS = 200.0


def random_label(rnd: random.Random) -> dict[str, Any]:
    if rnd.random() < 0.1:
        return {"is_cat": False}
    return {
        "is_cat": True,
        "colour": rnd.choice(CAT_COLOURS),
        "is_tabby": rnd.random() < 0.3,
        "pattern": rnd.choice(CAT_PATTERNS),
        "is_pointed": rnd.random() < 0.2,
    }


def image_documents(count: int, rnd: random.Random, now: datetime) -> Iterator[dict[str, Any]]:
    """Training-image documents shaped like TrainingImageRepository.add writes them."""
    for index in range(count):
        created = now - timedelta(days=rnd.randint(0, 365), seconds=rnd.randint(0, 86_399))
        is_unlabelled = rnd.random() < 0.1
        label = {} if is_unlabelled else random_label(rnd)
        yield {
            "filename": f"bench-{index}.jpg",
            "sha256": uuid4().hex + uuid4().hex,
            "width": 640,
            "height": 480,
            "format": "JPEG",
            "perceptual_hash": f"{rnd.getrandbits(64):016x}",
            "label": label,
            "is_labelled": not is_unlabelled,
            "source": rnd.choice(SOURCES),
            "created_at": created,
            "labelled_at": None if is_unlabelled else created,
            "labelled_by": None if is_unlabelled else "bench",
            "history": [{"at": created, "by": "bench", "action": "added from bench"}],
        }


def prediction_documents(count: int, rnd: random.Random, now: datetime) -> Iterator[dict[str, Any]]:
    """Prediction documents shaped like PredictionRepository.add (plus reviews) writes them."""
    for _index in range(count):
        user = rnd.choice([True, False, None, None])
        admin = rnd.choice([True, False, None, None, None])
        yield {
            "sha256": uuid4().hex,
            "model_id": "bench",
            "label": random_label(rnd),
            "probabilities": {"colour": {c: round(rnd.random(), 3) for c in CAT_COLOURS}},
            "unsure": [],
            "confidence": rnd.random(),
            "channel": "breeder_app",
            "created_at": now - timedelta(days=rnd.randint(0, 365)),
            "user_has_reviewed": user is not None,
            "user_feedback": user,
            "user_correction": None,
            "admin_has_reviewed": admin is not None,
            "admin_feedback": admin,
            "admin_label": None,
        }


def model_documents(count: int, rnd: random.Random, now: datetime) -> Iterator[dict[str, Any]]:
    for index in range(count):
        ended = now - timedelta(days=365 * (count - index) // count)
        yield {
            "schema": CAT_PHENOTYPE.to_document(),
            "metrics": {
                name: {
                    "train_accuracy": rnd.uniform(0.8, 1.0),
                    "val_accuracy": rnd.uniform(0.55, 0.97),
                    "train_loss": rnd.uniform(0.0, 0.3),
                    "val_loss": rnd.uniform(0.05, 1.0),
                }
                for name in CAT_PHENOTYPE.trait_names
            },
            "training_started": ended - timedelta(minutes=20),
            "training_ended": ended,
            "is_active": index == count - 1,
            "created_at": ended,
        }


def insert_in_batches(database: Database, name: str, documents: Iterator[dict], size: int) -> None:
    batch: list[dict] = []
    for document in documents:
        batch.append(document)
        if len(batch) == size:
            database[name].insert_many(batch, ordered=False)
            batch = []
    if batch:
        database[name].insert_many(batch, ordered=False)


@contextmanager
def scratch_warehouse(url: str, use_sqlite: bool) -> Iterator[Engine]:
    """An empty warehouse database dropped afterwards: a new PostgreSQL schema or SQLite file."""
    if use_sqlite or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            engine = create_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    name = f"bench_{uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={name}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def fill_a_year(engine: Engine, warehouse: Warehouse, today: date, days: int) -> int:
    """Copy today's snapshot back over `days` days, shrinking towards the past; return rows."""
    facts = (warehouse.fact_training_images, warehouse.fact_predictions, warehouse.fact_models)
    today_id = date_id(today)
    rows_written = 0
    with engine.begin() as connection:
        templates = {
            table.name: [
                {k: v for k, v in row._mapping.items() if k != "id"}
                for row in connection.execute(select(table).where(table.c.date_id == today_id))
            ]
            for table in facts
        }
        snapshot = dict(
            connection.execute(
                select(warehouse.snapshots).where(warehouse.snapshots.c.date_id == today_id)
            )
            .one()
            ._mapping
        )
        past = [today - timedelta(days=n) for n in range(1, days)]
        existing = set(connection.execute(select(warehouse.dim_date.c.id)).scalars())
        new_days = [date_row(d) for d in past if date_id(d) not in existing]
        if new_days:
            connection.execute(warehouse.dim_date.insert(), new_days)
        for day in past:
            share = 1.0 - (today - day).days / (days + 1)
            day_id = date_id(day)
            for table in facts:
                rows = []
                for row in templates[table.name]:
                    row = {**row, "date_id": day_id}
                    if "count" in row:
                        row["count"] = max(1, round(row["count"] * share))
                    rows.append(row)
                if rows:
                    connection.execute(table.insert(), rows)
                    rows_written += len(rows)
            connection.execute(warehouse.snapshots.insert(), [{**snapshot, "date_id": day_id}])
    return rows_written


def time_query(run: Callable[[], Any], repeats: int) -> dict[str, float]:
    run()  # warm the connection pool and the database's caches
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(timings), 1), "max_ms": round(max(timings), 1)}


def measure(
    mongo_uri: str,
    database_url: str,
    *,
    images: int = 100_000,
    predictions: int = 100_000,
    models: int = 30,
    days: int = 365,
    repeats: int = 5,
    use_sqlite: bool = False,
    log: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Fill scratch stores, time a refresh and the dashboard queries; return the numbers."""
    rnd, now = random.Random(8), datetime.now(UTC)
    results: dict[str, Any] = {"images": images, "predictions": predictions, "days": days}
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    database = client[f"bench_reporting_{uuid4().hex[:8]}"]
    try:
        ensure_all(database)
        started = time.perf_counter()
        log(f"Inserting {images:,} training images and {predictions:,} predictions…")
        insert_in_batches(database, "training_images", image_documents(images, rnd, now), 5000)
        insert_in_batches(
            database, "predictions", prediction_documents(predictions, rnd, now), 5000
        )
        insert_in_batches(database, "prediction_models", model_documents(models, rnd, now), 100)
        results["mongo_insert_s"] = round(time.perf_counter() - started, 1)
        with scratch_warehouse(database_url, use_sqlite) as engine:
            results["warehouse"] = engine.dialect.name
            today = reporting.today_utc()
            log("Refreshing today's snapshot (first time, then again)…")
            first = reporting.refresh_now(engine, database, CAT_PHENOTYPE, today=today)
            second = reporting.refresh_now(engine, database, CAT_PHENOTYPE, today=today)
            results["refresh_first_s"] = round(first.seconds, 2)
            results["refresh_again_s"] = round(second.seconds, 2)
            results["refresh_goal_s"] = GOAL_REFRESH_S
            warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
            log(f"Writing {days} days of synthetic snapshots…")
            results["fact_rows_for_the_year"] = fill_a_year(engine, warehouse, today, days)
            year = queries.ReportFilter(start=today - timedelta(days=days - 1), end=today)
            checks: dict[str, Callable[[], Any]] = {
                "warehouse_status": lambda: reporting.warehouse_status(engine, warehouse),
                "training_set_size": lambda: queries.training_set_size(engine, warehouse, year),
                "label_balance": lambda: queries.label_balance(engine, warehouse, year, "colour"),
                "coverage": lambda: queries.coverage(engine, warehouse, year, "colour", "pattern"),
                "model_metrics": lambda: queries.model_metrics(engine, warehouse, year),
                "predictions_by_review": lambda: queries.predictions_by_review(
                    engine, warehouse, year
                ),
                "accepted_rate": lambda: queries.accepted_rate(engine, warehouse, year, "colour"),
                "snapshot_days": lambda: queries.snapshot_days(engine, warehouse, year),
            }
            log("Timing the dashboard queries…")
            results["queries"] = {name: time_query(run, repeats) for name, run in checks.items()}
            page = queries.ReportFilter(start=today - timedelta(days=90), end=today)
            results["queries_default_90_days"] = {
                "training_set_size": time_query(
                    lambda: queries.training_set_size(engine, warehouse, page), repeats
                ),
                "predictions_by_review": time_query(
                    lambda: queries.predictions_by_review(engine, warehouse, page), repeats
                ),
            }
            results["query_goal_ms"] = GOAL_QUERY_MS
            results["meets_goals"] = first.seconds < GOAL_REFRESH_S and all(
                timing["median_ms"] < GOAL_QUERY_MS for timing in results["queries"].values()
            )
    finally:
        client.drop_database(database.name)
        client.close()
    return results


def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    """The reporting section of `python -m jobs.bench`: the refresh and the slowest query."""
    numbers = measure(mongo_uri_for(settings), warehouse_url(settings), log=print)
    slowest = max(numbers["queries"].items(), key=lambda item: item[1]["median_ms"])
    rows = [
        (
            f"warehouse refresh, {numbers['images']:,} images + {numbers['predictions']:,} "
            "predictions",
            f"{numbers['refresh_first_s']:.1f} s",
            "< 10 s",
        ),
        (
            f"dashboard queries over {numbers['days']} days (slowest: {slowest[0]})",
            f"median {slowest[1]['median_ms']:.0f} ms",
            "< 200 ms each",
        ),
    ]
    return rows, numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.reporting", description=__doc__)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite warehouse")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    url = warehouse_url(settings)
    results = measure(
        mongo_uri_for(settings),
        url,
        images=args.images,
        predictions=args.predictions,
        days=args.days,
        use_sqlite=args.sqlite,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    run_cli(main)
