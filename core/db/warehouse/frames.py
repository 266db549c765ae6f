"""Shared plumbing of the dashboard queries: the day in range, label ids and typed frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, Select, Table, func, select

from core.db.warehouse.report_filter import ReportFilter, date_range, label_conditions
from core.db.warehouse.schema import Warehouse


def latest_day_id(engine: Engine, warehouse: Warehouse, report: ReportFilter) -> int | None:
    """The last snapshot day within the filter's dates (the state the "now" charts show)."""
    snapshots = warehouse.snapshots
    query = select(func.max(snapshots.c.date_id)).where(*date_range(snapshots.c.date_id, report))
    with engine.connect() as connection:
        return connection.execute(query).scalar_one_or_none()


def query_frame(engine: Engine, query: Select, columns: list[str]) -> pd.DataFrame:
    """The query's rows as a DataFrame with these columns."""
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def typed_frame(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The frame with fixed column types, so that an empty result looks like a full one."""
    for column, kind in types.items():
        if kind == "datetime":
            frame[column] = pd.to_datetime(frame[column])
        else:
            frame[column] = frame[column].astype(kind)
    return frame


def day_of(day_id: int) -> date:
    """The date of a dim_date id (20261203 -> 2026-12-03)."""
    return date(day_id // 10_000, day_id // 100 % 100, day_id % 100)


def dimension_names(engine: Engine, table: Table, column: str) -> dict[int, str]:
    """id -> name of a small dimension table (sources, review statuses)."""
    with engine.connect() as connection:
        return dict(connection.execute(select(table.c.id, table.c[column])).tuples().all())


def label_ids(
    engine: Engine, warehouse: Warehouse, report: ReportFilter, *, is_unlabelled: bool | None
) -> list[int] | None:
    """The dim_label ids that match the filter's trait value (and labelled state); None when
    nothing narrows the labels. Facts are then filtered on their own label_id column, which
    their covering indexes hold, instead of joining dim_label row by row."""
    conditions = label_conditions(warehouse, report)
    label = warehouse.dim_label
    if is_unlabelled is not None:
        conditions.append(label.c.is_unlabelled.is_(is_unlabelled))
    if not conditions:
        return None
    with engine.connect() as connection:
        return list(connection.execute(select(label.c.id).where(*conditions)).scalars())
