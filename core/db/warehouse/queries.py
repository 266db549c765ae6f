"""Dashboard queries over the warehouse: each returns a pandas DataFrame, filtered.

The review queries live in review_queries.py and are importable from here too.
"""

from __future__ import annotations

from itertools import product

import pandas as pd
from sqlalchemy import Engine, and_, case, func, select

from core.db.warehouse.frames import (
    day_of,
    dimension_names,
    label_ids,
    latest_day_id,
    query_frame,
    typed_frame,
)
from core.db.warehouse.report_filter import (
    UNLABELLED,
    ReportFilter,
    date_range,
    label_conditions,
    trait_values,
    value_text,
)
from core.db.warehouse.review_queries import accepted_rate as accepted_rate
from core.db.warehouse.review_queries import predictions_by_review as predictions_by_review
from core.db.warehouse.schema import Warehouse

BALANCE_TYPES = {
    "value": "str",
    "images": "int64",
    "share": "float64",
    "is_unlabelled": "bool",
    "is_selected": "bool",
}
COVERAGE_TYPES = {"row": "str", "column": "str", "images": "int64"}
MODEL_TYPES = {
    "model_id": "str",
    "trained": "datetime",
    "is_active": "bool",
    "measure": "str",
    "min": "float64",
    "avg": "float64",
    "max": "float64",
}


def training_set_size(engine: Engine, warehouse: Warehouse, report: ReportFilter) -> pd.DataFrame:
    """Images per snapshot day and source, labelled (the training set) and unlabelled apart.

    Columns: date, source, status ("labelled"/"unlabelled"), images. One scan of the fact
    table's covering index, grouped on its keys; names are added in Python.
    """
    fact = warehouse.fact_training_images
    source_names = dimension_names(engine, warehouse.dim_training_image_source, "source")
    conditions = [*date_range(fact.c.date_id, report)]
    if report.source:
        ids = [i for i, name in source_names.items() if name == report.source]
        conditions.append(fact.c.source_id.in_(ids))
    wanted = label_ids(engine, warehouse, report, is_unlabelled=None)
    if wanted is not None:
        conditions.append(fact.c.label_id.in_(wanted))
    unlabelled_ids = label_ids(engine, warehouse, report, is_unlabelled=True) or []
    unlabelled = case((fact.c.label_id.in_(unlabelled_ids), fact.c.count), else_=0)
    query = (
        select(fact.c.date_id, fact.c.source_id, func.sum(fact.c.count), func.sum(unlabelled))
        .where(*conditions)
        .group_by(fact.c.date_id, fact.c.source_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    records = []
    for day_id, source_id, total, unlabelled_count in rows:
        day, source = day_of(day_id), source_names[source_id]
        records.append((day, source, "labelled", int(total) - int(unlabelled_count)))
        records.append((day, source, UNLABELLED, int(unlabelled_count)))
    frame = pd.DataFrame(records, columns=["date", "source", "status", "images"])
    frame = frame.sort_values(["date", "source", "status"], ignore_index=True)
    return typed_frame(
        frame, {"date": "datetime", "source": "str", "status": "str", "images": "int64"}
    )


def label_balance(
    engine: Engine, warehouse: Warehouse, report: ReportFilter, trait_name: str
) -> pd.DataFrame:
    """Labelled images per value of a trait on the last snapshot day, unlabelled apart.

    Columns: value, images, share (of the labelled images with this trait set),
    is_unlabelled (one last row counting the unlabelled images), is_selected.
    """
    trait = warehouse.schema.trait(trait_name)
    columns = ["value", "images", "share", "is_unlabelled", "is_selected"]
    day_id = latest_day_id(engine, warehouse, report)
    if day_id is None:
        return typed_frame(pd.DataFrame(columns=columns), BALANCE_TYPES)
    fact, label = warehouse.fact_training_images, warehouse.dim_label
    source = warehouse.dim_training_image_source
    query = (
        select(label.c.is_unlabelled, label.c[trait.name], func.sum(fact.c.count))
        .join(label, label.c.id == fact.c.label_id)
        .join(source, source.c.id == fact.c.source_id)
        .where(
            fact.c.date_id == day_id,
            *label_conditions(warehouse, report, skip_traits=(trait.name,)),
            *([source.c.source == report.source] if report.source else []),
        )
        .group_by(label.c.is_unlabelled, label.c[trait.name])
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    counts: dict[str, int] = {}
    unlabelled = 0
    for is_unlabelled, value, images in rows:
        if is_unlabelled:
            unlabelled += int(images)
        elif value is not None:
            text = value_text(trait, value)
            counts[text] = counts.get(text, 0) + int(images)
    values = trait_values(trait, list(counts))
    total = sum(counts.values())
    selected = value_text(trait, report.value) if report.trait == trait.name else None
    records = [
        (value, counts.get(value, 0), counts.get(value, 0) / total if total else 0.0, False)
        for value in values
    ]
    records.append((UNLABELLED, unlabelled, None, True))
    frame = pd.DataFrame(records, columns=columns[:-1])
    frame["is_selected"] = frame["value"] == selected
    return typed_frame(frame, BALANCE_TYPES)


def coverage(
    engine: Engine,
    warehouse: Warehouse,
    report: ReportFilter,
    row_trait_name: str,
    column_trait_name: str,
) -> pd.DataFrame:
    """Labelled images per pair of values of two traits (every pair, zeros included).

    Columns: row, column, images. The default pair, colour × pattern, shows which phenotypes
    need more photos.
    """
    row_trait = warehouse.schema.trait(row_trait_name)
    column_trait = warehouse.schema.trait(column_trait_name)
    day_id = latest_day_id(engine, warehouse, report)
    if day_id is None:
        return typed_frame(pd.DataFrame(columns=["row", "column", "images"]), COVERAGE_TYPES)
    fact, label = warehouse.fact_training_images, warehouse.dim_label
    source = warehouse.dim_training_image_source
    query = (
        select(label.c[row_trait.name], label.c[column_trait.name], func.sum(fact.c.count))
        .join(label, label.c.id == fact.c.label_id)
        .join(source, source.c.id == fact.c.source_id)
        .where(
            fact.c.date_id == day_id,
            label.c.is_unlabelled.is_(False),
            label.c[row_trait.name].is_not(None),
            label.c[column_trait.name].is_not(None),
            *label_conditions(warehouse, report, skip_traits=(row_trait.name, column_trait.name)),
            *([source.c.source == report.source] if report.source else []),
        )
        .group_by(label.c[row_trait.name], label.c[column_trait.name])
    )
    with engine.connect() as connection:
        found = {
            (value_text(row_trait, r), value_text(column_trait, c)): int(n)
            for r, c, n in connection.execute(query).all()
        }
    rows = trait_values(row_trait, [r for r, _ in found])
    columns = trait_values(column_trait, [c for _, c in found])
    records = [(r, c, found.get((r, c), 0)) for r, c in product(rows, columns)]
    return typed_frame(pd.DataFrame(records, columns=["row", "column", "images"]), COVERAGE_TYPES)


def model_metrics(engine: Engine, warehouse: Warehouse, report: ReportFilter) -> pd.DataFrame:
    """Each model's validation accuracy and loss (min, mean and max over the traits).

    Models trained (ended) within the dates, as the last snapshot day in range recorded them.
    Columns: model_id, trained (date), is_active, measure ("accuracy"/"loss"), min, avg, max.
    """
    columns = ["model_id", "trained", "is_active", "measure", "min", "avg", "max"]
    day_id = latest_day_id(engine, warehouse, report)
    if day_id is None:
        return typed_frame(pd.DataFrame(columns=columns), MODEL_TYPES)
    fact = warehouse.fact_models
    ended = warehouse.dim_date.alias("ended")
    query = (
        select(
            fact.c.model_id,
            ended.c.date,
            fact.c.is_active,
            *(
                fact.c[f"{stat}_{measure}"]
                for measure in ("accuracy", "loss")
                for stat in ("min", "avg", "max")
            ),
        )
        .join(ended, ended.c.id == fact.c.training_ended_date_id)
        .where(fact.c.date_id == day_id, *date_range(fact.c.training_ended_date_id, report))
        .order_by(ended.c.date, fact.c.model_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    records = []
    for model_id, trained, is_active, *values in rows:
        records.append((model_id, trained, bool(is_active), "accuracy", *values[:3]))
        records.append((model_id, trained, bool(is_active), "loss", *values[3:]))
    return typed_frame(pd.DataFrame(records, columns=columns), MODEL_TYPES)


def snapshot_days(engine: Engine, warehouse: Warehouse, report: ReportFilter) -> pd.DataFrame:
    """The snapshots taken in the date range. Columns: date, taken_at, is_backfill, counts."""
    snapshots, dates = warehouse.snapshots, warehouse.dim_date
    query = (
        select(
            dates.c.date,
            snapshots.c.taken_at,
            snapshots.c.is_backfill,
            snapshots.c.training_images,
            snapshots.c.predictions,
            snapshots.c.models,
            snapshots.c.duration_ms,
        )
        .join(dates, dates.c.id == snapshots.c.date_id)
        .where(and_(True, *date_range(snapshots.c.date_id, report)))
        .order_by(dates.c.date.desc())
    )
    columns = [
        "date",
        "taken_at",
        "is_backfill",
        "training_images",
        "predictions",
        "models",
        "duration_ms",
    ]
    frame = query_frame(engine, query, columns)
    types = {"date": "datetime", "taken_at": "datetime", "is_backfill": "bool"}
    return typed_frame(frame, types)


def sources(engine: Engine, warehouse: Warehouse) -> list[str]:
    """The training-image sources the warehouse has seen, for the source filter."""
    table = warehouse.dim_training_image_source
    with engine.connect() as connection:
        return list(connection.execute(select(table.c.source).order_by(table.c.source)).scalars())


def values_of(engine: Engine, warehouse: Warehouse, trait_name: str) -> list[str]:
    """The values a trait can take, with those the warehouse has seen (dog breeds come from
    the data), as the charts write them."""
    trait = warehouse.schema.trait(trait_name)
    column = warehouse.dim_label.c[trait.name]
    with engine.connect() as connection:
        seen = connection.execute(select(column).where(column.is_not(None)).distinct()).scalars()
        return trait_values(trait, [value_text(trait, value) for value in seen])
