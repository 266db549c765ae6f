"""Reporting: keep the warehouse's daily snapshots up to date, backfill and delete them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pymongo.database import Database
from sqlalchemy import Engine, delete, func, select

from core.clock import as_datetime, utcnow
from core.db.warehouse.refresh import (
    Progress,
    RefreshResult,
    lock_warehouse,
    no_progress,
    plural,
    refresh_snapshot,
)
from core.db.warehouse.schema import Warehouse, date_id, ensure_warehouse
from core.errors import UserError
from core.labels import LabelSchema


def today_utc() -> date:
    """Snapshot days are UTC days, like the documents' created_at."""
    return utcnow().date()


def parse_day(text: str, what: str = "date") -> date:
    """A YYYY-MM-DD date from a command line or form, or a UserError."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise UserError(f"The {what} {text!r} is not a date; write it as YYYY-MM-DD.") from None


@dataclass(frozen=True)
class WarehouseStatus:
    """How many snapshot days the warehouse holds and when the last one was taken."""

    days: int
    first_day: date | None
    last_day: date | None
    last_taken_at: datetime | None

    @property
    def is_empty(self) -> bool:
        return self.days == 0


def warehouse_status(engine: Engine, warehouse: Warehouse) -> WarehouseStatus:
    snapshots, dates = warehouse.snapshots, warehouse.dim_date
    with engine.connect() as connection:
        days, first_id, last_id = connection.execute(
            select(func.count(), func.min(snapshots.c.date_id), func.max(snapshots.c.date_id))
        ).one()
        if not days:
            return WarehouseStatus(0, None, None, None)
        first_day, last_day = (
            connection.execute(select(dates.c.date).where(dates.c.id == day_id)).scalar_one()
            for day_id in (first_id, last_id)
        )
        taken_at = connection.execute(
            select(snapshots.c.taken_at).where(snapshots.c.date_id == last_id)
        ).scalar_one()
    # SQLite keeps no time zone: as_datetime reads a naive moment as UTC
    return WarehouseStatus(days, first_day, last_day, as_datetime(taken_at))


def has_snapshot(engine: Engine, warehouse: Warehouse, day: date) -> bool:
    snapshots = warehouse.snapshots
    with engine.connect() as connection:
        found = connection.execute(
            select(snapshots.c.date_id).where(snapshots.c.date_id == date_id(day))
        ).first()
    return found is not None


def refresh_now(
    engine: Engine,
    database: Database,
    schema: LabelSchema,
    *,
    today: date | None = None,
    progress: Progress = no_progress,
) -> RefreshResult:
    """Count MongoDB now and replace today's snapshot (idempotent: never doubles a day)."""
    warehouse = ensure_warehouse(engine, schema)
    return refresh_snapshot(engine, database, warehouse, today or today_utc(), progress=progress)


def refresh_if_missing(
    engine: Engine,
    database: Database,
    schema: LabelSchema,
    *,
    today: date | None = None,
    progress: Progress = no_progress,
) -> RefreshResult | None:
    """Take today's snapshot unless there is one already; return it, or None if there was one."""
    warehouse = ensure_warehouse(engine, schema)
    day = today or today_utc()
    if has_snapshot(engine, warehouse, day):
        return None
    return refresh_snapshot(engine, database, warehouse, day, progress=progress)


def backfill(
    engine: Engine,
    database: Database,
    schema: LabelSchema,
    day: date,
    *,
    replace: bool = False,
    today: date | None = None,
    progress: Progress = no_progress,
) -> RefreshResult:
    """Reconstruct a past day's snapshot from creation and review dates (docs/reporting.md)."""
    today = today or today_utc()
    if day > today:
        raise UserError(
            f"The date {day:%Y-%m-%d} is in the future; backfill today ({today:%Y-%m-%d}) "
            "or an earlier day."
        )
    warehouse = ensure_warehouse(engine, schema)
    if day == today:
        return refresh_snapshot(engine, database, warehouse, day, progress=progress)
    if not replace and has_snapshot(engine, warehouse, day):
        raise UserError(
            f"The warehouse already has a snapshot of {day:%Y-%m-%d}, taken then or backfilled "
            "before; keep it, or delete it or pass --replace to rebuild it."
        )
    return refresh_snapshot(engine, database, warehouse, day, reconstruct=True, progress=progress)


def count_snapshots(engine: Engine, schema: LabelSchema, *, before: date | None = None) -> int:
    """How many snapshot days a delete with this limit would remove."""
    warehouse = ensure_warehouse(engine, schema)
    query = select(func.count()).select_from(warehouse.snapshots)
    if before is not None:
        query = query.where(warehouse.snapshots.c.date_id < date_id(before))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def deleted_message(days: int, before: date | None) -> str:
    """What a delete did, in one sentence."""
    what = "every snapshot" if before is None else f"the snapshots before {before:%Y-%m-%d}"
    return f"Deleted {what}: {plural(days, 'day')} of reporting data."


def delete_reports(engine: Engine, schema: LabelSchema, *, before: date | None = None) -> int:
    """Delete every snapshot (before=None) or those of days before `before`; return the days.

    Deleting everything also empties the dimension tables, so the warehouse starts afresh.
    """
    warehouse = ensure_warehouse(engine, schema)
    with engine.begin() as connection:
        lock_warehouse(connection)
        deleted_days = 0
        for table in (*warehouse.fact_tables, warehouse.snapshots):
            statement = delete(table)
            if before is not None:
                statement = statement.where(table.c.date_id < date_id(before))
            rowcount = connection.execute(statement).rowcount
            if table is warehouse.snapshots:
                deleted_days = rowcount
        if before is None:
            for table in (
                warehouse.dim_label,
                warehouse.dim_training_image_source,
                warehouse.dim_prediction_review_status,
                warehouse.dim_date,
            ):
                connection.execute(delete(table))
    return deleted_days
