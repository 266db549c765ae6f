"""Daily snapshots: count MongoDB (core.db.warehouse.counts) and write the day's rows.

Writing happens in one transaction per snapshot: the dimension rows it needs are upserted, the
day's fact rows are deleted and inserted again, so a re-run replaces the day's rows (never
doubles them) and a failure leaves the previous ones.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pymongo.database import Database
from sqlalchemy import Connection, Engine, Table, delete, select, text

from core.db.warehouse.counts import (
    REVIEW_STATUSES,
    Progress,
    Snapshot,
    collect_past_day,
    collect_today,
    no_progress,
)
from core.db.warehouse.schema import Warehouse, date_id, date_row
from core.errors import ConfigError
from core.text import plural

LOCK_KEY = 0x5CA7_0008  # pg_advisory_xact_lock: one snapshot write at a time

__all__ = ["REVIEW_STATUSES", "Progress", "RefreshResult", "no_progress", "refresh_snapshot"]


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh wrote: the day, how many documents it counted, and how long it took."""

    day: date
    training_images: int
    unlabelled_images: int
    predictions: int
    models: int
    seconds: float
    is_backfill: bool = False

    def summary(self) -> str:
        kind = "Backfilled" if self.is_backfill else "Refreshed"
        return (
            f"{kind} the snapshot of {self.day:%Y-%m-%d}: "
            f"{plural(self.training_images, 'training image')} "
            f"({self.unlabelled_images:,} unlabelled), {plural(self.predictions, 'prediction')}, "
            f"{plural(self.models, 'model')} in {self.seconds:.1f} s."
        )


# --- writing the warehouse -----------------------------------------------------------------


def _insert_for(connection: Connection) -> Callable[[Table], Any]:
    name = connection.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise ConfigError(
            f"The warehouse database is {name!r}; use PostgreSQL or SQLite in DATABASE_URL."
        )
    return insert


def upsert(connection: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> None:
    """Insert these dimension rows, updating the rows whose key already exists."""
    if not rows:
        return
    statement = _insert_for(connection)(table)
    updates = {name: statement.excluded[name] for name in rows[0] if name not in (key, "id")}
    if updates:
        statement = statement.on_conflict_do_update(index_elements=[key], set_=updates)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=[key])
    connection.execute(statement, rows)


def ids_by(connection: Connection, table: Table, key: str, values: Iterable[Any]) -> dict[Any, int]:
    """The ids of the dimension rows with these key values."""
    wanted = list(dict.fromkeys(values))
    found: dict[Any, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = connection.execute(select(table.c[key], table.c.id).where(table.c[key].in_(chunk)))
        found.update({value: row_id for value, row_id in rows})
    return found


def lock_warehouse(connection: Connection) -> None:
    """Serialise snapshot writes and deletes (PostgreSQL; SQLite has a single writer anyway)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _replace_day(connection: Connection, table: Table, day_id: int, rows: list[dict]) -> None:
    connection.execute(delete(table).where(table.c.date_id == day_id))
    if rows:
        connection.execute(table.insert(), rows)


def refresh_training_images(
    connection: Connection,
    warehouse: Warehouse,
    day_id: int,
    counts: Counter[tuple[str, str]],
    label_ids: Mapping[str, int],
    source_ids: Mapping[str, int],
) -> None:
    rows = [
        {"date_id": day_id, "label_id": label_ids[key], "source_id": source_ids[source], "count": n}
        for (key, source), n in sorted(counts.items())
    ]
    _replace_day(connection, warehouse.fact_training_images, day_id, rows)


def refresh_models(
    connection: Connection, warehouse: Warehouse, day_id: int, models: list[dict[str, Any]]
) -> None:
    rows = []
    for model in models:
        row = {k: v for k, v in model.items() if k not in ("training_started", "training_ended")}
        started, ended = model["training_started"], model["training_ended"]
        row["training_started_date_id"] = date_id(started) if started else None
        row["training_ended_date_id"] = date_id(ended) if ended else None
        rows.append({"date_id": day_id, **row})
    _replace_day(connection, warehouse.fact_models, day_id, rows)


def refresh_predictions(
    connection: Connection,
    warehouse: Warehouse,
    day_id: int,
    counts: Counter[tuple[str, str, str]],
    label_ids: Mapping[str, int],
    status_ids: Mapping[str, int],
) -> None:
    rows = [
        {
            "date_id": day_id,
            "label_id": label_ids[key],
            "user_review_status_id": status_ids[user],
            "admin_review_status_id": status_ids[admin],
            "count": n,
        }
        for (key, user, admin), n in sorted(counts.items())
    ]
    _replace_day(connection, warehouse.fact_predictions, day_id, rows)


def write_snapshot(
    engine: Engine,
    warehouse: Warehouse,
    snapshot: Snapshot,
    *,
    started: float,
    progress: Progress = no_progress,
) -> RefreshResult:
    """Replace the snapshot day's rows in one transaction; return what was written."""
    day_id = date_id(snapshot.day)
    model_days = {
        day
        for model in snapshot.models
        for day in (model["training_started"], model["training_ended"])
    }
    days = sorted({snapshot.day} | {day for day in model_days if day is not None})
    sources = sorted({source for _key, source in snapshot.training_images})
    with engine.begin() as connection:
        lock_warehouse(connection)
        progress(0.86, "Writing the snapshot")
        upsert(connection, warehouse.dim_date, [date_row(day) for day in days], "id")
        upsert(connection, warehouse.dim_label, list(snapshot.labels.values()), "label_key")
        upsert(
            connection,
            warehouse.dim_training_image_source,
            [{"source": source} for source in sources],
            "source",
        )
        upsert(
            connection,
            warehouse.dim_prediction_review_status,
            [{"status": status} for status in REVIEW_STATUSES],
            "status",
        )
        label_ids = ids_by(connection, warehouse.dim_label, "label_key", snapshot.labels)
        source_ids = ids_by(connection, warehouse.dim_training_image_source, "source", sources)
        status_ids = ids_by(
            connection, warehouse.dim_prediction_review_status, "status", REVIEW_STATUSES
        )
        refresh_training_images(
            connection, warehouse, day_id, snapshot.training_images, label_ids, source_ids
        )
        progress(0.9, "Wrote the training-image counts")
        refresh_models(connection, warehouse, day_id, snapshot.models)
        progress(0.93, "Wrote the model metrics")
        refresh_predictions(
            connection, warehouse, day_id, snapshot.predictions, label_ids, status_ids
        )
        progress(0.96, "Wrote the prediction counts")
        unlabelled = sum(
            n
            for (key, _source), n in snapshot.training_images.items()
            if snapshot.labels[key]["is_unlabelled"]
        )
        result = RefreshResult(
            day=snapshot.day,
            training_images=sum(snapshot.training_images.values()),
            unlabelled_images=unlabelled,
            predictions=sum(snapshot.predictions.values()),
            models=len(snapshot.models),
            seconds=time.perf_counter() - started,
            is_backfill=snapshot.is_backfill,
        )
        _replace_day(
            connection,
            warehouse.snapshots,
            day_id,
            [
                {
                    "date_id": day_id,
                    "taken_at": datetime.now(UTC),
                    "is_backfill": snapshot.is_backfill,
                    "duration_ms": round(result.seconds * 1000),
                    "training_images": result.training_images,
                    "predictions": result.predictions,
                    "models": result.models,
                }
            ],
        )
    progress(1.0, "Snapshot saved")
    return result


def refresh_snapshot(
    engine: Engine,
    database: Database,
    warehouse: Warehouse,
    day: date,
    *,
    reconstruct: bool = False,
    progress: Progress = no_progress,
) -> RefreshResult:
    """Count MongoDB (as it is now, or as it was on a past day) and write the day's snapshot."""
    started = time.perf_counter()
    if reconstruct:
        snapshot = collect_past_day(database, warehouse.schema, day, progress)
    else:
        snapshot = collect_today(database, warehouse.schema, day, progress)
    return write_snapshot(engine, warehouse, snapshot, started=started, progress=progress)
